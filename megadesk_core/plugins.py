"""Finding, loading and checking integrations: the plugin manager factory.

Nothing happens at import time. :func:`load_integrations` builds a pluggy manager, loads the
``megadesk.integrations`` entry points that process settings allow, registers any plugins
passed in (tests), fails loudly on a misspelled hook implementation, and validates each
plugin's manifest. A plugin that fails to import, or is built for another hook API version,
is logged and left out; the host still starts.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import anyio.to_thread
import pluggy
from pydantic import BaseModel, ValidationError

from megadesk_core import hookspecs
from megadesk_core.declaration_rules import (
    DeclarationProblem,
    action_problems,
    actions_without_runner,
    hook_problems,
    manifest_problems,
)
from megadesk_core.markers import ENTRY_POINT_GROUP, PROJECT_NAME
from megadesk_core.types import ActionSpec, IntegrationManifest

log = logging.getLogger(__name__)


class PluginConfigurationError(RuntimeError):
    """A plugin problem the operator must fix before the host can start."""


@dataclass(frozen=True)
class LoadedIntegration:
    """An integration the host loaded: its manifest, declared actions and process options."""

    manifest: IntegrationManifest
    plugin: object
    actions: Mapping[str, ActionSpec]
    options: BaseModel | None
    source: str

    @property
    def name(self) -> str:
        return self.manifest.name


@dataclass
class IntegrationRegistry:
    """The loaded integrations and a way to call one plugin's hook."""

    plugin_manager: pluggy.PluginManager
    integrations: dict[str, LoadedIntegration] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    _callers: dict[tuple[str, str], pluggy.HookCaller] = field(default_factory=dict)
    _on_loop: dict[tuple[str, str], bool] = field(default_factory=dict)

    def get(self, name: str) -> LoadedIntegration | None:
        return self.integrations.get(name)

    def _caller(self, integration: str, hook: str) -> pluggy.HookCaller:
        key = (integration, hook)
        if key not in self._callers:
            target = self.integrations[integration].plugin
            others = [p for p in self.plugin_manager.get_plugins() if p is not target]
            self._callers[key] = self.plugin_manager.subset_hook_caller(hook, remove_plugins=others)
        return self._callers[key]

    def implements(self, integration: str, hook: str) -> bool:
        """Whether the integration's plugin implements ``hook`` (an optional one)."""
        loaded = self.integrations.get(integration)
        return loaded is not None and implements_hook(loaded.plugin, hook)

    def _runs_on_loop(self, integration: str, hook: str) -> bool:
        key = (integration, hook)
        if key not in self._on_loop:
            impls = self._caller(integration, hook).get_hookimpls()
            self._on_loop[key] = all(inspect.iscoroutinefunction(impl.function) for impl in impls)
        return self._on_loop[key]

    async def call_raw(self, integration: str, hook: str, **kwargs: Any) -> Any:
        """Call ``hook`` on one integration's plugin; await the result if it is awaitable. The
        result is what the plugin returned, unchecked: the host calls hooks through
        :class:`megadesk_core.hook_calls.IntegrationHooks`, which validates it; the contract
        check looks at it as it came.

        Plain (sync) implementations run in a worker thread so that a slow plugin cannot
        block the event loop (and the deadline around it still fires); ``async def`` ones
        are called on the loop, which saves a thread hop per call.
        """
        caller = self._caller(integration, hook)
        if self._runs_on_loop(integration, hook):
            result = caller(**kwargs)
        else:
            result = await anyio.to_thread.run_sync(lambda: caller(**kwargs))
        if isinstance(result, list):  # hooks that are not firstresult return every result
            return [await resolved(item) for item in result]
        return await resolved(result)

    async def shutdown(self) -> None:
        for name in self.integrations:
            try:
                await self.call_raw(name, "shutdown")
            except Exception:
                log.exception("integration %s failed to shut down cleanly", name)


def implements_hook(plugin: object, hook: str) -> bool:
    """Whether ``plugin`` (a module or an object) implements ``hook``."""
    return hasattr(getattr(plugin, hook, None), f"{PROJECT_NAME}_impl")


async def resolved(value: Any) -> Any:
    """``value``, awaited for as long as it is awaitable (a hook may return a coroutine)."""
    while inspect.isawaitable(value):
        value = await value
    return value


def _load_entry_points(
    pm: pluggy.PluginManager, allow: frozenset[str] | None, block: frozenset[str], refused: dict[str, str]
) -> dict[str, str]:
    """Register the allowed entry points; returns their sources, fills ``refused`` with the reasons
    of those that failed (readiness and ``megadesk integrations list`` report them)."""
    sources: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in block or (allow is not None and ep.name not in allow):
            log.info("plugin %s is not loaded: blocked by process settings", ep.name)
            pm.set_blocked(ep.name)
            continue
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            # A broken third-party plugin must not take the help desk down with it.
            log.exception("plugin %s (%s) failed to import and is skipped", ep.name, ep.value)
            refused[ep.name] = f"plugin {ep.name} failed to import: {type(exc).__name__}: {exc}"
            continue
        try:
            pm.register(plugin, name=ep.name)
        except pluggy.PluginValidationError as exc:
            log.error("plugin %s (%s) is refused: %s", ep.name, ep.value, exc)
            refused[ep.name] = f"plugin {ep.name} was refused: {exc}"
            continue
        dist = ep.dist.name if ep.dist is not None else "unknown distribution"
        sources[ep.name] = f"entry point {ep.name} = {ep.value} ({dist})"
    return sources


def _implementations(pm: pluggy.PluginManager, plugin: object) -> dict[str, object]:
    """The plugin's hook implementations by hook name."""
    return {
        caller.name: impl.function
        for caller in pm.get_hookcallers(plugin) or []
        for impl in caller.get_hookimpls()
        if impl.plugin is plugin
    }


def _declarations(pm: pluggy.PluginManager, plugin: object) -> tuple[IntegrationManifest, dict[str, ActionSpec]]:
    """The plugin's manifest and actions, checked by :mod:`megadesk_core.declaration_rules`;
    raises ``ValueError`` naming every rule it breaks."""
    implemented = _implementations(pm, plugin)
    problems = hook_problems(implemented)
    manifest: object = None
    actions: dict[str, ActionSpec] = {}
    if not problems:
        manifest = implemented["manifest"]()  # type: ignore[operator]
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
        raise ValueError("; ".join(f"{p.where}: {p.message}" for p in errors))
    return manifest, actions


def _options_for(manifest: IntegrationManifest, raw: Mapping[str, Any] | None) -> BaseModel | None:
    if manifest.options_model is None:
        if raw:
            raise PluginConfigurationError(f"plugin_options has an entry for {manifest.name!r}, which takes no options")
        return None
    try:
        return manifest.options_model.model_validate(raw or {})
    except ValidationError as exc:
        raise PluginConfigurationError(
            f"plugin_options for {manifest.name!r} are invalid: {exc.errors(include_url=False, include_input=False)}"
        ) from exc


def load_integrations(
    *,
    allow: Iterable[str] | None = None,
    block: Iterable[str] = (),
    plugin_options: Mapping[str, Mapping[str, Any]] | None = None,
    extra_plugins: Iterable[object] = (),
    load_entry_points: bool = True,
) -> IntegrationRegistry:
    """Build the plugin manager and the registry of usable integrations.

    ``allow`` (``None``: every installed plugin; empty: none) and ``block`` name entry
    points. ``extra_plugins`` are registered directly (tests, built-ins). Raises
    :class:`PluginConfigurationError` for what the operator must fix: a hook implementation
    with no matching spec, two plugins claiming one name, invalid process options.
    """
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    allowed = frozenset(allow) if allow is not None else None
    refused: dict[str, str] = {}
    sources = _load_entry_points(pm, allowed, frozenset(block), refused) if load_entry_points else {}
    for plugin in extra_plugins:
        try:
            name = pm.register(plugin)
        except pluggy.PluginValidationError as exc:
            raise PluginConfigurationError(f"plugin {exc.plugin!r}: {exc}") from exc
        if name is not None:
            sources[name] = f"registered {getattr(plugin, '__name__', type(plugin).__name__)}"
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginConfigurationError(f"plugin {exc.plugin!r}: {exc}") from exc

    registry = IntegrationRegistry(plugin_manager=pm, rejected=refused)
    options = plugin_options or {}
    for plugin_name, plugin in list(pm.list_name_plugin()):
        if plugin is None:
            continue
        try:
            manifest, actions = _declarations(pm, plugin)
        except Exception as exc:
            reason = f"plugin {plugin_name} was refused: {exc}"
            log.error("%s", reason)
            registry.rejected[plugin_name] = reason
            pm.unregister(plugin)
            continue
        if manifest.name in registry.integrations:
            raise PluginConfigurationError(
                f"two plugins claim the integration name {manifest.name!r}: "
                f"{registry.integrations[manifest.name].source} and {sources.get(plugin_name, plugin_name)}; "
                "block one of them with MEGADESK_PLUGINS_BLOCK"
            )
        registry.integrations[manifest.name] = LoadedIntegration(
            manifest=manifest,
            plugin=plugin,
            actions=actions,
            options=_options_for(manifest, options.get(manifest.name)),
            source=sources.get(plugin_name, plugin_name),
        )
    unknown = set(options) - set(registry.integrations)
    if unknown:
        log.warning("plugin_options names integrations that are not loaded: %s", sorted(unknown))
    return registry
