"""A subset of Stripe's search query language.

Supported: clauses ``field:'value'`` (exact, case-insensitive), ``field~'value'``
(substring, at least 3 characters), ``field>N`` / ``<`` / ``>=`` / ``<=`` on numbers,
``metadata['key']:'value'``, ``field:null``, negation with a leading ``-``, and clauses
joined by all-``AND`` or all-``OR`` (Stripe forbids mixing them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stripe_emulator.errors import StripeError, invalid_request

JsonDict = dict[str, Any]
Predicate = Callable[[JsonDict], bool]

_CLAUSE = re.compile(
    r"""\s*(?P<neg>-)?
    (?P<field>[a-z_]+(?:\[(?:'[^']*'|"[^"]*")\])?)
    \s*(?P<op>:|~|>=|<=|>|<)\s*
    (?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|-?\d+|null)\s*""",
    re.VERBOSE,
)
_JOINER = re.compile(r"\s*(AND|OR)\s+")


@dataclass(frozen=True)
class Clause:
    negate: bool
    field: str
    metadata_key: str | None
    op: str
    value: str | int | None


def _invalid(query: str, detail: str) -> StripeError:
    return invalid_request(f"Invalid search query '{query}': {detail}", param="query")


def _parse_value(raw: str) -> str | int | None:
    if raw == "null":
        return None
    if raw[0] in "'\"":
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return int(raw)


def parse(query: str, fields: Mapping[str, str]) -> tuple[list[Clause], str]:
    """Clauses and their joiner (``AND``/``OR``); ``fields`` maps name -> "string"|"number"|"metadata"."""
    position = 0
    clauses: list[Clause] = []
    joiners: set[str] = set()
    while True:
        match = _CLAUSE.match(query, position)
        if match is None:
            raise _invalid(query, f"could not parse at position {position}")
        name = match.group("field")
        metadata_key = None
        if "[" in name:
            name, _, key = name.partition("[")
            metadata_key = key[1:-2]
        kind = fields.get(name)
        if kind is None:
            raise _invalid(query, f"'{name}' is not a searchable field")
        if (kind == "metadata") != (metadata_key is not None):
            raise _invalid(query, f"'{name}' must be written as metadata['key']")
        value = _parse_value(match.group("value"))
        op = match.group("op")
        if op == "~" and (not isinstance(value, str) or len(value) < 3):
            raise _invalid(query, "substring matches (~) need at least 3 characters")
        if op in "<>=" and kind != "number":
            raise _invalid(query, f"'{name}' cannot be compared with {op}")
        clauses.append(Clause(bool(match.group("neg")), name, metadata_key, op, value))
        position = match.end()
        if position >= len(query):
            break
        joiner = _JOINER.match(query, position)
        if joiner is None:
            raise _invalid(query, f"expected AND or OR at position {position}")
        joiners.add(joiner.group(1))
        position = joiner.end()
    if len(joiners) > 1:
        raise _invalid(query, "AND and OR cannot be combined in one query")
    if len(clauses) > 10:
        raise _invalid(query, "a query can have at most 10 clauses")
    return clauses, joiners.pop() if joiners else "AND"


def _matches(obj: JsonDict, clause: Clause) -> bool:
    actual = obj.get(clause.field)
    if clause.metadata_key is not None:
        actual = (actual or {}).get(clause.metadata_key)
    expected = clause.value
    if expected is None:
        result = actual is None
    elif clause.op == ":":
        result = actual is not None and str(actual).lower() == str(expected).lower()
    elif clause.op == "~":
        result = actual is not None and str(expected).lower() in str(actual).lower()
    elif not isinstance(actual, int) or not isinstance(expected, int):
        result = False
    else:
        result = {
            ">": actual > expected,
            "<": actual < expected,
            ">=": actual >= expected,
            "<=": actual <= expected,
        }[clause.op]
    return result != clause.negate


def predicate(query: str, fields: Mapping[str, str]) -> Predicate:
    clauses, joiner = parse(query.strip(), fields)
    if joiner == "OR":
        return lambda obj: any(_matches(obj, c) for c in clauses)
    return lambda obj: all(_matches(obj, c) for c in clauses)
