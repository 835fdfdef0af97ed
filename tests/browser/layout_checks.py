"""Checks of a rendered page that hold at every width: no sideways scrolling, usable buttons, axe.

axe-core comes from the ``axe-playwright-python`` package (the ``dev`` extra), which bundles
``axe.min.js``. It is evaluated in the page through Playwright (the DevTools protocol), which the
page's Content-Security-Policy does not govern, so the policy stays as strict as in production.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

# WCAG 2.0, 2.1 and 2.2, levels A and AA.
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@cache
def axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2 A/AA violations on the page as it is now, one line per rule and element."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    options = {"runOnly": {"type": "tag", "values": WCAG_A_AA}, "resultTypes": ["violations"]}
    results: dict[str, Any] = page.evaluate("options => axe.run(document, options)", options)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at {node['target']}"
        for violation in results["violations"]
        for node in violation["nodes"]
    ]


def horizontal_overflow(page: Page) -> int:
    """How many pixels the document is wider than the viewport (0 when it does not scroll sideways)."""
    overflow: int = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return max(overflow, 0)


def unusable_buttons(page: Page, buttons: Locator) -> list[str]:
    """The buttons that, scrolled to, are not wholly in the viewport or are covered by something else."""
    width: int = page.evaluate("window.innerWidth")
    problems = []
    for index in range(buttons.count()):
        button = buttons.nth(index)
        button.scroll_into_view_if_needed()
        box = button.bounding_box()
        label = button.inner_text()
        if box is None or box["width"] < 1 or box["height"] < 1:
            problems.append(f"{label!r} is not rendered")
            continue
        if box["x"] < 0 or box["x"] + box["width"] > width:
            problems.append(f"{label!r} is cut off: x={box['x']:.0f}, width={box['width']:.0f}, viewport {width}")
            continue
        on_top = button.evaluate(
            "b => { const r = b.getBoundingClientRect();"
            " const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);"
            " return hit !== null && b.contains(hit); }"
        )
        if not on_top:
            problems.append(f"{label!r} is covered by another element")
    return problems


def focus_is_inside(page: Page, selector: str) -> bool:
    inside: bool = page.evaluate("s => document.activeElement?.closest(s) != null", selector)
    return inside


def in_viewport(page: Page, locator: Locator) -> bool:
    box = locator.bounding_box()
    size: dict[str, int] = page.evaluate("({ width: innerWidth, height: innerHeight })")
    return (
        box is not None
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size["width"]
        and box["y"] + box["height"] <= size["height"]
    )
