"""Megadesk integration host.

Megadesk loads integrations (plugins) that add panels and actions to the ticket sidebar.
A plugin is a Python distribution that declares an entry point in the
``megadesk.integrations`` group and implements the hooks in :mod:`megadesk_core.hookspecs`::

    # pyproject.toml
    [project.entry-points."megadesk.integrations"]
    acme = "megadesk_acme.plugin"

    # megadesk_acme/plugin.py
    from megadesk_core import hookimpl
    from megadesk_core.types import IntegrationManifest, Panel

    @hookimpl
    def manifest() -> IntegrationManifest:
        return IntegrationManifest(name="acme", title="Acme", settings_model=AcmeSettings)

See ``docs/writing-a-plugin.md`` for the whole walk-through.
"""

from __future__ import annotations

from megadesk_core.markers import hookimpl, hookspec

__all__ = ["hookimpl", "hookspec"]
