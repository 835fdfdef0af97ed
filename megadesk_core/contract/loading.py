"""Finding the plugin to check (a registry's, an entry point's, or an object) and having the host load it."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

import pluggy

from megadesk_core import hookspecs
from megadesk_core.contract.declarations import check_declarations
from megadesk_core.contract.findings import Findings, describe, plugin_root
from megadesk_core.markers import ENTRY_POINT_GROUP, PROJECT_NAME
from megadesk_core.plugins import IntegrationRegistry, load_integrations


def _plugin_manager_for(plugin: object, found: Findings) -> pluggy.PluginManager | None:
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


def load_target(
    target: object, integration: str | None, options: Mapping[str, Any] | None, found: Findings
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
            refusal = target.rejected.get(integration)
            found.error(
                "not-loaded",
                "registry",
                str(refusal)
                if refusal is not None
                else f"the registry has no integration {integration!r} (it holds {', '.join(names) or 'none'}).",
            )
            return None, None, integration
        found.plugin_root = plugin_root(loaded.plugin)
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
                "import-failed", f"entry point {points[0].name}", f"{points[0].value} fails to import: {describe(exc)}"
            )
            return None, None, label
    found.plugin_root = plugin_root(target)
    pm = _plugin_manager_for(target, found)
    if pm is None:
        return target, None, label
    manifest, _ = check_declarations(pm, target, found)
    if manifest is not None and isinstance(entry_point, str) and entry_point != manifest.name:
        found.warn(
            "entry-point-name",
            f"entry point {entry_point}",
            f"the entry point is named {entry_point!r} but the integration {manifest.name!r}; operators allow and "
            "block plugins by entry-point name, so use the same word for both.",
        )
    if manifest is None or found.has_errors:
        return target, None, manifest.name if manifest else label
    registry = load_integrations(
        extra_plugins=[target], load_entry_points=False, plugin_options={manifest.name: dict(options or {})}
    )
    if manifest.name not in registry.integrations:
        for refusal in registry.rejected.values():
            found.error(refusal.code, "host", refusal.reason)
        return target, None, manifest.name
    return target, registry, manifest.name
