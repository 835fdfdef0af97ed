"""Reading Stripe panels in tests: find blocks, rows and their buttons."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


def blocks(panel: Json, kind: str) -> list[Json]:
    return [b for b in panel["blocks"] if b["type"] == kind]


def table(panel: Json, title_start: str) -> Json:
    return next(b for b in blocks(panel, "table") if (b.get("title") or "").startswith(title_start))


def row(panel: Json, title_start: str, row_id: str) -> Json:
    return next(r for r in table(panel, title_start)["rows"] if r["id"] == row_id)


def status_of(panel: Json, title_start: str, row_id: str) -> str:
    text: str = row(panel, title_start, row_id)["cells"]["status"]["text"]
    return text


def buttons(panel: Json, title_start: str, row_id: str) -> list[str]:
    return [a["action"] for a in row(panel, title_start, row_id)["actions"]]


def values(panel: Json, title: str = "Customer") -> dict[str, str | None]:
    block = next(b for b in blocks(panel, "key_value") if b.get("title") == title)
    return {item["label"]: item["value"] for item in block["items"]}


def notices(panel: Json) -> list[str]:
    return [b["title"] for b in blocks(panel, "notice")]
