"""Checks of what the plugin declares at start-up: its hook implementations, manifest and actions."""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import pluggy
from pydantic import BaseModel

from megadesk_core import hookspecs
from megadesk_core.contract.findings import Findings, describe, source_location
from megadesk_core.contract.settings_model import check_settings_model
from megadesk_core.declaration_rules import (
    DeclarationProblem,
    action_problems,
    actions_without_runner,
    hook_problems,
    manifest_problems,
    unknown_hook_problem,
)
from megadesk_core.types import ActionSpec, IntegrationManifest

REQUIRED_HOOKS = tuple(name for name, contract in hookspecs.hook_contracts().items() if contract.required)
"""Hooks every integration implements (declared next to each spec); the others are optional."""
SYNC_ONLY_HOOKS = tuple(name for name, contract in hookspecs.hook_contracts().items() if not contract.may_be_async)
"""Hooks the host calls once at start-up, outside any event loop: they may not be ``async``."""


def _report(
    problems: list[DeclarationProblem], found: Findings, locations: Mapping[str, str | None] | None = None
) -> None:
    """Report the loader's problems; ``locations`` maps a problem's ``where`` to the plugin's line."""
    for problem in problems:
        report = found.error if problem.severity == "error" else found.warn
        report(problem.code, problem.where, problem.message, (locations or {}).get(problem.where))


def _check_manifest(manifest: object, found: Findings) -> IntegrationManifest | None:
    """The loader's rules (:mod:`megadesk_core.declaration_rules`), then a closer look at the
    settings model than the loader takes."""
    _report(manifest_problems(manifest), found)
    if not isinstance(manifest, IntegrationManifest):
        return None
    settings_model = manifest.settings_model
    if isinstance(settings_model, type) and issubclass(settings_model, BaseModel):
        check_settings_model(settings_model, "settings", found)
    return manifest


def _check_action_specs(specs: object, manifest: IntegrationManifest, found: Findings) -> dict[str, ActionSpec]:
    checked, problems = action_problems(specs, manifest)
    _report(problems, found)
    return checked


def hook_implementations(pm: pluggy.PluginManager, plugin: object, found: Findings) -> dict[str, pluggy.HookImpl]:
    """The plugin's hook implementations by hook name; misspelled and misplaced ones are problems,
    each at the implementation's line (a missing hook: where the plugin is defined)."""
    impls: dict[str, pluggy.HookImpl] = {}
    for caller in pm.get_hookcallers(plugin) or []:
        impl = next(i for i in caller.get_hookimpls() if i.plugin is plugin)
        if caller.spec is None:
            _report([unknown_hook_problem(caller.name)], found, {f"hook {caller.name}": source_location(impl.function)})
            continue
        impls[caller.name] = impl
    found.at = source_location(plugin if inspect.ismodule(plugin) else type(plugin))
    locations = {f"hook {name}": source_location(impl.function) for name, impl in impls.items()}
    _report(hook_problems({name: impl.function for name, impl in impls.items()}), found, locations)
    found.at = None
    return impls


def check_declarations(
    pm: pluggy.PluginManager, plugin: object, found: Findings
) -> tuple[IntegrationManifest | None, dict[str, ActionSpec]]:
    impls = hook_implementations(pm, plugin, found)
    if "manifest" not in impls or inspect.iscoroutinefunction(impls["manifest"].function):
        return None, {}
    found.at = source_location(impls["manifest"].function)
    try:
        manifest = _check_manifest(impls["manifest"].function(), found)
    except Exception as exc:
        found.error("hook-raised", "hook manifest", f"raised {describe(exc)}", found.raised_at(exc))
        return None, {}
    finally:
        found.at = None
    if manifest is None:
        return None, {}
    specs: dict[str, ActionSpec] = {}
    if "actions" in impls:
        found.at = source_location(impls["actions"].function)
        try:
            specs = _check_action_specs(impls["actions"].function(), manifest, found)
        except Exception as exc:
            found.error("hook-raised", "hook actions", f"raised {describe(exc)}", found.raised_at(exc))
    for name in actions_without_runner(specs, impls):
        found.error("missing-hook", f"actions.{name}", "has no handler and the plugin has no run_action hook.")
    if "run_action" in impls and not any(spec.handler is None for spec in specs.values()):
        found.warn(
            "unused-hook",
            "hook run_action",
            "run_action is implemented but no declared action needs it (none, or all have handlers).",
            source_location(impls["run_action"].function),
        )
    found.at = None
    return manifest, specs
