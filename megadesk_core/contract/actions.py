"""Running a scenario's actions: the payload the host would accept, a foreign-target probe, and the result."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pydantic import ValidationError

from megadesk_core.contract.calls import ScenarioRun, StopScenario
from megadesk_core.contract.findings import leaks
from megadesk_core.contract.inputs import ContractAction, ContractScenario
from megadesk_core.errors import IntegrationError
from megadesk_core.types import ActingPrincipal, ActionPayload, ActionResult, IntegrationContext, ResolvedCustomer

FOREIGN_TARGET = "megadesk-contract-foreign-target"
"""The ``target`` the contract sends to check that an action refuses someone else's object."""


CONTRACT_PRINCIPAL = ActingPrincipal(name="contract check", role="agent")
"""Who the contract check acts as: an agent, the role with the least rights."""


async def run_action_step(
    run: ScenarioRun,
    scenario: ContractScenario,
    context: IntegrationContext,
    customer: ResolvedCustomer,
    step: ContractAction,
    secrets: Sequence[str],
) -> None:
    where = f"{scenario.label}: action {step.name}"
    spec = run.specs.get(step.name)
    if spec is None:
        run.found.error("scenario-action", where, f"the plugin declares no action {step.name!r}; fix the scenario.")
        return
    try:
        payload = spec.payload_model.model_validate(dict(step.payload))
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        run.found.error("scenario-payload", where, f"the payload is invalid ({fields}); the host would answer 422.")
        return
    if spec.requires_verified_customer and not customer.verified and not payload.identity_confirmed:
        run.found.error(
            "scenario-identity",
            where,
            "the host refuses this action for an unverified customer unless identity_confirmed is true; "
            "set it in the scenario's payload or use a ticket that names the customer.",
        )
        return

    async def attempt(sent: ActionPayload) -> object:
        return await run.run_action(
            spec,
            where,
            context=context,
            ticket=scenario.ticket,
            customer=customer,
            payload=sent,
            idempotency_key=f"contract:{uuid.uuid4().hex}",
            principal=CONTRACT_PRINCIPAL,
            earlier_attempt_unknown=False,
        )

    if step.check_foreign_target and payload.target != FOREIGN_TARGET:
        foreign = payload.model_copy(update={"target": FOREIGN_TARGET})
        try:
            await attempt(foreign)
            run.found.error(
                "foreign-target-accepted",
                where,
                f"run_action succeeded for target {FOREIGN_TARGET!r}, which is not this ticket's customer's; "
                "check that payload.target belongs to the customer and raise ActionRefusedError if not.",
            )
        except IntegrationError as exc:
            run.check_error(exc, where, secrets)
        except StopScenario:
            return
        except Exception as exc:
            run.unexpected(exc, f"{where} (foreign target)", "an IntegrationError refusing the target")
    try:
        result = await attempt(payload)
    except IntegrationError as exc:
        run.check_error(exc, where, secrets)
        if step.expect_error is None or not isinstance(exc, step.expect_error):
            run.unexpected(exc, where, step.expect_error.__name__ if step.expect_error else "an ActionResult")
        return
    except StopScenario:
        return
    except Exception as exc:
        run.unexpected(exc, where, "an ActionResult")
        return
    if step.expect_error is not None:
        run.found.error("expected-error", where, f"succeeded; the scenario expected {step.expect_error.__name__}.")
    try:
        checked = result if isinstance(result, ActionResult) else ActionResult.model_validate(result)
    except ValidationError:
        run.found.error("action-result-type", where, f"returned {type(result).__name__}; return an ActionResult.")
        return
    if checked.target != payload.target:
        run.found.warn(
            "action-result-target",
            where,
            f"the result's target {checked.target!r} is not the payload's {payload.target!r}.",
        )
    if leaks(checked.model_dump_json(), secrets):
        run.found.error("secret-in-result", where, "the action's result contains a secret from the settings.")
