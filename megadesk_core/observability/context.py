"""What the current request is: its id, its tenant, and the integration and action at work.

Log lines (:mod:`~megadesk_core.observability.logs`), audit rows and metrics read it from here,
so no function has to pass a request id along. Context variables: every task and worker thread
started for a request (the sidebar's concurrent panels, sync hooks in threads) sees its
request's values, and the concurrent panels each see their own integration.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

REQUEST_ID_HEADER = "x-request-id"
MAX_REQUEST_ID_LENGTH = 128
_SANE_REQUEST_ID = re.compile(rf"[A-Za-z0-9._:+/=-]{{1,{MAX_REQUEST_ID_LENGTH}}}")
"""What a proxy's or a client's id may look like (UUIDs, hex, base64, trace ids): nothing that
could break a log line or a header, and short enough for the audit column."""


@dataclass
class RequestInfo:
    """One request. Mutable on purpose: the tenant becomes known after authentication, in a
    dependency that may run in a child task; every task of the request shares this object."""

    request_id: str
    tenant: str | None = None


_request: ContextVar[RequestInfo | None] = ContextVar("megadesk_request", default=None)
_integration: ContextVar[str | None] = ContextVar("megadesk_integration", default=None)
_action: ContextVar[str | None] = ContextVar("megadesk_action", default=None)


def request_id_from(header: str | None) -> str:
    """The caller's ``X-Request-ID`` if it is sane, else a new one (32 hex characters)."""
    if header is not None and _SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


@contextmanager
def request_scope(request_id: str) -> Iterator[RequestInfo]:
    """Everything inside runs as request ``request_id``."""
    info = RequestInfo(request_id)
    token = _request.set(info)
    try:
        yield info
    finally:
        _request.reset(token)


def current_request() -> RequestInfo | None:
    return _request.get()


def current_request_id() -> str | None:
    info = _request.get()
    return info.request_id if info is not None else None


def current_tenant() -> str | None:
    info = _request.get()
    return info.tenant if info is not None else None


def bind_tenant(slug: str) -> None:
    """Say which tenant the current request works for (after its token is checked)."""
    info = _request.get()
    if info is not None:
        info.tenant = slug


@contextmanager
def integration_scope(integration: str, action: str | None = None) -> Iterator[None]:
    """Everything inside works for ``integration`` (and ``action``)."""
    integration_token = _integration.set(integration)
    action_token = _action.set(action)
    try:
        yield
    finally:
        _action.reset(action_token)
        _integration.reset(integration_token)


def current_integration() -> str | None:
    return _integration.get()


def log_fields() -> dict[str, str]:
    """The fields a log line carries, those that apply now."""
    fields: dict[str, str] = {}
    info = _request.get()
    if info is not None:
        fields["request_id"] = info.request_id
        if info.tenant is not None:
            fields["tenant"] = info.tenant
    if (integration := _integration.get()) is not None:
        fields["integration"] = integration
    if (action := _action.get()) is not None:
        fields["action"] = action
    return fields
