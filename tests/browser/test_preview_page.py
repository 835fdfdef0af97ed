"""The sidebar preview page in Chromium, against the app served by uvicorn.

Two integrations: the sample plugin (entry point) and ``showcase`` (registered inline), whose
panel uses every block type. Screenshots of the sidebar go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from browser_support import LiveServer, LiveTenant, create_live_tenant, live_settings, show_ticket
from layout_checks import axe_violations, horizontal_overflow, unusable_buttons
from litestar import Litestar
from showcase_plugin import XSS, ShowcasePlugin

from megadesk_core.app import create_app
from megadesk_core.plugins import load_integrations

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, Request

try:
    from playwright.sync_api import expect
except ImportError:  # the chromium_path fixture skips or fails the tests
    expect = None  # type: ignore[assignment]

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("chromium_path")]

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    settings = live_settings(tmp_path_factory.mktemp("preview"))
    registry = load_integrations(allow=["sample"], extra_plugins=[ShowcasePlugin()])
    return create_app(settings, registry=registry)


@pytest.fixture(scope="module")
def server(live_app_server, app: Litestar) -> LiveServer:
    return live_app_server(app)


@pytest.fixture(scope="module")
def acme(server: LiveServer, app: Litestar) -> Iterator[LiveTenant]:
    tenant = create_live_tenant(server, app, "acme")
    tenant.configure("sample", {"api_token": "sample-token-123"})
    tenant.configure("showcase", {})
    both = {"showcase": {"accountId": "acct_ada"}, "sample": {"contactId": "c-ada"}}
    tenant.upsert_ticket(
        "T-100", email="ada@example.com", subject="Charged twice in November", custom_data={"integrations": both}
    )
    tenant.upsert_ticket("T-101", email="bob@example.com", subject="Please cancel our team plan")
    tenant.upsert_ticket("T-102", email="cy@example.com", subject="Which of my accounts was billed?")
    tenant.upsert_ticket("T-103", email="mallory@example.com", subject=f"Hello {XSS}")
    tenant.upsert_ticket("T-105", email="quinn@example.com", subject="Stop billing me")
    tenant.upsert_ticket(
        "T-104",
        email="nobody@example.com",
        subject="Who am I?",
        custom_data={"integrations": {"sample": {"raise": True}}},
    )
    yield tenant
    tenant.close()


def open_ticket(page: Page, tenant: LiveTenant, ticket_id: str) -> None:
    """Open the preview signed in as the agent and pick ``ticket_id`` in the list."""
    page.goto(tenant.preview_url())
    page.locator(f'.ticket[data-ticket-id="{ticket_id}"]').click()
    expect(page.locator("#panels .panel")).to_have_count(2)


def card(page: Page, integration: str) -> Locator:
    return page.locator(f'#panels .panel[data-integration="{integration}"]')


def kv_value(panel: Locator, label: str) -> Locator:
    return panel.locator(".kv__row", has=panel.page.locator("dt", has_text=label)).locator("dd")


def shoot(locator: Locator, directory: Path, name: str) -> None:
    locator.screenshot(path=str(directory / f"{name}.png"), animations="disabled")


def action_posts(page: Page) -> list[Request]:
    posts: list[Request] = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" and "/actions/" in r.url else None)
    return posts


def test_a_verified_ticket_renders_every_block_generically(browser_page: Page, acme: LiveTenant, screenshot_dir: Path):
    page = browser_page
    declaration_requests: list[str] = []
    page.on("request", lambda r: declaration_requests.append(r.url) if r.url.endswith("/actions") else None)
    page.goto(acme.preview_url())

    expect(page.locator(".ticket")).to_have_count(6)
    assert "token" not in page.url  # taken from the fragment, then removed from the address bar
    assert page.evaluate("sessionStorage.getItem('megadesk.preview.token')") == acme.agent_token
    expect(page.locator("#session-tenant")).to_have_text("acme")

    page.locator('.ticket[data-ticket-id="T-100"]').click()
    expect(page.locator("#panels .panel")).to_have_count(2)
    assert page.url.endswith("#ticket=T-100")
    titles = page.locator("#panels .panel__title").all_text_contents()
    assert titles == ["Sample CRM", "Showcase Billing"]

    showcase = card(page, "showcase")
    expect(showcase.locator(".not-verified")).to_have_count(0)
    expect(showcase.locator(".verified-chip")).to_have_text("Verified")
    expect(kv_value(showcase, "Name")).to_have_text("Ada Lovelace")
    expect(kv_value(showcase, "Credit")).to_have_text("€12.50")
    expect(kv_value(showcase, "Standing").locator(".badge--success")).to_have_text("good")
    expect(showcase.locator(".badges .badge--success")).to_have_text("VIP")
    expect(showcase.locator(".badges .badge--info")).to_have_text("Annual billing")

    links = showcase.locator("a")
    assert links.count() >= 5
    for index in range(links.count()):
        link = links.nth(index)
        assert re.match(r"^(https://|mailto:)", link.get_attribute("href") or "")
        assert link.get_attribute("rel") == "noopener noreferrer"
        assert link.get_attribute("target") == "_blank"
    expect(showcase.locator(".links a").first).to_have_text("Open in Showcase")

    table = showcase.locator("table.data-table")
    expect(table.locator("thead th")).to_have_count(5)  # four columns and the row actions
    pro_row = table.locator('tr[data-row-id="sub_ada_pro"]')
    amount = pro_row.locator("td").nth(1)
    expect(amount).to_have_text("€49.00/mo")
    assert amount.evaluate("cell => getComputedStyle(cell).textAlign") == "right"
    assert pro_row.locator("td").nth(0).evaluate("cell => getComputedStyle(cell).textAlign") == "left"
    expect(pro_row.locator(".badge--success")).to_have_text("active")
    expect(table.locator('tr[data-row-id="sub_ada_seats"] .badge--info')).to_have_text("trialing")
    # Danger styling comes from the action's declaration, fetched once per integration.
    expect(pro_row.get_by_role("button", name="Cancel now")).to_have_class(re.compile("action-button--danger"))
    add_credit = showcase.locator(".actions-bar").get_by_role("button", name="Add credit")
    expect(add_credit).not_to_have_class(re.compile("action-button--danger"))

    sample = card(page, "sample")
    expect(kv_value(sample, "Greeting")).to_have_text("Hello c-ada")
    expect(sample.locator(".verified-chip")).to_be_visible()
    shoot(page.locator(".sidebar"), screenshot_dir, "verified-ticket")
    page.screenshot(path=str(screenshot_dir / "page-verified-ticket.png"), full_page=True)

    add_credit.click()
    dialog = page.locator("dialog[open]")
    expect(dialog.locator(".identity-check")).to_have_count(0)  # verified: nothing to confirm
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator("dialog")).to_have_count(0)
    assert [url.rsplit("/", 2)[-2] for url in declaration_requests] == ["showcase"]


def test_a_link_with_token_and_ticket_opens_that_ticket(browser_page: Page, acme: LiveTenant):
    page = browser_page
    page.goto(acme.preview_url("T-102"))
    expect(page.locator("#panels .panel")).to_have_count(2)
    expect(page.locator(".ticket-header__id")).to_have_text("Ticket T-102")
    expect(page.locator('.ticket[data-ticket-id="T-102"]')).to_have_attribute("aria-current", "true")
    assert page.url.endswith("/preview#ticket=T-102")  # the token left the address bar, the ticket stayed
    assert page.evaluate("sessionStorage.getItem('megadesk.preview.token')") == acme.agent_token


def test_an_unverified_ticket_is_labelled_and_an_action_needs_identity_confirmation(
    browser_page: Page, acme: LiveTenant, screenshot_dir: Path
):
    page = browser_page
    posts = action_posts(page)
    open_ticket(page, acme, "T-101")

    showcase = card(page, "showcase")
    for panel in (showcase, card(page, "sample")):
        label = panel.locator(".not-verified__label")
        expect(label).to_be_visible()
        expect(label).to_have_text("NOT VERIFIED")
        assert (label.bounding_box() or {}).get("height", 0) >= 20
    expect(showcase.locator(".notice--warning")).to_contain_text("Payment overdue")
    shoot(page.locator(".sidebar"), screenshot_dir, "unverified-ticket")

    showcase.locator('tr[data-row-id="sub_bob_team"]').get_by_role("button", name="Cancel now").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".confirmation--danger")).to_have_text(
        "Cancel this subscription? Canceling immediately cannot be undone."
    )
    expect(dialog.locator("code")).to_have_text("sub_bob_team")
    expect(dialog.locator('input[name="target"]')).to_have_count(0)
    expect(dialog.get_by_label("Immediately")).to_be_checked()  # the button's prefill
    expect(dialog.get_by_label("Period end")).not_to_be_checked()
    expect(dialog.get_by_label("Refund latest invoice")).not_to_be_checked()
    identity = dialog.get_by_label("I confirmed the customer's identity")
    expect(identity).to_be_visible()
    expect(identity).not_to_be_checked()
    shoot(dialog, screenshot_dir, "cancel-dialog-not-verified")

    dialog.get_by_role("button", name="Cancel subscription").click()
    expect(dialog).to_be_visible()  # the browser asks for the confirmation first
    assert posts == []

    dialog.get_by_label("Refund latest invoice").check()
    identity.check()
    # Two submissions in one go (a double click): one request, the button disabled meanwhile.
    disabled_while_sending = dialog.locator("form").evaluate(
        "form => { form.requestSubmit(); const busy = form.querySelector('[type=submit]').disabled;"
        " form.requestSubmit(); return busy; }"
    )
    assert disabled_while_sending is True
    expect(page.locator("dialog")).to_have_count(0)

    flash = showcase.locator(".flash--success")
    expect(flash).to_contain_text("Canceled Team (sub_bob_team) immediately")
    expect(flash).to_contain_text("Reference evt_sub_bob_team")
    expect(flash).to_contain_text("refunded: true")
    row = card(page, "showcase").locator('tr[data-row-id="sub_bob_team"]')  # the refreshed panel
    expect(row.locator(".badge")).to_have_text("canceled")
    expect(row.get_by_role("button")).to_have_count(0)
    expect(card(page, "showcase").locator(".not-verified__label")).to_be_visible()

    assert len(posts) == 1
    assert UUID.match(posts[0].headers["idempotency-key"])
    payload: dict[str, Any] = posts[0].post_data_json
    assert payload == {
        "when": "immediately",
        "refund_latest_invoice": True,
        "identity_confirmed": True,
        "target": "sub_bob_team",
    }
    shoot(page.locator(".sidebar"), screenshot_dir, "cancel-result")


def test_a_refusal_is_shown_and_a_retry_keeps_its_idempotency_key(
    browser_page: Page, acme: LiveTenant, screenshot_dir: Path
):
    page = browser_page
    posts = action_posts(page)
    open_ticket(page, acme, "T-101")
    row = card(page, "showcase").locator('tr[data-row-id="sub_bob_legacy"]')
    row.get_by_role("button", name="Cancel at period end").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_label("Period end")).to_be_checked()
    dialog.get_by_label("I confirmed the customer's identity").check()
    submit = dialog.get_by_role("button", name="Cancel subscription")
    submit.click()

    problem = dialog.locator(".dialog-problem")
    expect(problem).to_contain_text("sub_bob_legacy is billed through a reseller and cannot be canceled here")
    expect(submit).to_be_enabled()
    shoot(dialog, screenshot_dir, "cancel-refused")

    submit.click()  # the same request again: the same key, so the server replays its answer
    expect(problem).to_contain_text("billed through a reseller")
    dialog.get_by_label("Refund latest invoice").check()
    submit.click()  # a different request: a new key
    expect(problem).to_contain_text("billed through a reseller")
    page.wait_for_function("() => !document.querySelector('dialog[aria-busy=true]')")

    keys = [p.headers["idempotency-key"] for p in posts]
    assert len(keys) == 3
    assert keys[0] == keys[1] != keys[2]
    dialog.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(row.get_by_role("button", name="Cancel now")).to_be_visible()  # nothing changed


def test_the_host_labels_an_unverified_match_even_when_the_plugin_forgets(browser_page: Page, acme: LiveTenant):
    page = browser_page
    open_ticket(page, acme, "T-105")
    showcase = card(page, "showcase")
    # The plugin left Panel.verified unset; the host takes it from the resolved customer.
    expect(showcase.locator(".not-verified")).to_have_count(1)
    showcase.get_by_role("button", name="Cancel now").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.locator(".identity-check")).to_have_count(1)
    submit = dialog.get_by_role("button", name="Cancel subscription")
    dialog.get_by_label("I confirmed the customer's identity").check()
    submit.click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(card(page, "showcase").locator(".flash--success")).to_contain_text("Canceled Basic (sub_quinn) immediately")


def test_field_errors_from_the_api_are_shown_next_to_the_field(
    browser_page: Page, acme: LiveTenant, screenshot_dir: Path
):
    page = browser_page
    open_ticket(page, acme, "T-100")
    showcase = card(page, "showcase")
    showcase.get_by_role("button", name="Add credit").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).not_to_have_class(re.compile("action-dialog--danger"))
    amount = dialog.get_by_label("Amount")  # an int with ge=1, le=500 in the payload model
    for name, value in (("type", "number"), ("step", "1"), ("min", "1"), ("max", "500")):
        expect(amount).to_have_attribute(name, value)
    dialog.get_by_label("Amount").fill("250")
    dialog.get_by_label("Reason").fill("Goodwill for the double charge")
    dialog.get_by_role("button", name="Add credit").click()

    expect(dialog.locator(".dialog-problem")).to_contain_text("Credit above €100 needs a team lead's approval.")
    expect(dialog.get_by_label("Amount")).to_have_attribute("aria-invalid", "")  # the field the API named
    expect(dialog.get_by_label("Reason")).not_to_have_attribute("aria-invalid", "")
    shoot(dialog, screenshot_dir, "credit-field-error")

    dialog.get_by_label("Amount").fill("20")
    dialog.get_by_role("button", name="Add credit").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(card(page, "showcase").locator(".flash--success")).to_contain_text("Added €20.00 credit")
    expect(kv_value(card(page, "showcase"), "Credit")).to_have_text("€32.50")


def test_a_choice_reloads_the_panel_and_actions_follow_the_choice(
    browser_page: Page, acme: LiveTenant, screenshot_dir: Path
):
    page = browser_page
    posts = action_posts(page)
    panel_requests: list[str] = []
    page.on("request", lambda r: panel_requests.append(r.url) if "/panels/showcase?" in r.url else None)
    open_ticket(page, acme, "T-102")

    showcase = card(page, "showcase")
    choice = showcase.locator("fieldset.choice")
    expect(choice.locator("legend")).to_have_text("Several accounts use this email: which one is it?")
    expect(choice.get_by_label("Cy Young (home)")).to_be_checked()
    expect(kv_value(showcase, "Name")).to_have_text("Cy Young (home)")
    shoot(page.locator(".sidebar"), screenshot_dir, "choice")

    choice.get_by_label("Cy Young (work)").check()
    showcase = card(page, "showcase")
    expect(kv_value(showcase, "Name")).to_have_text("Cy Young (work)")
    expect(showcase.locator("fieldset.choice").get_by_label("Cy Young (work)")).to_be_checked()
    assert any("select=acct_cy_work" in url for url in panel_requests)

    showcase.get_by_role("button", name="Add credit").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.locator("code")).to_have_text("acct_cy_work")
    # Not verified, but this action does not need a verified customer: no identity box.
    expect(dialog.locator(".identity-check")).to_have_count(0)
    dialog.get_by_label("Amount").fill("5")
    dialog.get_by_label("Reason").fill("Sorry")
    category = dialog.get_by_label("Category")  # five choices: a <select>, the default chosen
    expect(category.locator("option:checked")).to_have_text("Goodwill")
    category.select_option(label="Billing error")
    dialog.get_by_role("button", name="Add credit").click()
    expect(card(page, "showcase").locator(".flash--success")).to_contain_text("Added €5.00 credit")
    expect(kv_value(card(page, "showcase"), "Name")).to_have_text("Cy Young (work)")
    expect(kv_value(card(page, "showcase"), "Credit")).to_have_text("€5.00")
    assert "select=acct_cy_work" in posts[0].url
    assert posts[0].post_data_json == {
        "amount": 5,
        "reason": "Sorry",
        "category": "billing_error",
        "target": "acct_cy_work",
    }


def test_markup_in_panel_text_is_shown_as_text(browser_page: Page, acme: LiveTenant, screenshot_dir: Path):
    page = browser_page
    open_ticket(page, acme, "T-103")
    showcase = card(page, "showcase")
    expect(kv_value(showcase, "Name")).to_have_text(XSS)
    expect(showcase.locator(".badges .badge")).to_have_text(XSS)
    expect(showcase.locator('tr[data-row-id="sub_mallory"] td').first).to_have_text(f"Plan {XSS}")
    expect(page.locator(".ticket-header__subject")).to_have_text(f"Hello {XSS}")
    expect(page.locator(".ticket__subject", has_text="Hello")).to_have_text(f"Hello {XSS}")
    assert page.locator("img").count() == 0
    assert page.evaluate("window.__xss") is None
    shoot(page.locator(".sidebar"), screenshot_dir, "markup-as-text")


def test_empty_and_error_panels(browser_page: Page, acme: LiveTenant, screenshot_dir: Path):
    page = browser_page
    open_ticket(page, acme, "T-104")
    showcase = card(page, "showcase")
    expect(showcase).to_have_attribute("data-status", "empty")
    expect(showcase.locator(".notice")).to_contain_text("No billing account for this requester")
    sample = card(page, "sample")
    expect(sample).to_have_attribute("data-status", "error")
    expect(sample.locator(".notice--danger")).to_contain_text("Sample CRM failed to render; the error was logged.")
    shoot(page.locator(".sidebar"), screenshot_dir, "empty-and-error-panels")


def test_pasting_a_token(browser_page: Page, acme: LiveTenant, server: LiveServer, screenshot_dir: Path):
    page = browser_page
    page.goto(f"{server.base_url}/preview")
    form = page.locator("#auth")
    expect(form).to_be_visible()
    page.get_by_role("textbox", name="Agent token").fill("mdk_not_a_real_token")
    page.get_by_role("button", name="Use this token").click()
    expect(page.locator("#auth-error")).to_contain_text("That token was not accepted: A valid API token is required")
    shoot(form, screenshot_dir, "token-refused")

    page.get_by_role("textbox", name="Agent token").fill(acme.agent_token)
    page.get_by_role("button", name="Use this token").click()
    expect(page.locator(".ticket")).to_have_count(6)
    expect(form).to_be_hidden()


@pytest.mark.parametrize("width", [320, 1280])
def test_every_block_type_fits_the_width_and_passes_axe(
    page_at: Callable[[int], Page], acme: LiveTenant, screenshot_dir: Path, width: int
):
    page = page_at(width)
    # Verified with every block type; unverified with a warning; a choice; markup as long text.
    for ticket_id in ["T-100", "T-101", "T-102", "T-103"]:
        show_ticket(page, acme, ticket_id, panels=2)
        assert horizontal_overflow(page) == 0, f"{ticket_id} scrolls sideways at {width} px"
        assert unusable_buttons(page, page.locator("#panels .action-button")) == [], ticket_id
        assert axe_violations(page) == [], ticket_id
        page.screenshot(path=str(screenshot_dir / f"width-{width}-showcase-{ticket_id}.png"), full_page=True)
