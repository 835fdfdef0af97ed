"""The sidebar preview page: the tenant's tickets and, for one ticket, the sidebar as an agent sees it.

``GET /preview`` serves a static page; its scripts (``/preview/static/``, from
``megadesk_core/static/``) call the agent API with a bearer token the agent pastes or passes in
the URL fragment (``/preview#token=mdk_...``), which browsers never send to the server. The
page draws panels with ``sidebar-renderer.js``, the renderer Megadesk embeds (docs/renderer.md),
from the generic block schema only, so a new integration needs no new UI code. Panel text comes
from plugins and customers: the scripts build the DOM with ``textContent`` only, and the policy
below forbids inline script, so injected markup is inert.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from litestar import MediaType, Response, Router, get
from litestar.datastructures import CacheControlHeader, ResponseHeader
from litestar.static_files import create_static_files_router

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

# On every preview response, page and assets alike. no-referrer: a token must never leak
# through a Referer header when the agent follows a link out of a panel.
_SECURITY_HEADERS = [
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ResponseHeader(name="Referrer-Policy", value="no-referrer"),
]


def _with_security_headers(response: Response[Any]) -> Response[Any]:
    # Router-level response headers do not reach static file responses.
    for header in _SECURITY_HEADERS:
        response.headers.setdefault(header.name, header.value or "")
    return response


@cache
def _page() -> bytes:
    return (STATIC_DIR / "preview.html").read_bytes()


@get("/", name="preview_page", media_type=MediaType.HTML, include_in_schema=False, sync_to_thread=False)
def preview_page() -> Response[bytes]:
    """The page itself; everything it shows comes from the agent API."""
    return Response(
        _page(),
        media_type=MediaType.HTML,
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-store",
        },
    )


preview_static_files = create_static_files_router(
    path="/static",
    directories=[STATIC_DIR],
    name="preview_static",
    # Revalidate every time (ETag/Last-Modified): a deploy never leaves an old script running.
    cache_control=CacheControlHeader(no_cache=True),
    after_request=_with_security_headers,
    include_in_schema=False,
)

preview_router = Router(
    path="/preview",
    route_handlers=[preview_page, preview_static_files],
    response_headers=_SECURITY_HEADERS,
    include_in_schema=False,
)
"""Mount with ``create_app(..., extra_route_handlers=[preview_router])`` or in ``route_handlers``."""
