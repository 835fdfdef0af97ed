"""``expand[]`` support: dotted paths whose id values are swapped for the objects.

Works on a deep copy of a response, so the store keeps ids. ``data.`` walks list
objects (``data.latest_charge`` on a list endpoint, ``items.data.price.product`` inside a
subscription). Some fields are "includable" rather than ids (``invoice.payments``); the
``include`` callback builds those on demand.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from stripe_emulator.errors import StripeError, invalid_request
from stripe_emulator.ids import kind_of

JsonDict = dict[str, Any]
Resolver = Callable[[str], "JsonDict | None"]
Includer = Callable[[JsonDict, str], "JsonDict | None"]
Guard = Callable[[JsonDict, str], None]
"""Raises when the key may not read what expanding ``field`` of ``node`` would show."""

MAX_DEPTH = 4


def _cannot(path: str, hint: str = "") -> StripeError:
    return invalid_request(f"This property cannot be expanded ({path}).{hint}", param="expand")


def _walk(node: Any, segments: list[str], path: str, resolve: Resolver, include: Includer, guard: Guard) -> None:
    if isinstance(node, list):
        for element in node:
            _walk(element, segments, path, resolve, include, guard)
        return
    if not isinstance(node, dict):
        raise _cannot(path)
    head, rest = segments[0], segments[1:]
    guard(node, head)
    if head not in node:
        included = include(node, head)
        if included is None:
            hint = ""
            if node.get("object") in ("list", "search_result"):
                hint = f" You may want to try expanding 'data.{path}' instead."
            raise _cannot(path, hint)
        node[head] = included
    value = node[head]
    if isinstance(value, str):
        node[head] = value = _resolve(value, path, resolve)
    elif isinstance(value, list) and value and all(isinstance(v, str) for v in value) and not rest:
        node[head] = [_resolve(v, path, resolve) for v in value]
        return
    if value is None or not rest:
        if not rest and value is not None and not isinstance(value, dict):
            raise _cannot(path)
        return
    _walk(value, rest, path, resolve, include, guard)


def _resolve(object_id: str, path: str, resolve: Resolver) -> JsonDict:
    found = resolve(object_id)
    if found is not None:
        return found
    if kind_of(object_id) is None and "_" in object_id:
        raise _cannot(path, f" The emulator does not model {object_id.split('_')[0]}_ objects.")
    raise _cannot(path)


def _no_guard(node: JsonDict, field: str) -> None:
    return None


def expand(obj: JsonDict, paths: list[str], resolve: Resolver, include: Includer, guard: Guard = _no_guard) -> JsonDict:
    result = copy.deepcopy(obj)
    for path in paths:
        segments = path.split(".")
        if len(segments) > MAX_DEPTH:
            raise invalid_request(
                f"You cannot expand more than {MAX_DEPTH} levels of a property. Property: {path}",
                param="expand",
            )
        if any(not s for s in segments):
            raise _cannot(path)
        _walk(result, segments, path, resolve, include, guard)
    return result
