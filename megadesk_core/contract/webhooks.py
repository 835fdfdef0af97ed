"""The webhook hook, if implemented, must refuse a delivery it cannot verify."""

from __future__ import annotations

from megadesk_core.contract.calls import ScenarioRun, StopScenario
from megadesk_core.contract.findings import describe
from megadesk_core.contract.inputs import ContractScenario
from megadesk_core.errors import WebhookRejectedError

UNSIGNED_BODY = b'{"id": "evt_megadesk_contract", "type": "megadesk.contract", "data": {"object": {"id": "x"}}}'


async def unsigned_webhook(run: ScenarioRun, scenario: ContractScenario) -> None:
    """An unsigned delivery (anyone can post to the URL once it leaks) must raise
    :class:`~megadesk_core.errors.WebhookRejectedError`, before the plugin reads it."""
    if "webhook" not in run.impls:
        return
    where = "webhook without a signature"
    context = run.context(run.integration.manifest.settings_model.model_validate(dict(scenario.settings)))
    try:
        result = await run.call("webhook", where, context=context, body=UNSIGNED_BODY, headers={})
    except WebhookRejectedError:
        return
    except StopScenario:
        return
    except Exception as exc:
        run.found.error("webhook-unsigned", where, f"raised {describe(exc)}; raise WebhookRejectedError instead.")
        return
    run.found.error(
        "webhook-unsigned",
        where,
        f"an unsigned delivery was accepted (returned {result!r}); verify the signature with the tenant's "
        "signing secret first and raise WebhookRejectedError when it does not match.",
    )
