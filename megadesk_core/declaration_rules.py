"""The rules a plugin's declarations must follow: its hooks, manifest and actions.

One set of rules, read by the loader (which refuses a plugin that breaks one, with the
message) and by the contract check (which lists every problem with its code). Each problem says
what is wrong and how to fix it.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ValidationError

from megadesk_core import hookspecs
from megadesk_core.panel import MIN_PANEL_SCHEMA_VERSION, PANEL_SCHEMA_VERSION
from megadesk_core.types import (
    HOOK_API_VERSION,
    MIN_HOOK_API_VERSION,
    NAME_PATTERN,
    ActionPayload,
    ActionSpec,
    IntegrationManifest,
)


@dataclass(frozen=True)
class DeclarationProblem:
    code: str
    where: str
    message: str
    severity: Literal["error", "warning"] = "error"


def unknown_hook_problem(name: str) -> DeclarationProblem:
    """A hook implementation with no matching spec (a typo, usually), with the closest hook name."""
    hooks = list(hookspecs.hook_contracts())
    close = difflib.get_close_matches(name, hooks, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else f" The hooks are: {', '.join(sorted(hooks))}."
    return DeclarationProblem("unknown-hook", f"hook {name}", f"there is no hook named {name!r}.{hint}")


def hook_problems(implemented: Mapping[str, object]) -> list[DeclarationProblem]:
    """Required hooks missing and start-up hooks written ``async``, by the hooks' declared
    contracts; ``implemented`` maps hook names to the implementing functions."""
    problems = []
    for name, contract in hookspecs.hook_contracts().items():
        function = implemented.get(name)
        if function is None and contract.required:
            problems.append(
                DeclarationProblem("missing-hook", f"hook {name}", f"the {name} hook is required; implement it.")
            )
        if function is not None and not contract.may_be_async and inspect.iscoroutinefunction(function):
            problems.append(
                DeclarationProblem(
                    "async-hook",
                    f"hook {name}",
                    f"{name} is called once at start-up and may not be async; make it a plain function.",
                )
            )
    return problems


def _version_problem(kind: str, code: str, built_for: int, oldest: int, newest: int) -> DeclarationProblem | None:
    where = f"manifest.{code.replace('-', '_')}"
    supported = f"version {newest}" if oldest == newest else f"versions {oldest} to {newest}"
    if built_for > newest:
        return DeclarationProblem(
            code,
            where,
            f"the plugin is built for {kind} version {built_for}, newer than this host's ({supported}); "
            "upgrade megadesk-core, or install a release of the plugin made for this host.",
        )
    if built_for < oldest:
        return DeclarationProblem(
            code,
            where,
            f"the plugin is built for {kind} version {built_for}, which this host no longer supports "
            f"({supported}); install a release of the plugin made for this host.",
        )
    return None


def manifest_problems(manifest: object) -> list[DeclarationProblem]:
    if not isinstance(manifest, IntegrationManifest):
        return [
            DeclarationProblem(
                "manifest-type",
                "manifest",
                f"the manifest hook returned {type(manifest).__name__}; return an IntegrationManifest.",
            )
        ]
    problems = []
    if not isinstance(manifest.name, str) or not NAME_PATTERN.match(manifest.name):
        problems.append(
            DeclarationProblem(
                "manifest-name",
                "manifest.name",
                f"{manifest.name!r} must match {NAME_PATTERN.pattern} (lower-case letters, digits and _, "
                "starting with a letter); it is used in URLs and in the tickets' Custom Data.",
            )
        )
    if not isinstance(manifest.title, str) or not manifest.title.strip():
        problems.append(
            DeclarationProblem(
                "manifest-title", "manifest.title", "the title is what agents see above the panel; set one."
            )
        )
    for version in (
        _version_problem(
            "hook API", "hook-api-version", manifest.hook_api_version, MIN_HOOK_API_VERSION, HOOK_API_VERSION
        ),
        _version_problem(
            "panel schema",
            "panel-schema-version",
            manifest.panel_schema_version,
            MIN_PANEL_SCHEMA_VERSION,
            PANEL_SCHEMA_VERSION,
        ),
    ):
        if version is not None:
            problems.append(version)
    if not (isinstance(manifest.settings_model, type) and issubclass(manifest.settings_model, BaseModel)):
        problems.append(
            DeclarationProblem(
                "settings-model",
                "manifest.settings_model",
                f"{manifest.settings_model!r} is not a pydantic model class; declare settings as a BaseModel subclass.",
            )
        )
    options_model = manifest.options_model
    if options_model is not None:
        if not (isinstance(options_model, type) and issubclass(options_model, BaseModel)):
            problems.append(
                DeclarationProblem(
                    "options-model", "manifest.options_model", f"{options_model!r} is not a pydantic model class."
                )
            )
        else:
            try:
                options_model.model_validate({})
            except ValidationError:
                problems.append(
                    DeclarationProblem(
                        "options-required",
                        "manifest.options_model",
                        f"{options_model.__name__} has required fields, so the host does not start unless the "
                        "operator sets them in MEGADESK_PLUGIN_OPTIONS; give every option a default.",
                        "warning",
                    )
                )
    return problems


def action_problems(
    specs: object, manifest: IntegrationManifest
) -> tuple[dict[str, ActionSpec], list[DeclarationProblem]]:
    """The declared actions by name (the first of each name), and their problems."""
    checked: dict[str, ActionSpec] = {}
    problems: list[DeclarationProblem] = []
    if specs is None:
        return checked, problems
    if not isinstance(specs, list | tuple):
        kind = type(specs).__name__
        return checked, [DeclarationProblem("actions-type", "actions", f"the actions hook returned {kind}; a list.")]
    for index, spec in enumerate(specs):
        if not isinstance(spec, ActionSpec):
            problems.append(
                DeclarationProblem("actions-type", f"actions[{index}]", f"{type(spec).__name__} is not an ActionSpec.")
            )
            continue
        problems += _spec_problems(spec, manifest, duplicate=spec.name in checked)
        checked.setdefault(spec.name, spec)
    return checked, problems


def _spec_problems(spec: ActionSpec, manifest: IntegrationManifest, *, duplicate: bool) -> list[DeclarationProblem]:
    where = f"actions.{spec.name}"
    problems = []

    def error(code: str, message: str) -> None:
        problems.append(DeclarationProblem(code, where, message))

    if not NAME_PATTERN.match(spec.name):
        error("action-name", f"action name {spec.name!r} must match {NAME_PATTERN.pattern}.")
    if duplicate:
        error("action-duplicate", f"action {spec.name!r} is declared twice; names must be unique.")
    if not spec.title.strip() or not spec.confirmation.strip():
        error("action-text", "title and confirmation are shown to the agent before it runs; set both.")
    if spec.feature is not None and spec.feature not in manifest.features:
        error(
            "action-feature",
            f"needs feature {spec.feature!r}, which the manifest does not declare (features: "
            f"{', '.join(manifest.features) or 'none'}).",
        )
    model = spec.payload_model
    if not (isinstance(model, type) and issubclass(model, ActionPayload)):
        error(
            "payload-model",
            f"payload_model {getattr(model, '__name__', model)!r} must subclass megadesk_core.types.ActionPayload "
            "(which carries target and identity_confirmed).",
        )
        return problems
    try:
        model.model_json_schema()
    except Exception as exc:
        error("payload-json-schema", f"{model.__name__} has no JSON Schema ({exc}).")
    if model.model_config.get("extra") != "forbid":
        problems.append(
            DeclarationProblem(
                "payload-extra",
                where,
                f"{model.__name__} accepts unknown fields; keep ActionPayload's extra='forbid' so a misspelled "
                "field is an error, not ignored.",
                "warning",
            )
        )
    if spec.handler is not None and not callable(spec.handler):
        error("action-handler", f"handler {spec.handler!r} is not callable.")
    return problems


def actions_without_runner(specs: Mapping[str, ActionSpec], implemented: Mapping[str, object]) -> list[str]:
    """Declared actions nothing can run: no handler of their own and no ``run_action`` hook."""
    if "run_action" in implemented:
        return []
    return [name for name, spec in specs.items() if spec.handler is None]
