"""The process's outbound layer, for code that has no context to take it from.

``check_settings`` receives the settings and options only: a plugin gets a labelled layer there
with :func:`process_http`. The app installs its :class:`OutboundHTTP` when it is built
(:func:`install`); until then (a script, a unit test) the safe default policy applies.
"""

from __future__ import annotations

from megadesk_core.outbound.client import IntegrationHTTP, OutboundHTTP, Purpose

_installed: OutboundHTTP | None = None


def install(outbound: OutboundHTTP | None) -> None:
    """Make ``outbound`` the process's layer (the app does this once, when it is built);
    ``None`` goes back to the default (a test, after its app)."""
    global _installed
    _installed = outbound


def process_outbound() -> OutboundHTTP:
    """The installed layer, or one with the default policy (private hosts refused, https only)."""
    global _installed
    if _installed is None:
        _installed = OutboundHTTP()
    return _installed


def process_http(integration: str, *, tenant_id: str | None = None, purpose: Purpose = "settings") -> IntegrationHTTP:
    """The process's layer labelled for ``integration`` (and ``tenant_id`` when known)."""
    return process_outbound().for_integration(integration, tenant_id=tenant_id, purpose=purpose)
