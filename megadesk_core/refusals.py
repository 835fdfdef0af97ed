"""Why the host refused a plugin: a stable code and a message that says what to fix.

A refused plugin is left out alone; the host starts with the others. ``megadesk integrations
list`` prints each refusal, ``/readyz`` counts it, and the tenants that enabled the integration
see an error panel naming it (:func:`refused_panel`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pluggy

from megadesk_core.declaration_rules import DeclarationProblem, unknown_hook_problem
from megadesk_core.panel import PanelError, SidebarPanel

REFUSED_PANEL_CODE = "plugin_refused"


@dataclass(frozen=True)
class PluginRefusal:
    """One plugin the host did not load.

    ``code`` is the first broken rule's code (the contract check's codes: ``unknown-hook``,
    ``hook-signature``, ``missing-hook``, ``hook-api-version``, ``bad-options``,
    ``import-failed``, ``duplicate-name``...); ``reason`` names the plugin and every problem.
    """

    code: str
    reason: str
    title: str | None = None
    """The integration's title, when its manifest could be read."""

    def __str__(self) -> str:
        return f"[{self.code}] {self.reason}"


def refusal_from_problems(
    plugin: str, problems: Iterable[DeclarationProblem], title: str | None = None
) -> PluginRefusal:
    found = list(problems)
    listed = "; ".join(f"{p.where}: {p.message}" for p in found)
    return PluginRefusal(found[0].code, f"plugin {plugin} was refused: {listed}", title)


def unknown_hooks(pm: pluggy.PluginManager, plugin: object) -> list[DeclarationProblem]:
    """The plugin's hook implementations that match no hook spec (what ``check_pending`` would
    raise for, but for this plugin alone and with the closest hook name)."""
    return [
        unknown_hook_problem(caller.name)
        for caller in pm.get_hookcallers(plugin) or []
        if caller.spec is None
        for impl in caller.get_hookimpls()
        if impl.plugin is plugin and not impl.optionalhook
    ]


def refused_panel(integration: str, refusal: PluginRefusal) -> SidebarPanel:
    """What a tenant that enabled a refused integration sees in its place. The reason may name
    files and packages, so agents get the code and where to look; operators get the rest."""
    title = refusal.title or integration
    return SidebarPanel(
        integration=integration,
        title=title,
        status="error",
        error=PanelError(
            code=REFUSED_PANEL_CODE,
            message=f"{title} is not available: this server refused to load the {integration!r} plugin "
            f"({refusal.code}). An administrator can see why with 'megadesk integrations list'.",
        ),
    )
