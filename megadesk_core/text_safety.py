"""NUL characters: PostgreSQL text and jsonb cannot hold them, so a request that carries one is
refused with a 422 naming the field, and text the host itself stores (audit rows) is cleaned."""

from __future__ import annotations

from typing import Any

NUL = "\x00"
NUL_MESSAGE = "must not contain NUL characters"


def strip_nul(text: str | None) -> str | None:
    """``text`` without NUL characters, for what the host writes whatever the request held."""
    return text.replace(NUL, "") if text is not None and NUL in text else text


def nul_fields(value: Any, path: str = "") -> list[str]:
    """The dotted paths of every key or string value in ``value`` (JSON data) holding a NUL."""
    found: list[str] = []
    if isinstance(value, str):
        if NUL in value:
            found.append(path or "(body)")
    elif isinstance(value, dict):
        for key, item in value.items():
            name = str(key)
            child = f"{path}.{name}" if path else name
            if NUL in name:
                found.append(strip_nul(child) or "(body)")
            else:
                found.extend(nul_fields(item, child))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found.extend(nul_fields(item, f"{path}.{index}" if path else str(index)))
    return found


def nul_errors(value: Any, path: str = "") -> list[dict[str, Any]]:
    """``[{"field", "message"}]`` for every NUL in ``value``, the form of the API's field errors."""
    return [{"field": field, "message": NUL_MESSAGE} for field in nul_fields(value, path)]
