"""The contract check: it passes for the plugins we ship and names every way a plugin breaks it."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from megadesk_core import hookimpl
from megadesk_core.contract import (
    ContractAction,
    ContractScenario,
    ContractViolation,
    check_plugin,
    run_contract,
)
from megadesk_core.errors import ActionRefusedError, NotFoundError, UpstreamUnavailableError, WebhookRejectedError
from megadesk_core.plugins import load_integrations
from megadesk_core.types import (
    ActionButton,
    ActionPayload,
    ActionResult,
    ActionsBlock,
    ActionSpec,
    IntegrationManifest,
    KeyValueBlock,
    KeyValueItem,
    Panel,
    ResolvedCustomer,
    TicketContext,
    WebhookResult,
)

SAMPLE_SETTINGS = {"api_token": "sample-secret-token-123"}


def sample_scenarios() -> list[ContractScenario]:
    return [
        ContractScenario(
            name="email match",
            settings=SAMPLE_SETTINGS,
            ticket=TicketContext(ticket_id="T-1", requester_email="ada@example.com"),
            expect_customer=True,
            actions=[
                ContractAction("add_note", {"target": "ada@example.com", "text": "hi", "identity_confirmed": True})
            ],
        ),
        ContractScenario(
            name="named contact",
            settings={**SAMPLE_SETTINGS, "greeting": "Hi"},
            ticket=TicketContext(ticket_id="T-2", custom_data={"contactId": "c-1"}),
            actions=[ContractAction("add_note", {"target": "c-1", "text": "hi"})],
        ),
    ]


# --- Our plugins pass -------------------------------------------------------------------


async def test_the_sample_plugin_passes_through_its_entry_point():
    report = await run_contract("sample", scenarios=sample_scenarios())
    assert report.integration == "sample"
    assert report.scenarios_run == 2
    assert report.problems == []


async def test_the_sample_plugin_passes_through_the_fixture(megadesk_contract):
    report = await megadesk_contract("sample", scenarios=sample_scenarios())
    assert report.ok and report.problems == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_the_lookup_plugin_passes_through_its_entry_point():
    # Its full scenarios run against a fake customer API in plugins/lookup/tests; these need none.
    settings = {"base_url": f"http://127.0.0.1:{_closed_port()}/api", "api_key": "k-123456"}
    report = await run_contract(
        "lookup",
        scenarios=[
            ContractScenario(
                name="nothing to look up",
                settings=settings,
                ticket=TicketContext(ticket_id="T-1"),
                expect_customer=False,
                check_settings=False,  # the API is down: the host would refuse to save them (503)
            ),
            ContractScenario(
                name="API down",
                settings=settings,
                ticket=TicketContext(ticket_id="T-2", requester_email="ada@example.com"),
                expect_error=UpstreamUnavailableError,
            ),
        ],
        options={"allow_private_hosts": True},  # the fake API is on localhost
    )
    assert report.problems == []


async def test_without_scenarios_only_the_declarations_are_checked():
    report = await run_contract("lookup")
    assert report.scenarios_run == 0 and report.problems == []


# --- Plugins that break it ---------------------------------------------------------------


class Nested(BaseModel):
    password: SecretStr


class LooseSettings(BaseModel):
    api_key: str = Field(min_length=1)
    webhook_token: SecretStr = SecretStr("whsec_default")
    inner: Nested | None = None
    public_key: str = ""
    region: str = "eu"


class NotAPayload(BaseModel):
    text: str


class Note(ActionPayload):
    text: str


class DeclaresBadly:
    @hookimpl
    def manifest(self) -> IntegrationManifest:
        return IntegrationManifest(name="bad", title="Bad", settings_model=LooseSettings)

    @hookimpl
    def actions(self) -> list[ActionSpec]:
        return [
            ActionSpec(name="note", title="Note", payload_model=NotAPayload, confirmation="Sure?"),  # type: ignore[arg-type]
            ActionSpec(name="tag", title="Tag", payload_model=Note, confirmation="Sure?", feature="tags"),
            ActionSpec(name="tag", title="Tag", payload_model=Note, confirmation=""),
        ]

    @hookimpl
    def run_action(self) -> None:
        pass

    @hookimpl
    def sidebar_pannel(self) -> None:
        pass


async def test_every_declaration_problem_is_listed_with_what_to_do():
    with pytest.raises(ContractViolation) as info:
        await run_contract(DeclaresBadly(), scenarios=[])
    report = info.value.report
    problems = {(p.code, p.where): p for p in report.problems}
    assert set(problems) == {
        ("unknown-hook", "hook sidebar_pannel"),
        ("missing-hook", "hook sidebar_panel"),
        ("secret-not-secretstr", "settings.api_key"),
        ("secret-default", "settings.webhook_token"),
        ("nested-secret", "settings.inner"),
        ("settings-extra", "settings"),
        ("payload-model", "actions.note"),
        ("action-feature", "actions.tag"),
        ("action-duplicate", "actions.tag"),
        ("action-text", "actions.tag"),
    }
    assert "Did you mean 'sidebar_panel'?" in problems["unknown-hook", "hook sidebar_pannel"].message
    assert "type it SecretStr" in problems["secret-not-secretstr", "settings.api_key"].message
    assert "must subclass megadesk_core.types.ActionPayload" in problems["payload-model", "actions.note"].message
    assert problems["settings-extra", "settings"].severity == "warning"
    # public_key and region are not secrets; the message lists every error, one per line
    message = str(info.value)
    assert message.startswith("integration 'bad' breaks the Megadesk plugin contract (9 errors, 1 warning")
    assert "  error [secret-default] settings.webhook_token: a secret field has a default value" in message


async def test_a_plugin_for_another_hook_api_or_with_an_async_manifest_is_refused():
    class Future:
        @hookimpl
        async def manifest(self) -> IntegrationManifest:
            return IntegrationManifest(name="future", title="Future", settings_model=NoSettings, hook_api_version=2)

        @hookimpl
        def sidebar_panel(self) -> Panel:
            return Panel(title="Future")

    report = await check_plugin(Future())
    assert [(p.code, p.message) for p in report.errors] == [
        ("async-hook", "manifest is called once at start-up and may not be async; make it a plain function.")
    ]

    class Versioned:
        @hookimpl
        def manifest(self) -> IntegrationManifest:
            return IntegrationManifest(name="future", title="Future", settings_model=NoSettings, hook_api_version=2)

        @hookimpl
        def sidebar_panel(self) -> Panel:
            return Panel(title="Future")

    report = await check_plugin(Versioned())
    (error,) = report.errors
    assert error.code == "hook-api-version"
    assert "built for hook API version 2, newer than this host's (version 1)" in error.message


class NoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_key: SecretStr


BAD_PANELS: dict[str, Any] = {
    "unknown block": {"title": "Misbehaving", "blocks": [{"type": "chart", "points": [1, 2]}]},
    "bad link": {
        "title": "Misbehaving",
        "blocks": [{"type": "links", "links": [{"label": "x", "href": "javascript:1"}]}],
    },
}


class Misbehaving:
    """Declares well and misbehaves at run time, as each ticket's subject asks."""

    @hookimpl
    def manifest(self) -> IntegrationManifest:
        return IntegrationManifest(name="misbehaving", title="Misbehaving", settings_model=OkSettings)

    @hookimpl
    def actions(self) -> list[ActionSpec]:
        return [ActionSpec(name="note", title="Note", payload_model=Note, confirmation="Add it?")]

    @hookimpl
    def resolve_customer(self, context: Any, ticket: TicketContext) -> ResolvedCustomer | None:
        mode = ticket.subject
        if mode == "crash":
            raise RuntimeError("KeyError somewhere deep")
        if mode == "leak":
            raise NotFoundError(f"no customer for key {context.settings.api_key.get_secret_value()}")
        if ticket.requester_email:
            return ResolvedCustomer(id="c-1", verified=mode == "claims-verified", matched_by="email")
        return None

    @hookimpl
    def sidebar_panel(self, ticket: TicketContext, customer: ResolvedCustomer | None) -> Panel | dict[str, Any]:
        mode = str(ticket.subject)
        if mode in BAD_PANELS:
            return BAD_PANELS[mode]
        buttons = [ActionButton(action="refund" if mode == "ghost-button" else "note", label="Go", target="c-1")]
        return Panel(
            title="Misbehaving",
            verified=True if mode == "verified-panel" else (customer.verified if customer else None),
            blocks=[KeyValueBlock(items=[KeyValueItem(label="Id", value="c-1")]), ActionsBlock(buttons=buttons)],
        )

    @hookimpl
    def run_action(self, payload: Note) -> ActionResult:
        return ActionResult(message="done", target=payload.target)  # never checks the target


def scenario(mode: str | None, *, email: str | None = "ada@example.com", **kwargs: Any) -> ContractScenario:
    return ContractScenario(
        name=str(mode),
        settings={"api_key": "the-secret-key-42"},
        ticket=TicketContext(ticket_id="T-1", requester_email=email, subject=mode),
        **kwargs,
    )


@pytest.mark.parametrize(
    ("case", "code", "fragment"),
    [
        (scenario("unknown block"), "unknown-block", "block type 'chart' is not in panel schema version 1"),
        (scenario("bad link"), "panel-schema", "blocks/0/links/0/href: Value error, links must be http(s) or mailto"),
        (scenario("ghost-button"), "unknown-action-button", "a button runs action 'refund', which the actions hook"),
        (scenario("verified-panel"), "panel-claims-verified", "use verified=customer.verified"),
        (scenario("claims-verified"), "verified-without-custom-data", "an email match is verified=False"),
        (scenario("crash"), "bare-exception", "raised RuntimeError: KeyError somewhere deep at "),
        (scenario("leak", expect_error=NotFoundError), "secret-in-message", "the NotFoundError message contains"),
        (scenario(None, expect_error=NotFoundError), "expected-error", "the scenario expected NotFoundError"),
        (scenario(None, expect_customer=False), "expected-customer", "found customer 'c-1'"),
        (
            scenario(
                None, actions=[ContractAction("note", {"target": "c-1", "text": "x", "identity_confirmed": True})]
            ),
            "foreign-target-accepted",
            "raise ActionRefusedError if not",
        ),
        (
            scenario(None, actions=[ContractAction("note", {"target": "c-1"})]),
            "scenario-payload",
            "the payload is invalid (text)",
        ),
        (
            scenario(None, actions=[ContractAction("note", {"target": "c-1", "text": "x"})]),
            "scenario-identity",
            "unless identity_confirmed is true",
        ),
        (
            scenario(
                None,
                actions=[
                    ContractAction(
                        "note",
                        {"target": "c-1", "text": "x", "identity_confirmed": True},
                        expect_error=ActionRefusedError,
                    )
                ],
            ),
            "expected-error",
            "succeeded; the scenario expected ActionRefusedError",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_run_time_problems_are_found_by_scenarios(case, code, fragment):
    report = await check_plugin(Misbehaving(), scenarios=[case])
    matching = [p for p in report.errors if p.code == code]
    assert matching, report.format()
    assert any(fragment in p.message for p in matching), report.format()
    assert not report.ok
    assert "the-secret-key-42" not in report.format()


async def test_a_well_behaved_scenario_of_the_same_plugin_passes():
    report = await check_plugin(Misbehaving(), scenarios=[scenario(None), scenario(None, email=None)])
    assert report.problems == []


async def test_a_hook_that_misses_its_deadline_is_named():
    class Slow(Misbehaving):
        @hookimpl
        async def sidebar_panel(self) -> Panel:
            await asyncio.sleep(5)
            return Panel(title="Slow")

    report = await check_plugin(Slow(), scenarios=[scenario(None)], timeout=0.2)
    assert [(p.code, p.where, p.message) for p in report.errors] == [
        ("timeout", "scenario 'None': sidebar_panel", "sidebar_panel did not answer within 0.2s."),
        ("timeout", "blank ticket: sidebar_panel", "sidebar_panel did not answer within 0.2s."),
    ]


async def test_invalid_scenario_settings_are_the_scenarios_fault():
    report = await check_plugin(
        Misbehaving(), scenarios=[ContractScenario(settings={"api_kee": "x"}, ticket=TicketContext(ticket_id="T-9"))]
    )
    (error,) = report.errors
    assert error.code == "scenario-settings" and error.where == "scenario 'T-9'"
    assert "(fields: api_key, api_kee); fix the scenario" in error.message


async def test_problems_can_be_ignored_by_code():
    report = await check_plugin(Misbehaving(), scenarios=[scenario("verified-panel")], ignore={"panel-claims-verified"})
    assert report.ok and [p.code for p in report.ignored] == ["panel-claims-verified"]


async def test_a_registry_and_a_missing_entry_point():
    registry = load_integrations(extra_plugins=[Misbehaving()], load_entry_points=False)
    assert (await check_plugin(registry, scenarios=[scenario(None)])).problems == []
    missing = await check_plugin("megadesk-no-such-plugin")
    assert [p.code for p in missing.errors] == ["not-installed"]
    assert "pip install it" in missing.errors[0].message


async def test_a_webhook_that_accepts_an_unsigned_delivery_is_an_error():
    class Trusting(Misbehaving):
        @hookimpl
        def webhook(self, body: bytes) -> WebhookResult:
            return WebhookResult(event_id="evt", changed=["x"])

    class Careful(Misbehaving):
        @hookimpl
        def webhook(self, headers: dict[str, str]) -> WebhookResult:
            if "x-signature" not in headers:
                raise WebhookRejectedError("No signature.")
            return WebhookResult(event_id="evt")

    report = await check_plugin(Trusting(), scenarios=[scenario(None)])
    assert [(p.code, p.where) for p in report.errors] == [("webhook-unsigned", "webhook without a signature")]
    assert (await check_plugin(Careful(), scenarios=[scenario(None)])).problems == []
