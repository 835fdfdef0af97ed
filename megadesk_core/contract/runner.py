"""The entry points: check_plugin (report every problem) and run_contract (raise if there is an error)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from megadesk_core.contract.calls import ScenarioRun, StopScenario
from megadesk_core.contract.declarations import check_declarations, hook_implementations
from megadesk_core.contract.findings import ContractReport, Findings, source_location
from megadesk_core.contract.inputs import ContractScenario
from megadesk_core.contract.loading import load_target
from megadesk_core.contract.scenarios import blank_ticket, run_scenario
from megadesk_core.contract.webhooks import unsigned_webhook
from megadesk_core.plugins import IntegrationRegistry


async def check_plugin(
    target: IntegrationRegistry | str | object,
    integration: str | None = None,
    *,
    scenarios: Sequence[ContractScenario] = (),
    options: Mapping[str, Any] | None = None,
    ignore: Iterable[str] = (),
    timeout: float = 10.0,
) -> ContractReport:
    """Check one integration against the host's expectations; return every problem found.

    ``target`` is an :class:`~megadesk_core.plugins.IntegrationRegistry` (then ``integration``
    names the integration, unless the registry holds only one), the name of an installed
    entry point in the ``megadesk.integrations`` group, or a plugin object (a module or an
    instance with ``@hookimpl`` methods). ``options`` are the plugin's process options, for a
    plugin object or entry point (a registry already has them). ``ignore`` drops problems by
    code. ``timeout`` is the deadline for each hook call.

    Without scenarios only the declarations are checked (manifest, settings model, actions);
    each scenario also runs the hooks the way the host does and checks what they return.
    """
    found = Findings()
    plugin, registry, label = load_target(target, integration, options, found)
    report = ContractReport(integration=label)
    if plugin is not None and registry is not None:
        loaded = registry.get(label)
        assert loaded is not None
        scratch = Findings()
        pm = registry.plugin_manager
        found_impls = hook_implementations(pm, plugin, scratch)
        impls = frozenset(found_impls)
        locations = {name: source_location(impl.function) for name, impl in found_impls.items()}
        if isinstance(target, IntegrationRegistry):
            # A registry's plugin was already accepted by the host; check the declarations in full.
            check_declarations(pm, plugin, found)
        if not found.has_errors:
            run = ScenarioRun(registry, loaded, loaded.actions, impls, timeout, found, locations=locations)
            for scenario in scenarios:
                with contextlib.suppress(StopScenario):
                    await run_scenario(run, scenario)
                report.scenarios_run += 1
            usable = next((s for s in scenarios if s.expect_error is None), None)
            if usable is not None:
                with contextlib.suppress(ValidationError):  # already reported as the scenario's problem
                    await blank_ticket(run, usable)
                    await unsigned_webhook(run, usable)
    skip = set(ignore)
    report.problems = [p for p in found.problems if p.code not in skip]
    report.ignored = [p for p in found.problems if p.code in skip]
    return report


async def run_contract(
    target: IntegrationRegistry | str | object,
    integration: str | None = None,
    *,
    scenarios: Sequence[ContractScenario] = (),
    options: Mapping[str, Any] | None = None,
    ignore: Iterable[str] = (),
    timeout: float = 10.0,
) -> ContractReport:
    """Like :func:`check_plugin`, but raise :class:`ContractViolation` if there is any error.

    Returns the report (warnings included) when there is none.
    """
    report = await check_plugin(
        target, integration, scenarios=scenarios, options=options, ignore=ignore, timeout=timeout
    )
    return report.raise_for_errors()
