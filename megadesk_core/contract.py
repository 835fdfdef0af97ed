"""The plugin contract: what the host expects of an integration, checked in one go.

The host refuses a broken plugin at start-up only for what it must (a bad manifest, a
misspelled hook); the rest (a panel it cannot draw, a secret kept in clear, a bare exception
that becomes an opaque error panel) would otherwise show up at request time, in front of an
agent. :func:`run_contract` puts the plugin through the host's expectations and lists every
problem, each with a stable ``code``, where it is, and what to do::

    from megadesk_core.contract import ContractAction, ContractScenario, run_contract
    from megadesk_core.errors import NotFoundError
    from megadesk_core.types import TicketContext

    await run_contract(
        registry,  # or a plugin module, or an installed entry point's name
        "acme",
        scenarios=[
            ContractScenario(
                name="by email",
                settings={"api_key": "k-123456"},
                ticket=TicketContext(ticket_id="T-1", requester_email="ada@example.com"),
                actions=[ContractAction("add_note", {"target": "c-1", "text": "hi", "identity_confirmed": True})],
            ),
            ContractScenario(
                name="unknown id",
                settings={"api_key": "k-123456"},
                ticket=TicketContext(ticket_id="T-2", custom_data={"contactId": "nope"}),
                expect_error=NotFoundError,
            ),
        ],
    )

It raises :class:`ContractViolation` (an ``AssertionError``, so pytest reports a failure)
listing every error; :func:`check_plugin` returns the :class:`ContractReport` instead. In
tests, the ``megadesk_contract`` fixture of :mod:`megadesk_core.testing` does the same for the
plugin under test. Scenarios run the hooks directly, the way the host calls them (one plugin,
under a deadline): point their settings at a fake or a test account, never at production.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import json
import re
import traceback
import types
import typing
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal

import anyio
import pluggy
from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError
from pydantic_core import PydanticUndefined

from megadesk_core import hookspecs
from megadesk_core.errors import IntegrationError, RateLimitedError, UpstreamUnavailableError
from megadesk_core.markers import ENTRY_POINT_GROUP, PROJECT_NAME
from megadesk_core.panel import PANEL_SCHEMA_VERSION, ActionButton, ActionsBlock, Block, Panel, TableBlock
from megadesk_core.plugins import IntegrationRegistry, LoadedIntegration, PluginConfigurationError, load_integrations
from megadesk_core.types import (
    HOOK_API_VERSION,
    NAME_PATTERN,
    ActionPayload,
    ActionResult,
    ActionSpec,
    IntegrationContext,
    IntegrationManifest,
    ResolvedCustomer,
    SettingsCheck,
    TicketContext,
)

__all__ = [
    "REQUIRED_HOOKS",
    "SYNC_ONLY_HOOKS",
    "ContractAction",
    "ContractReport",
    "ContractScenario",
    "ContractViolation",
    "Problem",
    "check_plugin",
    "run_contract",
]

REQUIRED_HOOKS = ("manifest", "sidebar_panel")
"""Hooks every integration implements; the others are optional."""
SYNC_ONLY_HOOKS = ("manifest", "actions")
"""Hooks the host calls once at start-up, outside any event loop: they may not be ``async``."""
FOREIGN_TARGET = "megadesk-contract-foreign-target"
"""The ``target`` the contract sends to check that an action refuses someone else's object."""

_SECRET_NAME = re.compile(
    r"(?:^|_)(?:api_?key|key|token|secret|password|passwd|passphrase|credentials?)$|secret|password", re.IGNORECASE
)
_PUBLIC_NAME = re.compile(r"^(?:public|publishable)_", re.IGNORECASE)
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")

Severity = Literal["error", "warning"]


def _count(items: Sequence[object], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


@dataclass(frozen=True)
class Problem:
    """One way the plugin breaks (``error``) or strains (``warning``) the contract."""

    code: str
    where: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.severity} [{self.code}] {self.where}: {self.message}"


@dataclass(frozen=True)
class ContractAction:
    """An action to run in a scenario, with the payload an agent would send."""

    name: str
    payload: Mapping[str, Any]
    expect_error: type[IntegrationError] | None = None
    """The action must fail with this error type (or a subclass) instead of succeeding."""
    check_foreign_target: bool = True
    """Also send the payload with a ``target`` that is not the customer's: it must be refused."""


@dataclass(frozen=True)
class ContractScenario:
    """A situation to put the plugin in: a tenant's settings and a ticket, and what should happen.

    ``ticket.custom_data`` is this integration's own Custom Data block, as the host hands it to
    the plugin. ``settings`` are what an admin would submit (secrets in clear).
    """

    settings: Mapping[str, Any]
    ticket: TicketContext
    name: str = ""
    expect_error: type[IntegrationError] | None = None
    """The scenario must end in this error (or a subclass), raised by ``check_settings``,
    ``resolve_customer`` or ``sidebar_panel``, instead of a panel."""
    expect_customer: bool | None = None
    """``True``: ``resolve_customer`` must find a customer; ``False``: it must find none."""
    actions: Sequence[ContractAction] = ()
    check_settings: bool = True
    """Call ``check_settings`` first, as the host does when an admin saves the settings."""

    @property
    def label(self) -> str:
        return f"scenario {self.name or self.ticket.ticket_id!r}"


@dataclass
class ContractReport:
    """Everything the contract check found about one integration."""

    integration: str
    problems: list[Problem] = field(default_factory=list)
    scenarios_run: int = 0
    ignored: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def codes(self) -> set[str]:
        return {p.code for p in self.problems}

    def format(self) -> str:
        if not self.problems:
            return (
                f"integration {self.integration!r} meets the Megadesk plugin contract "
                f"({_count(range(self.scenarios_run), 'scenario')})"
            )
        verdict = "breaks" if self.errors else "meets, with warnings,"
        head = (
            f"integration {self.integration!r} {verdict} the Megadesk plugin contract "
            f"({_count(self.errors, 'error')}, {_count(self.warnings, 'warning')}, "
            f"{_count(range(self.scenarios_run), 'scenario')}):"
        )
        return "\n".join([head, *(f"  {p}" for p in self.errors + self.warnings)])

    def raise_for_errors(self) -> ContractReport:
        if self.errors:
            raise ContractViolation(self)
        return self


class ContractViolation(AssertionError):
    """The plugin breaks the contract; the message lists every problem found."""

    def __init__(self, report: ContractReport) -> None:
        super().__init__(report.format())
        self.report = report
        self.problems = report.errors


class _Findings:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(self, code: str, where: str, message: str) -> None:
        self.problems.append(Problem(code, where, message, "error"))

    def warn(self, code: str, where: str, message: str) -> None:
        self.problems.append(Problem(code, where, message, "warning"))

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


# --- What the plugin declares -------------------------------------------------------------


def _annotation_parts(annotation: object) -> tuple[object, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(typing.get_args(annotation))
    return (annotation,)


def _mentions(annotation: object, kinds: tuple[type, ...]) -> bool:
    """Whether ``annotation`` uses one of ``kinds`` anywhere, e.g. ``list[SecretStr]``."""
    if isinstance(annotation, type) and issubclass(annotation, kinds):
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return any(_mentions(f.annotation, kinds) for f in annotation.model_fields.values())
    return any(_mentions(arg, kinds) for arg in typing.get_args(annotation))


def _check_settings_model(model: type[BaseModel], where: str, found: _Findings) -> None:
    try:
        model.model_json_schema()
    except Exception as exc:
        found.error(
            "settings-json-schema",
            where,
            f"{model.__name__} has no JSON Schema ({exc}); the admin UI builds its form from it, "
            "so use JSON types (str, int, float, bool, lists, nested models, SecretStr).",
        )
    if model.model_config.get("extra") != "forbid":
        found.warn(
            "settings-extra",
            where,
            f"{model.__name__} accepts unknown fields, so a misspelled setting is silently dropped; "
            "set model_config = ConfigDict(extra='forbid').",
        )
    for name, info in model.model_fields.items():
        at = f"{where}.{name}"
        parts = _annotation_parts(info.annotation)
        if _mentions(info.annotation, (SecretBytes,)):
            found.error("secret-type", at, "SecretBytes is not stored encrypted by the host; use SecretStr.")
        if SecretStr in parts:
            if info.default is not None and info.default is not PydanticUndefined:
                found.error(
                    "secret-default",
                    at,
                    "a secret field has a default value, so the secret ships with the plugin's code; "
                    "make it required (or default it to None).",
                )
            if info.default_factory is not None:
                found.error("secret-default", at, "a secret field has a default_factory; make it required.")
        elif _mentions(info.annotation, (SecretStr,)):
            found.error(
                "nested-secret",
                at,
                "the host encrypts only top-level SecretStr fields (or SecretStr | None); a secret inside "
                "a list, dict or nested model would be lost. Make each secret its own top-level field.",
            )
        elif _SECRET_NAME.search(name) and not _PUBLIC_NAME.match(name) and all(p in (str, type(None)) for p in parts):
            found.error(
                "secret-not-secretstr",
                at,
                f"{name!r} looks like a secret but is typed {_type_name(info.annotation)}, so the host would store "
                "it in clear and show it to admins; type it SecretStr. If it really is not a secret, ignore "
                "this problem code for this plugin.",
            )


def _type_name(annotation: object) -> str:
    return annotation.__name__ if isinstance(annotation, type) else str(annotation).replace("typing.", "")


def _check_manifest(manifest: object, found: _Findings) -> IntegrationManifest | None:
    if not isinstance(manifest, IntegrationManifest):
        found.error(
            "manifest-type",
            "manifest",
            f"the manifest hook returned {type(manifest).__name__}; return an IntegrationManifest.",
        )
        return None
    if not NAME_PATTERN.match(manifest.name):
        found.error(
            "manifest-name",
            "manifest.name",
            f"{manifest.name!r} must match {NAME_PATTERN.pattern} (lower-case letters, digits and _, "
            "starting with a letter); it is used in URLs and in the tickets' Custom Data.",
        )
    if not isinstance(manifest.title, str) or not manifest.title.strip():
        found.error("manifest-title", "manifest.title", "the title is what agents see above the panel; set one.")
    if manifest.hook_api_version != HOOK_API_VERSION:
        found.error(
            "hook-api-version",
            "manifest.hook_api_version",
            f"the plugin is built for hook API version {manifest.hook_api_version}; this host implements "
            f"version {HOOK_API_VERSION} and refuses it. Build it against this host's megadesk-core.",
        )
    if manifest.panel_schema_version != PANEL_SCHEMA_VERSION:
        found.error(
            "panel-schema-version",
            "manifest.panel_schema_version",
            f"the plugin renders panel schema version {manifest.panel_schema_version}; this host serves "
            f"version {PANEL_SCHEMA_VERSION} and refuses it.",
        )
    settings_model = manifest.settings_model
    if isinstance(settings_model, type) and issubclass(settings_model, BaseModel):
        _check_settings_model(settings_model, "settings", found)
    else:
        found.error(
            "settings-model",
            "manifest.settings_model",
            f"{settings_model!r} is not a pydantic model class; declare settings as a BaseModel subclass.",
        )
    options_model = manifest.options_model
    if options_model is not None:
        if not (isinstance(options_model, type) and issubclass(options_model, BaseModel)):
            found.error("options-model", "manifest.options_model", f"{options_model!r} is not a pydantic model class.")
        else:
            try:
                options_model.model_validate({})
            except ValidationError:
                found.warn(
                    "options-required",
                    "manifest.options_model",
                    f"{options_model.__name__} has required fields, so the host does not start unless the "
                    "operator sets them in MEGADESK_PLUGIN_OPTIONS; give every option a default.",
                )
    return manifest


def _check_action_specs(specs: object, manifest: IntegrationManifest, found: _Findings) -> dict[str, ActionSpec]:
    checked: dict[str, ActionSpec] = {}
    if specs is None:
        return checked
    if not isinstance(specs, list | tuple):
        found.error("actions-type", "actions", f"the actions hook returned {type(specs).__name__}; return a list.")
        return checked
    for index, spec in enumerate(specs):
        if not isinstance(spec, ActionSpec):
            found.error("actions-type", f"actions[{index}]", f"{type(spec).__name__} is not an ActionSpec.")
            continue
        where = f"actions.{spec.name}"
        if not NAME_PATTERN.match(spec.name):
            found.error("action-name", where, f"action name {spec.name!r} must match {NAME_PATTERN.pattern}.")
        if spec.name in checked:
            found.error("action-duplicate", where, f"action {spec.name!r} is declared twice; names must be unique.")
        if not spec.title.strip() or not spec.confirmation.strip():
            found.error("action-text", where, "title and confirmation are shown to the agent before it runs; set both.")
        if spec.feature is not None and spec.feature not in manifest.features:
            found.error(
                "action-feature",
                where,
                f"needs feature {spec.feature!r}, which the manifest does not declare (features: "
                f"{', '.join(manifest.features) or 'none'}).",
            )
        model = spec.payload_model
        if not (isinstance(model, type) and issubclass(model, ActionPayload)):
            found.error(
                "payload-model",
                where,
                f"payload_model {getattr(model, '__name__', model)!r} must subclass "
                "megadesk_core.types.ActionPayload (which carries target and identity_confirmed).",
            )
        else:
            try:
                model.model_json_schema()
            except Exception as exc:
                found.error("payload-json-schema", where, f"{model.__name__} has no JSON Schema ({exc}).")
            if model.model_config.get("extra") != "forbid":
                found.warn(
                    "payload-extra",
                    where,
                    f"{model.__name__} accepts unknown fields; keep ActionPayload's extra='forbid' so a "
                    "misspelled field is an error, not ignored.",
                )
        checked.setdefault(spec.name, spec)
    return checked


def _hook_callers(pm: pluggy.PluginManager, plugin: object, found: _Findings) -> dict[str, pluggy.HookImpl]:
    """The plugin's hook implementations by hook name; misspelled and misplaced ones are problems."""
    spec_names = [
        name
        for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(getattr(hookspecs, name), f"{PROJECT_NAME}_spec")
    ]
    impls: dict[str, pluggy.HookImpl] = {}
    for caller in pm.get_hookcallers(plugin) or []:
        impl = next(i for i in caller.get_hookimpls() if i.plugin is plugin)
        if caller.spec is None:
            close = difflib.get_close_matches(caller.name, spec_names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else f" The hooks are: {', '.join(sorted(spec_names))}."
            found.error("unknown-hook", f"hook {caller.name}", f"there is no hook named {caller.name!r}.{hint}")
            continue
        impls[caller.name] = impl
    for name in REQUIRED_HOOKS:
        if name not in impls:
            found.error("missing-hook", f"hook {name}", f"the {name} hook is required; implement it with @hookimpl.")
    for name in SYNC_ONLY_HOOKS:
        if name in impls and inspect.iscoroutinefunction(impls[name].function):
            found.error(
                "async-hook",
                f"hook {name}",
                f"{name} is called once at start-up and may not be async; make it a plain function.",
            )
    return impls


def _declarations(
    pm: pluggy.PluginManager, plugin: object, found: _Findings
) -> tuple[IntegrationManifest | None, dict[str, ActionSpec]]:
    impls = _hook_callers(pm, plugin, found)
    if "manifest" not in impls or inspect.iscoroutinefunction(impls["manifest"].function):
        return None, {}
    try:
        manifest = _check_manifest(impls["manifest"].function(), found)
    except Exception as exc:
        found.error("hook-raised", "hook manifest", f"raised {_describe(exc)}")
        return None, {}
    if manifest is None:
        return None, {}
    specs: dict[str, ActionSpec] = {}
    if "actions" in impls:
        try:
            specs = _check_action_specs(impls["actions"].function(), manifest, found)
        except Exception as exc:
            found.error("hook-raised", "hook actions", f"raised {_describe(exc)}")
    if specs and "run_action" not in impls:
        found.error("missing-hook", "hook run_action", "the plugin declares actions but no run_action hook.")
    if "run_action" in impls and not specs:
        found.warn("unused-hook", "hook run_action", "run_action is implemented but the actions hook declares none.")
    return manifest, specs


# --- What the plugin returns --------------------------------------------------------------


def _describe(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    at = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {exc}{at}"


def _block_types() -> dict[str, str]:
    members = typing.get_args(typing.get_args(Block)[0])
    return {m.model_fields["type"].default: m.__name__ for m in members}


def _schema_problems(document: dict[str, Any], where: str, found: _Findings, *, json_schema: bool = True) -> list[str]:
    """Unknown block types, then (``json_schema``) the published JSON Schema; returns the block
    paths already reported."""
    try:
        import jsonschema  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:  # pragma: no cover - the testing extra brings it
        raise RuntimeError("the contract check needs jsonschema: pip install 'megadesk-core[testing]'") from exc
    from megadesk_core.panel import panel_json_schema

    known = _block_types()
    reported: list[str] = []
    blocks = document["panels"][0].get("blocks")
    for index, block in enumerate(blocks if isinstance(blocks, list) else []):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in known:
            reported.append(f"blocks/{index}")
            found.error(
                "unknown-block",
                f"{where} blocks[{index}]",
                f"block type {kind!r} is not in panel schema version {PANEL_SCHEMA_VERSION}; this host draws "
                f"{', '.join(sorted(known))}.",
            )
    if not json_schema:
        return reported
    validator = jsonschema.Draft202012Validator(panel_json_schema())
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path))):
        path = "/".join(str(p) for p in list(error.path)[2:])
        if any(path == r or path.startswith(r + "/") for r in reported):
            continue
        detail = jsonschema.exceptions.best_match(error.context) if error.context else error
        deeper = "/".join(str(p) for p in list(detail.path)[2:]) or path or "(panel)"
        found.error("panel-schema", where, f"{deeper}: {detail.message} (panel JSON Schema)")
    return reported


def _path(loc: tuple[int | str, ...]) -> str:
    # pydantic puts a tagged union's tag in the location (blocks/0/links/links/0): drop it.
    parts = [p for i, p in enumerate(loc) if not (i >= 2 and loc[i - 2] == "blocks" and isinstance(loc[i - 1], int))]
    return "/".join(map(str, parts))


def _buttons(panel: Panel) -> Iterable[ActionButton]:
    for block in panel.blocks:
        if isinstance(block, ActionsBlock):
            yield from block.buttons
        elif isinstance(block, TableBlock):
            for row in block.rows:
                yield from row.actions


def _leaks(text: str, secrets: Sequence[str]) -> bool:
    return any(secret in text for secret in secrets)


def _check_panel(
    result: object,
    name: str,
    where: str,
    specs: Mapping[str, ActionSpec],
    customer: ResolvedCustomer | None,
    secrets: Sequence[str],
    found: _Findings,
) -> Panel | None:
    if isinstance(result, Panel):
        raw: object = result.model_dump(mode="json", warnings=False)
    else:
        raw = result
    if not isinstance(raw, dict):
        found.error("panel-type", where, f"sidebar_panel returned {type(result).__name__}; return a Panel.")
        return None
    document = {"ticket_id": "contract", "panels": [{"integration": name, "status": "ok", **raw}]}
    try:
        panel = Panel.model_validate(raw)
    except ValidationError as exc:
        # pydantic names the failing field precisely; JSON Schema's oneOf errors do not.
        reported = _schema_problems(document, where, found, json_schema=False)
        for err in exc.errors(include_url=False, include_input=False):
            loc = _path(err["loc"])
            if not any(loc == r or loc.startswith(r + "/") for r in reported):
                found.error("panel-schema", where, f"{loc}: {err['msg']}")
        return None
    _schema_problems(document, where, found)
    for button in _buttons(panel):
        spec = specs.get(button.action)
        if spec is None:
            found.error(
                "unknown-action-button",
                where,
                f"a button runs action {button.action!r}, which the actions hook does not declare "
                f"(declared: {', '.join(specs) or 'none'}); the host would answer 404.",
            )
            continue
        unknown = set(button.prefill) - set(spec.payload_model.model_fields)
        if unknown:
            found.error(
                "button-prefill",
                where,
                f"the {button.action!r} button pre-fills {sorted(unknown)}, which {spec.payload_model.__name__} "
                "does not have.",
            )
    if customer is not None and not customer.verified and panel.verified is True:
        found.error(
            "panel-claims-verified",
            where,
            "the panel says verified=True for a customer resolve_customer matched without verification; "
            "use verified=customer.verified so agents see the 'not verified' label.",
        )
    if _leaks(json.dumps(raw, default=str), secrets):
        found.error("secret-in-panel", where, "the panel contains a secret from the settings; never show secrets.")
    return panel


# --- Running scenarios --------------------------------------------------------------------


class _Stop(Exception):
    """A scenario cannot go on (the problem is already recorded)."""


@dataclass
class _Run:
    registry: IntegrationRegistry
    integration: LoadedIntegration
    specs: Mapping[str, ActionSpec]
    impls: frozenset[str]
    timeout: float
    found: _Findings
    current_hook: str = ""

    @property
    def name(self) -> str:
        return self.integration.name

    async def call(self, hook: str, where: str, **kwargs: Any) -> Any:
        self.current_hook = hook
        try:
            with anyio.fail_after(self.timeout):
                return await self.registry.call(self.name, hook, **kwargs)
        except TimeoutError as exc:
            self.found.error("timeout", where, f"{hook} did not answer within {self.timeout:g}s.")
            raise _Stop from exc

    def check_error(self, exc: IntegrationError, where: str, secrets: Sequence[str]) -> None:
        if not exc.message or not str(exc.message).strip():
            self.found.error("error-message", where, f"{type(exc).__name__} has no message; agents read it.")
        if _leaks(str(exc.message), secrets):
            self.found.error("secret-in-message", where, f"the {type(exc).__name__} message contains a secret.")
        if not _CODE.match(exc.code):
            self.found.warn("error-code", where, f"error code {exc.code!r} should be a lower-case slug.")

    def unexpected(self, exc: Exception, where: str, expected: str) -> None:
        if isinstance(exc, IntegrationError):
            self.found.error(
                "unexpected-error",
                where,
                f"raised {type(exc).__name__} ({exc.code}): {exc.message!r}; the scenario expected {expected}.",
            )
        else:
            self.found.error(
                "bare-exception",
                where,
                f"raised {_describe(exc)}. Hooks raise megadesk_core.errors.IntegrationError subclasses "
                "(NotFoundError, UpstreamUnavailableError, ...) so the agent is told what happened; anything "
                "else becomes an opaque 'failed' panel.",
            )

    async def render(
        self, context: IntegrationContext, ticket: TicketContext, where: str, secrets: Sequence[str]
    ) -> tuple[ResolvedCustomer | None, Panel | None]:
        customer: ResolvedCustomer | None = None
        if "resolve_customer" in self.impls:
            result = await self.call("resolve_customer", f"{where}: resolve_customer", context=context, ticket=ticket)
            if result is not None and not isinstance(result, ResolvedCustomer):
                try:
                    result = ResolvedCustomer.model_validate(result)
                except ValidationError as exc:
                    self.found.error(
                        "customer-type",
                        f"{where}: resolve_customer",
                        f"returned {type(result).__name__}, not a ResolvedCustomer or None "
                        f"({exc.error_count()} errors).",
                    )
                    raise _Stop from exc
            customer = result
            if customer is not None and customer.verified and not ticket.custom_data:
                self.found.error(
                    "verified-without-custom-data",
                    f"{where}: resolve_customer",
                    "returned verified=True for a ticket with no Custom Data for this integration; only a "
                    "record the ticket names is verified, an email match is verified=False.",
                )
        result = await self.call(
            "sidebar_panel", f"{where}: sidebar_panel", context=context, ticket=ticket, customer=customer
        )
        panel = _check_panel(result, self.name, f"{where}: sidebar_panel", self.specs, customer, secrets, self.found)
        return customer, panel


def _secrets(settings: BaseModel) -> list[str]:
    values = (getattr(settings, name) for name in type(settings).model_fields)
    return [v.get_secret_value() for v in values if isinstance(v, SecretStr) and len(v.get_secret_value()) >= 4]


async def _settings_for(run: _Run, scenario: ContractScenario) -> BaseModel:
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
        raise _Stop from exc


async def _run_action(
    run: _Run,
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
        return await run.call(
            "run_action",
            where,
            context=context,
            ticket=scenario.ticket,
            customer=customer,
            action=spec.name,
            payload=sent,
            idempotency_key=f"contract:{uuid.uuid4().hex}",
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
        except _Stop:
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
    except _Stop:
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
    if _leaks(checked.model_dump_json(), secrets):
        run.found.error("secret-in-result", where, "the action's result contains a secret from the settings.")


async def _check_settings(run: _Run, scenario: ContractScenario, settings: BaseModel) -> SettingsCheck | None:
    where = f"{scenario.label}: check_settings"
    try:
        result = await run.call("check_settings", where, settings=settings, options=run.integration.options)
    except (RateLimitedError, UpstreamUnavailableError) as exc:
        if scenario.expect_error is not None and isinstance(exc, scenario.expect_error):
            raise
        # The host saves settings it cannot check now, with a warning; so does the scenario.
        return SettingsCheck(warnings=[f"could not be checked now ({exc.message})"])
    if result is None or isinstance(result, SettingsCheck):
        return result
    run.found.error("settings-check-type", where, f"returned {type(result).__name__}; return a SettingsCheck or None.")
    return None


async def _run_scenario(run: _Run, scenario: ContractScenario) -> None:
    label = scenario.label
    settings = await _settings_for(run, scenario)
    secrets = _secrets(settings)
    expected = scenario.expect_error.__name__ if scenario.expect_error else "a panel"
    check: SettingsCheck | None = None
    try:
        if scenario.check_settings and "check_settings" in run.impls:
            check = await _check_settings(run, scenario, settings)
        context = IntegrationContext(
            tenant_id="megadesk-contract",
            integration=run.name,
            settings=settings,
            options=run.integration.options,
            settings_check=check,
        )
        customer, panel = await run.render(context, scenario.ticket, label, secrets)
    except IntegrationError as exc:
        run.check_error(exc, f"{label}: {run.current_hook}", secrets)
        if scenario.expect_error is None or not isinstance(exc, scenario.expect_error):
            run.unexpected(exc, f"{label}: {run.current_hook}", expected)
        return
    except _Stop:
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
        await _run_action(run, scenario, context, customer, step, secrets)
    try:
        await run.render(context, scenario.ticket, f"{label} (after its actions)", secrets)
    except IntegrationError as exc:
        run.unexpected(exc, f"{label} (after its actions)", "a panel")
    except _Stop:
        pass
    except Exception as exc:
        run.unexpected(exc, f"{label} (after its actions)", "a panel")


async def _blank_ticket(run: _Run, scenario: ContractScenario) -> None:
    """A ticket with neither email nor Custom Data must still get a panel (an empty one)."""
    where = "blank ticket"
    context = IntegrationContext(
        tenant_id="megadesk-contract",
        integration=run.name,
        settings=run.integration.manifest.settings_model.model_validate(dict(scenario.settings)),
        options=run.integration.options,
    )
    try:
        await run.render(context, TicketContext(ticket_id="megadesk-contract-blank"), where, [])
    except IntegrationError as exc:
        run.found.warn(
            "blank-ticket",
            where,
            f"a ticket with no email and no Custom Data raised {type(exc).__name__}: {exc.message!r}; show "
            "an empty panel (status='empty') instead.",
        )
    except _Stop:
        pass
    except Exception as exc:
        run.unexpected(exc, where, "an empty panel")


# --- Finding the plugin -------------------------------------------------------------------


def _plugin_manager_for(plugin: object, found: _Findings) -> pluggy.PluginManager | None:
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    try:
        pm.register(plugin)
    except pluggy.PluginValidationError as exc:
        found.error("hook-signature", "hooks", f"{exc}; a hook implementation may only take the spec's arguments.")
        return None
    except ValueError as exc:
        found.error("register", "hooks", str(exc))
        return None
    return pm


def _load(
    target: object, integration: str | None, options: Mapping[str, Any] | None, found: _Findings
) -> tuple[object | None, IntegrationRegistry | None, str]:
    """The plugin object, a registry holding it (if the host accepts it), and a name for the report."""
    if isinstance(target, IntegrationRegistry):
        if options is not None:
            raise ValueError("options come from the registry; pass options only with a plugin or entry-point name")
        names = sorted(target.integrations)
        if integration is None:
            if len(names) != 1:
                raise ValueError(f"name the integration to check; the registry holds {names}")
            integration = names[0]
        loaded = target.get(integration)
        if loaded is None:
            reason = target.rejected.get(integration)
            found.error(
                "not-loaded",
                "registry",
                reason or f"the registry has no integration {integration!r} (it holds {', '.join(names) or 'none'}).",
            )
            return None, None, integration
        return loaded.plugin, target, integration

    label: str = integration or str(getattr(target, "__name__", type(target).__name__))
    entry_point = target if isinstance(target, str) else None
    if isinstance(target, str):
        points = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == target]
        label = integration or target
        if not points:
            found.error(
                "not-installed",
                f"entry point {target}",
                f"no installed distribution declares {target!r} in the {ENTRY_POINT_GROUP!r} entry-point group; "
                "check [project.entry-points] in its pyproject.toml and pip install it.",
            )
            return None, None, label
        try:
            target = points[0].load()
        except Exception as exc:
            found.error(
                "import-failed", f"entry point {points[0].name}", f"{points[0].value} fails to import: {_describe(exc)}"
            )
            return None, None, label
    pm = _plugin_manager_for(target, found)
    if pm is None:
        return target, None, label
    manifest, _ = _declarations(pm, target, found)
    if manifest is not None and isinstance(entry_point, str) and entry_point != manifest.name:
        found.warn(
            "entry-point-name",
            f"entry point {entry_point}",
            f"the entry point is named {entry_point!r} but the integration {manifest.name!r}; operators allow and "
            "block plugins by entry-point name, so use the same word for both.",
        )
    if manifest is None or found.has_errors:
        return target, None, manifest.name if manifest else label
    try:
        registry = load_integrations(
            extra_plugins=[target], load_entry_points=False, plugin_options={manifest.name: dict(options or {})}
        )
    except PluginConfigurationError as exc:
        found.error("host-refuses", "host", str(exc))
        return target, None, manifest.name
    if manifest.name not in registry.integrations:
        for reason in registry.rejected.values():
            found.error("host-refuses", "host", reason)
        return target, None, manifest.name
    return target, registry, manifest.name


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
    found = _Findings()
    plugin, registry, label = _load(target, integration, options, found)
    report = ContractReport(integration=label)
    if plugin is not None and registry is not None:
        loaded = registry.get(label)
        assert loaded is not None
        scratch = _Findings()
        pm = registry.plugin_manager
        impls = frozenset(_hook_callers(pm, plugin, scratch))
        if isinstance(target, IntegrationRegistry):
            # A registry's plugin was already accepted by the host; check the declarations in full.
            _declarations(pm, plugin, found)
        if not found.has_errors:
            run = _Run(registry, loaded, loaded.actions, impls, timeout, found)
            for scenario in scenarios:
                with contextlib.suppress(_Stop):
                    await _run_scenario(run, scenario)
                report.scenarios_run += 1
            usable = next((s for s in scenarios if s.expect_error is None), None)
            if usable is not None:
                with contextlib.suppress(ValidationError):  # already reported as the scenario's problem
                    await _blank_ticket(run, usable)
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
