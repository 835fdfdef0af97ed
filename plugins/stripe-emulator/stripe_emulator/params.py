"""Declared request parameters: unknown-name rejection and type coercion like Stripe's.

Each endpoint declares an :class:`Obj` spec. :func:`validate` walks the decoded form,
refuses names the spec doesn't know (``Received unknown parameter: card[foo]``) and turns
strings into ints/bools. An empty string is Stripe's way to unset a field; it comes back
as ``None`` (for ``metadata`` it means "clear all").
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from stripe_emulator.errors import (
    invalid_boolean,
    invalid_choice,
    invalid_integer,
    invalid_request,
    missing_parameter,
    unknown_parameter,
)


class Kind(enum.Enum):
    STR = "string"
    INT = "integer"
    BOOL = "boolean"
    METADATA = "metadata"
    RANGE = "range"  # ``created=123`` or ``created[gte]=123``


@dataclass(frozen=True)
class Choice:
    choices: tuple[str, ...]


@dataclass(frozen=True)
class ListOf:
    item: Spec


@dataclass(frozen=True)
class Obj:
    fields: Mapping[str, Spec] = field(default_factory=dict)

    def extend(self, **more: Spec) -> Obj:
        return Obj({**self.fields, **more})


Spec: TypeAlias = Kind | Choice | ListOf | Obj

STR, INT, BOOL, METADATA, RANGE = Kind.STR, Kind.INT, Kind.BOOL, Kind.METADATA, Kind.RANGE

EXPAND = ListOf(STR)
LIST_PARAMS: dict[str, Spec] = {
    "limit": INT,
    "starting_after": STR,
    "ending_before": STR,
    "created": RANGE,
}
_RANGE_KEYS = ("gt", "gte", "lt", "lte")


def _name(prefix: str, key: str | int) -> str:
    return f"{prefix}[{key}]" if prefix else str(key)


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    raise invalid_integer(name, value)


def _coerce(value: Any, spec: Spec, name: str) -> Any:
    if isinstance(spec, Obj):
        if value == "":
            return None
        if not isinstance(value, dict):
            raise invalid_request(f"Invalid object: {name} must be a hash.", param=name)
        return validate(value, spec, name)
    if isinstance(spec, ListOf):
        if value == "":
            return []
        if isinstance(value, str):
            value = [value]
        if isinstance(value, dict):
            raise invalid_request(f"Invalid array: {name} must be an array.", param=name)
        return [_coerce(item, spec.item, _name(name, i)) for i, item in enumerate(value)]
    if isinstance(spec, Choice):
        if value == "":
            return None
        if value not in spec.choices:
            raise invalid_choice(name, list(spec.choices))
        return value
    if spec is Kind.METADATA:
        if value == "":
            return None
        if not isinstance(value, dict) or any(not isinstance(v, str) for v in value.values()):
            raise invalid_request(f"Invalid hash: {name} must be a hash of strings.", param=name)
        return dict(value)
    if spec is Kind.RANGE:
        if isinstance(value, dict):
            for key in value:
                if key not in _RANGE_KEYS:
                    raise unknown_parameter(_name(name, key))
            return {k: _as_int(v, _name(name, k)) for k, v in value.items()}
        return {"eq": _as_int(value, name)}
    if not isinstance(value, str):
        raise invalid_request(f"Invalid {spec.value}: {name} must be a single value.", param=name)
    if value == "":
        return None
    if spec is Kind.INT:
        return _as_int(value, name)
    if spec is Kind.BOOL:
        if value in ("true", "false"):
            return value == "true"
        raise invalid_boolean(name, value)
    return value


def validate(raw: Mapping[str, Any], spec: Obj, prefix: str = "") -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in raw.items():
        name = _name(prefix, key)
        if key not in spec.fields:
            raise unknown_parameter(name)
        clean[key] = _coerce(value, spec.fields[key], name)
    return clean


def require(params: Mapping[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None or value == []:
        raise missing_parameter(name)
    return value


def in_range(value: int, bounds: Mapping[str, int] | None) -> bool:
    if not bounds:
        return True
    checks = {
        "eq": value == bounds.get("eq", value),
        "gt": value > bounds.get("gt", value - 1),
        "gte": value >= bounds.get("gte", value),
        "lt": value < bounds.get("lt", value + 1),
        "lte": value <= bounds.get("lte", value),
    }
    return all(checks.values())
