"""Browser tests: the app served for real by uvicorn, driven through Debian's Chromium.

Reusable for any flow (e.g. Stripe against its emulator): put the test module in this folder
and write, as ``test_preview_page.py`` does::

    from browser_support import create_live_tenant, live_settings

    @pytest.fixture(scope="module")
    def app(tmp_path_factory):
        settings = live_settings(tmp_path_factory.mktemp("stripe-ui"), plugin_options={...})
        return create_app(settings, registry=...)

    @pytest.fixture(scope="module")
    def server(live_app_server, app):
        return live_app_server(app)     # a LiveServer: .base_url, .run(coroutine on the app's loop)

    @pytest.fixture(scope="module")
    def acme(server, app):
        tenant = create_live_tenant(server, app, "acme")   # admin + agent tokens, via the services
        tenant.configure("stripe", {...})
        tenant.upsert_ticket("T-1", email="ada@example.com")
        return tenant

    def test_something(browser_page, acme, screenshot_dir):
        browser_page.goto(acme.preview_url("T-1"))
        ...

``browser_page`` is a fresh browser context (so fresh session storage) per test, in one
Chromium per module; it fails the test on any uncaught script error or console error (a
Content-Security-Policy violation is one). Without ``/usr/bin/chromium`` or the ``playwright``
package the tests skip, unless ``MEGADESK_REQUIRE_BROWSER=1`` (CI), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser_support import LiveServer, start_live_server
from litestar import Litestar

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

REQUIRE_BROWSER_ENV = "MEGADESK_REQUIRE_BROWSER"
CHROMIUM_PATH = Path(os.environ.get("MEGADESK_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking switches Chromium keeps calling home, which floods a
# closed network and slows every test down.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "artifacts" / "screenshots"


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_BROWSER_ENV) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_BROWSER_ENV}=1 requires the browser tests to run.")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium; skips (or fails under MEGADESK_REQUIRE_BROWSER=1) when it is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed")
    if not CHROMIUM_PATH.exists():
        _unavailable(f"{CHROMIUM_PATH} is missing (apt-get install chromium)")
    return CHROMIUM_PATH


# --- the server ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_app_server() -> Iterator[Callable[[Litestar], LiveServer]]:
    """A factory: ``live_app_server(app)`` serves ``app`` until the end of the module."""
    servers: list[LiveServer] = []

    def start(app: Litestar) -> LiveServer:
        servers.append(start_live_server(app))
        return servers[-1]

    yield start
    for server in reversed(servers):
        server.stop()


# --- the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Browser]:
    """One headless Chromium per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def checked_page(browser: Browser, width: int, height: int) -> Iterator[Page]:
    """A page in a fresh context ``width`` x ``height``; fails if it logged a script or console error."""
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    context.set_default_timeout(5_000)
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # A failed request the test provoked (a 4xx answer) is logged too; the page shows those.
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    try:
        yield page
    finally:
        context.close()
    assert not problems, "the page reported errors:\n" + "\n".join(problems)


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[Page]:
    """A 1280 x 900 page in a fresh context; fails the test if the page logged a script or console error."""
    with checked_page(browser, 1280, 900) as page:
        yield page


@pytest.fixture
def page_at(browser: Browser) -> Iterator[Callable[[int], Page]]:
    """A factory: ``page_at(320)`` is a fresh page that wide (800 high), checked like ``browser_page``."""
    with ExitStack() as pages:
        yield lambda width: pages.enter_context(checked_page(browser, width, 800))


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """``artifacts/screenshots/`` at the repository root (git-ignored)."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
