"""Finding, loading and checking integrations: the plugin manager factory.

Nothing happens at import time. :func:`load_integrations` builds a pluggy manager, loads the
``megadesk.integrations`` entry points that process settings allow, registers any plugins
passed in (tests), and checks each plugin alone against the rules of
:mod:`megadesk_core.declaration_rules`. A plugin that fails to import or breaks a rule is
logged and refused with a coded reason (:mod:`megadesk_core.refusals`); the host still starts.
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
from pydantic import BaseModel

from megadesk_core import hookspecs
from megadesk_core.declaration_rules import DeclarationProblem
from megadesk_core.markers import ENTRY_POINT_GROUP, PROJECT_NAME
from megadesk_core.plugin_checks import PluginRefused, declarations, process_options
from megadesk_core.refusals import PluginRefusal, refusal_from_problems, unknown_hooks
from megadesk_core.types import ActionSpec, IntegrationManifest

log = logging.getLogger(__name__)


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
    rejected: dict[str, PluginRefusal] = field(default_factory=dict)
    """Plugins left out, by integration name (entry-point name when no manifest was read)."""
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
        """Whether the integration's plugin implements ``hook`` (an optional one, say)."""
        return bool(self._caller(integration, hook).get_hookimpls())

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
        block the event loop, and the deadline around the call fires on time whether the hook is
        sync or async (a sync hook past it is abandoned; its thread finishes alone); ``async def`` ones
        are called on the loop, which saves a thread hop per call.
        """
        caller = self._caller(integration, hook)
        if self._runs_on_loop(integration, hook):
            result = caller(**kwargs)
        else:
            # Without abandon_on_cancel anyio shields the wait: an anyio deadline (the contract
            # check's) fired only when a time.sleep(30) hook returned, 30 s later.
            result = await anyio.to_thread.run_sync(lambda: caller(**kwargs), abandon_on_cancel=True)
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
    pm: pluggy.PluginManager,
    allow: frozenset[str] | None,
    block: frozenset[str],
    refused: dict[str, PluginRefusal],
) -> dict[str, str]:
    """Register the allowed entry points; returns their sources, fills ``refused`` with those
    that failed to import or to register (readiness and ``megadesk integrations list`` report them)."""
    sources: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in block or (allow is not None and ep.name not in allow):
            why = "in MEGADESK_PLUGINS_BLOCK" if ep.name in block else "not in MEGADESK_PLUGINS_ALLOW"
            log.info("plugin %s is not loaded: %s", ep.name, why)
            pm.set_blocked(ep.name)
            continue
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            # A broken third-party plugin must not take the help desk down with it.
            log.exception("plugin %s (%s) failed to import and is skipped", ep.name, ep.value)
            refused[ep.name] = PluginRefusal(
                "import-failed", f"plugin {ep.name} failed to import: {type(exc).__name__}: {exc}"
            )
            continue
        dist = ep.dist.name if ep.dist is not None else "unknown distribution"
        if _register(pm, plugin, ep.name, refused):
            sources[ep.name] = f"entry point {ep.name} = {ep.value} ({dist})"
    return sources


def _register(pm: pluggy.PluginManager, plugin: object, name: str | None, refused: dict[str, PluginRefusal]) -> bool:
    """Register one plugin, or refuse it alone: a hook argument the spec lacks, a hook that does
    not exist (with the closest hook's name)."""
    label = name or str(getattr(plugin, "__name__", type(plugin).__name__))
    try:
        registered = pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        refusal = PluginRefusal(
            "hook-signature",
            f"plugin {label} was refused: {exc}; a hook implementation may only take the spec's arguments.",
        )
    except ValueError as exc:  # the name or the object is registered already
        refusal = PluginRefusal("register", f"plugin {label} was refused: {exc}")
    else:
        if registered is None:
            return False
        unknown = unknown_hooks(pm, plugin)
        if not unknown:
            return True
        pm.unregister(plugin)
        refusal = refusal_from_problems(label, unknown)
    log.error("%s", refusal)
    refused[label] = refusal
    return False


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
    points. ``extra_plugins`` are registered directly (tests, built-ins) and go through the same
    checks. A plugin that breaks a rule (a misspelled hook or argument, a missing required hook,
    a bad manifest, an unsupported hook-API version, invalid options, a name another plugin
    claims too) is refused alone, with a coded reason in ``registry.rejected``; the host
    starts with the others (``MEGADESK_PLUGINS_REQUIRED`` with ``MEGADESK_PLUGINS_FAIL_FAST``
    turns a refusal into a failed start-up, see :mod:`megadesk_core.startup`).
    """
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    allowed = frozenset(allow) if allow is not None else None
    refused: dict[str, PluginRefusal] = {}
    sources = _load_entry_points(pm, allowed, frozenset(block), refused) if load_entry_points else {}
    for plugin in extra_plugins:
        if _register(pm, plugin, None, refused):
            name = pm.get_name(plugin)
            if name is not None:
                sources[name] = f"registered {getattr(plugin, '__name__', type(plugin).__name__)}"

    registry = IntegrationRegistry(plugin_manager=pm, rejected=refused)
    options = plugin_options or {}
    claimed: dict[str, list[str]] = {}
    for plugin_name, plugin in list(pm.list_name_plugin()):
        if plugin is None:
            continue
        try:
            manifest, actions = declarations(pm, plugin)
            loaded = LoadedIntegration(
                manifest=manifest,
                plugin=plugin,
                actions=actions,
                options=process_options(manifest, options.get(manifest.name)),
                source=sources.get(plugin_name, plugin_name),
            )
        except PluginRefused as exc:
            _refuse(registry, plugin, plugin_name, exc.problems, exc.manifest)
            continue
        except Exception as exc:  # the manifest or actions hook raised
            problem = DeclarationProblem("hook-raised", "manifest or actions", f"raised {type(exc).__name__}: {exc}")
            _refuse(registry, plugin, plugin_name, [problem], None)
            continue
        claimed.setdefault(manifest.name, []).append(loaded.source)
        if len(claimed[manifest.name]) > 1:
            # Neither is the one the operator meant for certain: refuse every claimant, name them all.
            problem = DeclarationProblem(
                "duplicate-name",
                "manifest.name",
                f"{len(claimed[manifest.name])} plugins claim the integration name {manifest.name!r}: "
                f"{'; '.join(claimed[manifest.name])}; block all but one with MEGADESK_PLUGINS_BLOCK.",
            )
            if (first := registry.integrations.pop(manifest.name, None)) is not None:
                pm.unregister(first.plugin)
            _refuse(registry, plugin, plugin_name, [problem], manifest)
            continue
        registry.integrations[manifest.name] = loaded
    unknown = set(options) - set(registry.integrations) - set(registry.rejected)
    if unknown:
        log.warning("plugin_options names integrations that are not loaded: %s", sorted(unknown))
    return registry


def _refuse(
    registry: IntegrationRegistry,
    plugin: object,
    plugin_name: str,
    problems: list[DeclarationProblem],
    manifest: IntegrationManifest | None,
) -> None:
    """Leave the plugin out, keyed by its integration name when its manifest says it (what
    tenants enabled), else by its entry-point name (what operators allow and block)."""
    key = manifest.name if manifest is not None else plugin_name
    refusal = refusal_from_problems(key, problems, manifest.title if manifest is not None else None)
    log.error("%s", refusal)
    registry.rejected[key] = refusal
    if registry.plugin_manager.is_registered(plugin):
        registry.plugin_manager.unregister(plugin)
