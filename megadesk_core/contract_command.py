"""``megadesk contract NAME``: the contract check on an installed plugin, from the shell.

Prints every problem with its code and the plugin's own ``file:line``; exits 1 when there is an
error (warnings alone exit 0), so CI can run it next to the plugin's tests.
"""

from __future__ import annotations

import json
from typing import Any

import click

from megadesk_core.settings import Settings


@click.command("contract")
@click.argument("name")
@click.option(
    "--settings-file",
    type=click.File("r"),
    default=None,
    help="JSON settings for one scenario that runs the hooks ('-' reads standard input); without it only the "
    "declarations are checked. Point them at a test account: the hooks really run.",
)
@click.option("--email", default="ada@example.com", show_default=True, help="The scenario ticket's requester email.")
@click.option("--custom-data", default=None, help="The scenario ticket's Custom Data block for NAME, as JSON.")
@click.option("--timeout", type=click.FloatRange(0.1, 300), default=10.0, show_default=True, help="Seconds per hook.")
@click.option("--ignore", multiple=True, metavar="CODE", help="Leave out problems with this code (repeatable).")
def contract(
    name: str, settings_file: Any, email: str, custom_data: str | None, timeout: float, ignore: tuple[str, ...]
) -> None:
    """Check the installed plugin NAME (its entry-point name) against the Megadesk plugin contract.

    Process options come from MEGADESK_PLUGIN_OPTIONS, as in 'megadesk serve'.
    """
    import asyncio

    from megadesk_core.contract import ContractScenario, check_plugin
    from megadesk_core.types import TicketContext

    scenarios = []
    if settings_file is not None:
        try:
            submitted = json.load(settings_file)
            block = json.loads(custom_data) if custom_data else {}
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not JSON: {exc}") from exc
        ticket = TicketContext(ticket_id="T-contract", requester_email=email, custom_data=block)
        scenarios.append(ContractScenario(settings=submitted, ticket=ticket, name="from the command line"))
    options = click.get_current_context().ensure_object(Settings).plugin_options.get(name)
    try:
        report = asyncio.run(check_plugin(name, scenarios=scenarios, options=options, ignore=ignore, timeout=timeout))
    except RuntimeError as exc:  # e.g. jsonschema missing for the panel checks
        raise click.ClickException(str(exc)) from exc
    click.echo(report.format())
    if not report.ok:
        raise SystemExit(1)
