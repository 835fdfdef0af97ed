"""The sidebar renderer as Megadesk's front end embeds it (docs/renderer.md): imported as a
module from the host, fed sidebar JSON, answering with callbacks. No agent API is involved.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from browser_support import LiveServer, live_settings
from litestar import Litestar

from megadesk_core.app import create_app
from megadesk_core.panel import PANEL_SCHEMA_VERSION
from megadesk_core.plugins import load_integrations

if TYPE_CHECKING:
    from playwright.sync_api import Page

try:
    from playwright.sync_api import expect
except ImportError:  # the chromium_path fixture skips or fails the tests
    expect = None  # type: ignore[assignment]

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("chromium_path")]

RENDERER = Path(__file__).resolve().parents[2] / "megadesk_core" / "static" / "sidebar-renderer.js"

# What an embedding page does, run in the page (its CSP allows same-origin module imports).
EMBED = """async ({ sidebar }) => {
  const renderer = await import("/preview/static/sidebar-renderer.js");
  window.events = [];
  const root = document.createElement("div");
  root.id = "embedded";
  document.body.replaceChildren(root);
  renderer.renderSidebar(root, sidebar, {
    onAction: (panel, button, element) => events.push(["action", panel.integration, button.action, element.tagName]),
    onSelect: (panel, value) => events.push(["select", panel.integration, value]),
    onReload: (panel) => events.push(["reload", panel.integration]),
    onMore: (panel, block) => events.push(["more", panel.integration, block.title, block.next_page.cursor]),
  });
  window.renderer = renderer;
  return renderer.PANEL_SCHEMA_VERSION;
}"""


def panel(integration: str, **fields: Any) -> dict[str, Any]:
    return {"schema_version": 1, "integration": integration, "title": integration.title(), "status": "ok", **fields}


SIDEBAR = {
    "schema_version": 1,
    "ticket_id": "T-1",
    "panels": [
        panel(
            "billing",
            verified=False,
            verification_note="2 accounts share this email",
            a_field_from_a_newer_host=True,
            blocks=[
                {
                    "type": "table",
                    "title": "Payments",
                    "columns": [{"key": "amount", "label": "Amount", "align": "end"}],
                    "rows": [
                        {
                            "id": "pay_1",
                            "cells": {"amount": {"text": "$5.00"}},
                            "actions": [{"action": "refund", "label": "Refund", "target": "pay_1", "prefill": {}}],
                        }
                    ],
                },
                {
                    "type": "choice",
                    "label": "Which account?",
                    "options": [{"value": "a", "label": "A", "selected": True}, {"value": "b", "label": "B"}],
                },
                {"type": "a_block_from_a_newer_host"},
            ],
        ),
        panel("crm", verified=True, blocks=[{"type": "badges", "badges": [{"label": "VIP", "tone": "success"}]}]),
    ],
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    settings = live_settings(tmp_path_factory.mktemp("renderer"))
    return create_app(settings, registry=load_integrations(allow=[], load_entry_points=False))


@pytest.fixture(scope="module")
def server(live_app_server, app: Litestar) -> LiveServer:
    return live_app_server(app)


def embed(page: Page, server: LiveServer, sidebar: dict[str, Any]) -> int:
    page.goto(f"{server.base_url}/preview")
    version: int = page.evaluate(EMBED, {"sidebar": sidebar})
    return version


def test_the_renderer_draws_the_panel_schema_version_the_host_serves():
    exported = re.search(r"export const PANEL_SCHEMA_VERSION = (\d+);", RENDERER.read_text(encoding="utf-8"))
    assert exported is not None
    assert int(exported.group(1)) == PANEL_SCHEMA_VERSION


def test_an_embedder_gets_the_panels_and_the_events(browser_page: Page, server: LiveServer):
    page = browser_page
    assert embed(page, server, SIDEBAR) == PANEL_SCHEMA_VERSION
    root = page.locator("#embedded")
    expect(root).to_have_class(re.compile(r"\bmdk-sidebar\b"))
    expect(root.locator(":scope > .panel")).to_have_count(2)
    billing = root.locator('.panel[data-integration="billing"]')
    expect(billing.locator(".not-verified__note")).to_have_text("2 accounts share this email")
    expect(billing.locator(".notice")).to_contain_text("a_block_from_a_newer_host")  # said, not hidden

    billing.get_by_role("button", name="Refund").click()
    billing.get_by_role("radio", name="B").check()
    billing.get_by_role("button", name="Reload Billing").click()
    assert page.evaluate("events") == [
        ["action", "billing", "refund", "BUTTON"],
        ["select", "billing", "b"],
        ["reload", "billing"],
    ]


def test_replace_panel_swaps_one_card_keeps_focus_and_shows_a_message(browser_page: Page, server: LiveServer):
    page = browser_page
    embed(page, server, SIDEBAR)
    page.locator('.panel[data-integration="billing"]').get_by_role("button", name="Refund").focus()
    updated = panel("billing", verified=True, blocks=SIDEBAR["panels"][0]["blocks"][:1])
    page.evaluate(
        "p => renderer.replacePanel(document.getElementById('embedded'), p,"
        " { message: { tone: 'success', text: 'Refunded', details: ['Reference re_1'] } })",
        updated,
    )
    billing = page.locator('.panel[data-integration="billing"]')
    expect(billing.locator(".not-verified")).to_have_count(0)
    expect(billing.locator(".flash--success")).to_contain_text("Refunded")
    expect(billing.get_by_role("button", name="Refund")).to_be_focused()  # the same control, redrawn
    expect(page.locator("#embedded > .panel")).to_have_count(2)

    page.evaluate("p => renderer.replacePanel(document.getElementById('embedded'), p)", panel("late"))
    expect(page.locator("#embedded > .panel").last).to_have_attribute("data-integration", "late")


def test_another_schema_version_is_refused_with_a_reason(browser_page: Page, server: LiveServer):
    embed(browser_page, server, {**SIDEBAR, "schema_version": PANEL_SCHEMA_VERSION + 1})
    root = browser_page.locator("#embedded")
    expect(root.locator(".panel")).to_have_count(0)
    expect(root.locator(".notice--danger")).to_contain_text(f"panel schema version {PANEL_SCHEMA_VERSION + 1}")


def test_show_more_asks_the_embedder_and_appends_the_next_page(browser_page: Page, server: LiveServer):
    page = browser_page
    table = SIDEBAR["panels"][0]["blocks"][0]
    first = panel("billing", blocks=[{**table, "next_page": {"cursor": "payments:pay_1", "label": "Show 1 older"}}])
    embed(page, server, {**SIDEBAR, "panels": [first]})
    billing = page.locator('.panel[data-integration="billing"]')
    billing.get_by_role("button", name="Show 1 older").click()
    assert page.evaluate("events") == [["more", "billing", "Payments", "payments:pay_1"]]

    # The embedder fetched ?page=payments:pay_1; the answer's table of the same title is appended.
    older = {"id": "pay_0", "cells": {"amount": {"text": "$3.00"}}, "actions": []}
    answer = panel("billing", blocks=[{**table, "rows": [table["rows"][0], older]}])
    page.evaluate(
        "([shown, answer]) => renderer.replacePanel(document.getElementById('embedded'),"
        " renderer.withNextPage(shown, answer, 'Payments'))",
        [first, answer],
    )
    expect(billing.locator("tbody tr")).to_have_count(2)  # pay_1 is not repeated
    expect(billing.locator('tr[data-row-id="pay_0"]')).to_contain_text("$3.00")
    expect(billing.get_by_role("button", name="Show 1 older")).to_have_count(0)  # the last page
