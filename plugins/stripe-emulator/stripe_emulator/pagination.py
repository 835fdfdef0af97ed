"""List objects and search results with Stripe's cursor pagination."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from stripe_emulator.errors import invalid_request, no_such
from stripe_emulator.params import in_range
from stripe_emulator.store import Store

JsonDict = dict[str, Any]

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def _limit(params: Mapping[str, Any]) -> int:
    limit = params.get("limit")
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= int(limit) <= MAX_LIMIT:
        raise invalid_request(f"Invalid limit: must be between 1 and {MAX_LIMIT}", param="limit")
    return int(limit)


def _cursor(store: Store, kind: str, object_id: str, param: str) -> tuple[int, int]:
    found = store.get(object_id)
    if found is None or found.get("object") != kind:
        raise no_such(kind, object_id, param)
    return store.sort_key(found)


def list_object(
    store: Store,
    kind: str,
    items: list[JsonDict],
    params: Mapping[str, Any],
    url: str,
) -> JsonDict:
    """One page of ``items`` (already filtered, newest first) as a Stripe list object."""
    limit = _limit(params)
    items = [o for o in items if in_range(int(o.get("created") or 0), params.get("created"))]
    if params.get("starting_after"):
        cursor = _cursor(store, kind, params["starting_after"], "starting_after")
        after = [o for o in items if store.sort_key(o) < cursor]
        page, has_more = after[:limit], len(after) > limit
    elif params.get("ending_before"):
        cursor = _cursor(store, kind, params["ending_before"], "ending_before")
        before = [o for o in items if store.sort_key(o) > cursor]
        page, has_more = before[-limit:], len(before) > limit
    else:
        page, has_more = items[:limit], len(items) > limit
    return {"object": "list", "data": page, "has_more": has_more, "url": url}


def _decode_page(token: str) -> int:
    try:
        offset = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("offset:"))
    except ValueError:
        offset = -1
    if offset < 0:
        raise invalid_request("Invalid page: the token is not one this API returned.", param="page")
    return offset


def search_result(items: list[JsonDict], params: Mapping[str, Any], url: str) -> JsonDict:
    limit = _limit(params)
    offset = _decode_page(params["page"]) if params.get("page") else 0
    page = items[offset : offset + limit]
    has_more = len(items) > offset + limit
    next_page = base64.urlsafe_b64encode(f"offset:{offset + limit}".encode()).decode() if has_more else None
    return {
        "object": "search_result",
        "data": page,
        "has_more": has_more,
        "next_page": next_page,
        "url": url,
    }
