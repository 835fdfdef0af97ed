"""Decoding Stripe's bracketed form encoding into nested dicts and lists.

stripe-python sends ``items[0][price]=price_x``, ``expand[0]=latest_charge`` and
``metadata[plan]=pro``; curl users send ``expand[]=latest_charge``. Both become
``{"items": [{"price": "price_x"}], "expand": ["latest_charge"], "metadata": {...}}``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from stripe_emulator.errors import invalid_request

_SEGMENTS = re.compile(r"\[([^\[\]]*)\]")
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")

# Hash-valued parameters whose keys are user data: never turned into lists even when
# every key is numeric (``metadata[0]=x`` stays a dict).
_FREE_FORM = frozenset({"metadata"})


def _split(key: str) -> list[str]:
    match = _KEY.match(key)
    if match is None:
        return [key]
    return [match.group(1), *_SEGMENTS.findall(match.group(2))]


def _insert(root: dict[str, Any], path: list[str], value: str, raw_key: str) -> None:
    node: dict[str, Any] = root
    for position, segment in enumerate(path):
        last = position == len(path) - 1
        if segment == "":
            # An empty bracket appends; a following sub-key joins the newest element
            # unless that element already has it (Rack's rule, which curl users expect).
            index = sum(1 for k in node if k.isdigit())
            if not last:
                following = path[position + 1]
                previous = node.get(str(index - 1))
                if isinstance(previous, dict) and following not in previous:
                    index -= 1
            segment = str(index)
        if last:
            if isinstance(node.get(segment), dict):
                raise invalid_request(f"Invalid hash: {raw_key} mixes a value and a hash.")
            node[segment] = value
            return
        child = node.setdefault(segment, {})
        if not isinstance(child, dict):
            raise invalid_request(f"Invalid hash: {raw_key} mixes a value and a hash.")
        node = child


def _listify(node: Any, key: str | None = None) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v, k) for k, v in node.items()}
    if key not in _FREE_FORM and converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def decode_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        _insert(root, _split(key), value, key)
    return {key: _listify(value, key) for key, value in root.items()}


def decode(body: bytes | str) -> dict[str, Any]:
    """Decode an ``application/x-www-form-urlencoded`` body or query string."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    return decode_pairs(parse_qsl(text, keep_blank_values=True))
