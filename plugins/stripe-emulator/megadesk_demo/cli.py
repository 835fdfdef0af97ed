"""``megadesk-demo``: one command from nothing to a working sidebar.

Starts the Stripe emulator seeded with demo customers, builds a fresh SQLite database with a
demo tenant that has Stripe enabled (a restricted emulator key, stored encrypted), creates a
ticket per situation, prints the preview page's address with an agent token, and serves the
app until Ctrl-C. Running it again starts from fresh data.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click


@click.command()
@click.option("--port", type=int, default=8000, show_default=True, help="The app's port.")
@click.option("--emulator-port", type=int, default=12111, show_default=True, help="The Stripe emulator's port.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path(".megadesk/demo"),
    show_default=True,
    help="Where the demo's SQLite file and key live (emptied on every run).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
def main(port: int, emulator_port: int, data_dir: Path, host: str) -> None:
    """Run the demo: the app, the seeded Stripe emulator and a demo tenant."""
    import uvicorn
    from stripe_emulator.server import run_emulator

    from megadesk_core.app import create_app
    from megadesk_demo.setup import build_demo, demo_settings, reset_data_dir

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    reset_data_dir(data_dir)
    with run_emulator(seed=True, port=emulator_port) as emulator:
        settings = demo_settings(data_dir, emulator.base_url, port=port).model_copy(update={"host": host})
        demo = asyncio.run(build_demo(settings, emulator, webhooks=True))
        app = create_app(settings)
        base = f"http://{host}:{port}"
        click.echo(
            "\n".join(
                [
                    "",
                    "Megadesk Integrations demo is up.",
                    f"  Sidebar preview:  {base}/preview#token={demo.agent_token}",
                    f"  Agent token:      {demo.agent_token}",
                    f"  Admin token:      {demo.admin_token}",
                    f"  API (OpenAPI):    {base}/schema",
                    f"  Stripe emulator:  {emulator.base_url}  (key {emulator.secret_key})",
                    f"  Tickets:          {', '.join(t.id for t in demo.tickets)}",
                    "Stop with Ctrl-C. Running the demo again starts from fresh data.",
                    "",
                ]
            )
        )
        uvicorn.run(app, host=host, port=port, log_level="warning")
