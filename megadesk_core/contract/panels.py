"""Checks of a returned panel: the schema the host serves, action buttons, the verified label, secrets."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from megadesk_core.contract.findings import Findings, leaks
from megadesk_core.panel import PANEL_SCHEMA_VERSION, ActionButton, ActionsBlock, Block, Panel, TableBlock
from megadesk_core.types import ActionSpec, ResolvedCustomer


def _block_types() -> dict[str, str]:
    members = typing.get_args(typing.get_args(Block)[0])
    return {m.model_fields["type"].default: m.__name__ for m in members}


def _schema_problems(document: dict[str, Any], where: str, found: Findings, *, json_schema: bool = True) -> list[str]:
    """Unknown block types, then (``json_schema``) the published JSON Schema; returns the block
    paths already reported."""
    try:
        import jsonschema  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:  # pragma: no cover - the testing extra brings it
        raise RuntimeError("the contract check needs jsonschema: pip install 'megadesk-core[testing]'") from exc
    from megadesk_core.panel import panel_json_schema

    known = _block_types()
    reported: list[str] = []
    blocks = document["panels"][0].get("blocks")
    for index, block in enumerate(blocks if isinstance(blocks, list) else []):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in known:
            reported.append(f"blocks/{index}")
            found.error(
                "unknown-block",
                f"{where} blocks[{index}]",
                f"block type {kind!r} is not in panel schema version {PANEL_SCHEMA_VERSION}; this host draws "
                f"{', '.join(sorted(known))}.",
            )
    if not json_schema:
        return reported
    validator = jsonschema.Draft202012Validator(panel_json_schema())
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path))):
        path = "/".join(str(p) for p in list(error.path)[2:])
        if _within(path, reported):
            continue
        detail = jsonschema.exceptions.best_match(error.context) if error.context else error
        deeper = "/".join(str(p) for p in list(detail.path)[2:]) or path or "(panel)"
        found.error("panel-schema", where, f"{deeper}: {detail.message} (panel JSON Schema)")
    return reported


def _within(path: str, reported: Sequence[str]) -> bool:
    """Whether ``path`` is one of the ``reported`` block paths or inside one."""
    return any(path == r or path.startswith(r + "/") for r in reported)


def _path(loc: tuple[int | str, ...]) -> str:
    # pydantic puts a tagged union's tag in the location (blocks/0/links/links/0): drop it.
    parts = [p for i, p in enumerate(loc) if not (i >= 2 and loc[i - 2] == "blocks" and isinstance(loc[i - 1], int))]
    return "/".join(map(str, parts))


def _buttons(panel: Panel) -> Iterable[ActionButton]:
    for block in panel.blocks:
        if isinstance(block, ActionsBlock):
            yield from block.buttons
        elif isinstance(block, TableBlock):
            for row in block.rows:
                yield from row.actions


def check_panel(
    result: object,
    name: str,
    where: str,
    specs: Mapping[str, ActionSpec],
    customer: ResolvedCustomer | None,
    secrets: Sequence[str],
    found: Findings,
) -> Panel | None:
    if isinstance(result, Panel):
        raw: object = result.model_dump(mode="json", warnings=False)
    else:
        raw = result
    if not isinstance(raw, dict):
        found.error("panel-type", where, f"sidebar_panel returned {type(result).__name__}; return a Panel.")
        return None
    document = {"ticket_id": "contract", "panels": [{"integration": name, "status": "ok", **raw}]}
    try:
        panel = Panel.model_validate(raw)
    except ValidationError as exc:
        # pydantic names the failing field precisely; JSON Schema's oneOf errors do not.
        reported = _schema_problems(document, where, found, json_schema=False)
        for err in exc.errors(include_url=False, include_input=False):
            loc = _path(err["loc"])
            if not _within(loc, reported):
                found.error("panel-schema", where, f"{loc}: {err['msg']}")
        return None
    _schema_problems(document, where, found)
    for button in _buttons(panel):
        spec = specs.get(button.action)
        if spec is None:
            found.error(
                "unknown-action-button",
                where,
                f"a button runs action {button.action!r}, which the actions hook does not declare "
                f"(declared: {', '.join(specs) or 'none'}); the host would answer 404.",
            )
            continue
        unknown = set(button.prefill) - set(spec.payload_model.model_fields)
        if unknown:
            found.error(
                "button-prefill",
                where,
                f"the {button.action!r} button pre-fills {sorted(unknown)}, which {spec.payload_model.__name__} "
                "does not have.",
            )
    if customer is not None and not customer.verified and panel.verified is True:
        found.error(
            "panel-claims-verified",
            where,
            "the panel says verified=True for a customer resolve_customer matched without verification; "
            "use verified=customer.verified so agents see the 'not verified' label.",
        )
    if leaks(json.dumps(raw, default=str), secrets):
        found.error("secret-in-panel", where, "the panel contains a secret from the settings; never show secrets.")
    return panel
