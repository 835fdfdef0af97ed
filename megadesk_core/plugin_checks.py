"""What the loader checks of one registered plugin: its declarations (by the rules of
:mod:`megadesk_core.declaration_rules`) and its process options. A plugin that fails raises
:class:`PluginRefused`; :mod:`megadesk_core.plugins` turns that into a coded refusal."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from typing import Any

import pluggy
from pydantic import BaseModel, ValidationError

from megadesk_core.declaration_rules import (
    DeclarationProblem,
    action_problems,
    actions_without_runner,
    hook_problems,
    manifest_problems,
)
from megadesk_core.types import ActionSpec, IntegrationManifest

log = logging.getLogger(__name__)


def implementations(pm: pluggy.PluginManager, plugin: object) -> dict[str, object]:
    """The plugin's hook implementations by hook name."""
    return {
        caller.name: impl.function
        for caller in pm.get_hookcallers(plugin) or []
        for impl in caller.get_hookimpls()
        if impl.plugin is plugin
    }


def declarations(pm: pluggy.PluginManager, plugin: object) -> tuple[IntegrationManifest, dict[str, ActionSpec]]:
    """The plugin's manifest and actions, checked by :mod:`megadesk_core.declaration_rules`;
    raises :class:`PluginRefused` naming every rule it breaks (and the manifest, when one could be read)."""
    implemented = implementations(pm, plugin)
    problems = hook_problems(implemented)
    manifest: object = None
    actions: dict[str, ActionSpec] = {}
    manifest_hook = implemented.get("manifest")
    if manifest_hook is not None and not inspect.iscoroutinefunction(manifest_hook):
        # Read even when another hook is wrong: the refusal then names the integration tenants enabled.
        manifest = manifest_hook()  # type: ignore[operator]
        problems += manifest_problems(manifest)
    if isinstance(manifest, IntegrationManifest) and not any(p.severity == "error" for p in problems):
        declared = implemented["actions"]() if "actions" in implemented else []  # type: ignore[operator]
        actions, action_found = action_problems(declared, manifest)
        problems += action_found
        for name in actions_without_runner(actions, implemented):
            problems.append(
                DeclarationProblem(
                    "missing-hook", f"actions.{name}", "has no handler and the plugin has no run_action hook."
                )
            )
    errors = [p for p in problems if p.severity == "error"]
    for warning in (p for p in problems if p.severity == "warning"):
        log.warning("plugin %s: %s: %s", getattr(plugin, "__name__", plugin), warning.where, warning.message)
    if errors or not isinstance(manifest, IntegrationManifest):
        raise PluginRefused(errors, manifest if isinstance(manifest, IntegrationManifest) else None)
    return manifest, actions


class PluginRefused(Exception):
    """The plugin breaks a rule; ``problems`` say which, ``manifest`` is what it declared (if read)."""

    def __init__(self, problems: list[DeclarationProblem], manifest: IntegrationManifest | None) -> None:
        super().__init__(problems)
        self.problems = problems
        self.manifest = manifest


def process_options(manifest: IntegrationManifest, raw: Mapping[str, Any] | None) -> BaseModel | None:
    """The plugin's options model filled from MEGADESK_PLUGIN_OPTIONS (its defaults when the
    operator set none); refused with ``bad-options`` when they do not validate."""
    if manifest.options_model is None:
        if raw:
            raise PluginRefused(
                [
                    DeclarationProblem(
                        "bad-options",
                        "MEGADESK_PLUGIN_OPTIONS",
                        f"has an entry for {manifest.name!r}, which takes no options; remove it.",
                    )
                ],
                manifest,
            )
        return None
    try:
        return manifest.options_model.model_validate(raw or {})
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        problem = DeclarationProblem(
            "bad-options",
            "MEGADESK_PLUGIN_OPTIONS",
            f"the options for {manifest.name!r} are invalid: {errors}; fix them or remove the entry.",
        )
        raise PluginRefused([problem], manifest) from exc
