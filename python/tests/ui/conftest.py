"""Browser tests of the web UI: Debian's chromium-headless-shell driven by Playwright, against
real `trackwire server` processes with seeded data. Screenshots go to build/ui-screenshots/."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).parent.parent))  # server_process, beside the other tests

from seed import Seeded, seed  # noqa: E402
from server_process import LiveServer  # noqa: E402

CHROMIUM = "/usr/bin/chromium-headless-shell"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "build" / "ui-screenshots"


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory) -> LiveServer:
    live = LiveServer(tmp_path_factory.mktemp("ui-server")).start()
    yield live
    live.stop()


@pytest.fixture(scope="session")
def seeded(ui_server, tmp_path_factory) -> Seeded:
    return seed(ui_server.tracking_uri, tmp_path_factory.mktemp("ui-seed"))


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `make ui-browser` (Debian chromium-headless-shell)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="session")
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take
