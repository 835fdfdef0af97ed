"""Running scenarios: the settings check, customer and panel, the scenario's actions, and a blank ticket."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr, ValidationError

from megadesk_core.contract.actions import run_action_step
from megadesk_core.contract.calls import ScenarioRun, StopScenario
from megadesk_core.contract.inputs import ContractScenario
from megadesk_core.errors import IntegrationError, RateLimitedError, UpstreamUnavailableError
from megadesk_core.types import SettingsCheck, TicketContext


def _secrets(settings: BaseModel) -> list[str]:
    values = (getattr(settings, name) for name in type(settings).model_fields)
    return [v.get_secret_value() for v in values if isinstance(v, SecretStr) and len(v.get_secret_value()) >= 4]


async def _settings_for(run: ScenarioRun, scenario: ContractScenario) -> BaseModel:
    model = run.integration.manifest.settings_model
    try:
        return model.model_validate(dict(scenario.settings))
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) or "(settings)" for e in exc.errors())
        run.found.error(
            "scenario-settings",
            scenario.label,
            f"the scenario's settings are invalid for {model.__name__} (fields: {fields}); fix the scenario.",
        )
        raise StopScenario from exc


async def _check_settings(run: ScenarioRun, scenario: ContractScenario, settings: BaseModel) -> SettingsCheck | None:
    where = f"{scenario.label}: check_settings"
    try:
        result = await run.call("check_settings", where, settings=settings, options=run.integration.options)
    except (RateLimitedError, UpstreamUnavailableError) as exc:
        if scenario.expect_error is not None and isinstance(exc, scenario.expect_error):
            raise
        # The host refuses to save settings it cannot check now (503); the scenario goes on
        # unchecked so the other hooks are still looked at, and says so.
        run.found.warn(
            "settings-unchecked",
            where,
            f"could not check the settings ({exc.message}); the host would refuse to save them (503). Point the "
            "scenario at a service that answers.",
        )
        return None
    if result is None or isinstance(result, SettingsCheck):
        return result
    run.found.error("settings-check-type", where, f"returned {type(result).__name__}; return a SettingsCheck or None.")
    return None


async def run_scenario(run: ScenarioRun, scenario: ContractScenario) -> None:
    label = scenario.label
    settings = await _settings_for(run, scenario)
    secrets = _secrets(settings)
    expected = scenario.expect_error.__name__ if scenario.expect_error else "a panel"
    check: SettingsCheck | None = None
    try:
        if scenario.check_settings and "check_settings" in run.impls:
            check = await _check_settings(run, scenario, settings)
        context = run.context(settings, check)
        customer, panel = await run.render(context, scenario.ticket, label, secrets)
    except IntegrationError as exc:
        run.check_error(exc, f"{label}: {run.current_hook}", secrets)
        if scenario.expect_error is None or not isinstance(exc, scenario.expect_error):
            run.unexpected(exc, f"{label}: {run.current_hook}", expected)
        return
    except StopScenario:
        return
    except Exception as exc:
        run.unexpected(exc, f"{label}: {run.current_hook}", expected)
        return
    if scenario.expect_error is not None:
        run.found.error("expected-error", label, f"rendered a panel; the scenario expected {expected}.")
        return
    if scenario.expect_customer is not None and (customer is not None) != scenario.expect_customer:
        found_text = f"found customer {customer.id!r}" if customer else "found no customer"
        run.found.error(
            "expected-customer", label, f"resolve_customer {found_text}; the scenario expected the opposite."
        )
    if panel is None or not scenario.actions:
        return
    if customer is None:
        run.found.error("scenario-action", label, "the scenario runs actions but no customer was resolved.")
        return
    for step in scenario.actions:
        await run_action_step(run, scenario, context, customer, step, secrets)
    try:
        await run.render(context, scenario.ticket, f"{label} (after its actions)", secrets)
    except IntegrationError as exc:
        run.unexpected(exc, f"{label} (after its actions)", "a panel")
    except StopScenario:
        pass
    except Exception as exc:
        run.unexpected(exc, f"{label} (after its actions)", "a panel")


async def blank_ticket(run: ScenarioRun, scenario: ContractScenario) -> None:
    """A ticket with neither email nor Custom Data must still get a panel (an empty one)."""
    where = "blank ticket"
    context = run.context(run.integration.manifest.settings_model.model_validate(dict(scenario.settings)))
    try:
        await run.render(context, TicketContext(ticket_id="megadesk-contract-blank"), where, [])
    except IntegrationError as exc:
        run.found.warn(
            "blank-ticket",
            where,
            f"a ticket with no email and no Custom Data raised {type(exc).__name__}: {exc.message!r}; show "
            "an empty panel (status='empty') instead.",
        )
    except StopScenario:
        pass
    except Exception as exc:
        run.unexpected(exc, where, "an empty panel")
