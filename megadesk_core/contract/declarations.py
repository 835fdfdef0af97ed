"""Checks of what the plugin declares at start-up: its hook implementations, manifest and actions."""

from __future__ import annotations

import difflib
import inspect

import pluggy
from pydantic import BaseModel, ValidationError

from megadesk_core import hookspecs
from megadesk_core.contract.findings import _describe, _Findings
from megadesk_core.contract.settings_model import _check_settings_model
from megadesk_core.markers import PROJECT_NAME
from megadesk_core.panel import PANEL_SCHEMA_VERSION
from megadesk_core.types import HOOK_API_VERSION, NAME_PATTERN, ActionPayload, ActionSpec, IntegrationManifest

REQUIRED_HOOKS = ("manifest", "sidebar_panel")
"""Hooks every integration implements; the others are optional."""
SYNC_ONLY_HOOKS = ("manifest", "actions")
"""Hooks the host calls once at start-up, outside any event loop: they may not be ``async``."""


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
