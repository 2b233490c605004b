"""With --auth, the UI asks for a token, sends it as a bearer token, and disables what the
token may not do."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from server_process import LiveServer


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("ui-auth"), extra_args=["--auth"]).start()
    yield live
    live.stop()


def _token(server, user: str, scope: str) -> str:
    return server.cli("tokens", "create", "--user", user, "--scope", scope).strip()


def test_the_token_prompt_and_read_only_actions(page, auth_server, screenshot):
    reader = _token(auth_server, "rita", "read")
    page.goto(auth_server.http_url + "/")
    prompt = page.get_by_role("form", name="Sign in")
    expect(prompt).to_be_visible()
    screenshot(page, "token-prompt")

    page.get_by_label("Token", exact=True).fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".token-form .error")).to_contain_text("refused")

    page.get_by_label("Token", exact=True).fill(reader)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("table.experiments")).to_contain_text("Default")
    expect(page.locator("header")).to_contain_text("rita · read")
    expect(page.get_by_role("button", name="Create")).to_be_disabled()
    expect(page.get_by_role("button", name="Rename").first).to_be_disabled()


def test_a_write_token_may_create(page, auth_server):
    writer = _token(auth_server, "walt", "write")
    page.goto(auth_server.http_url + "/")
    page.get_by_label("Token", exact=True).fill(writer)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("New experiment name").fill("walts-experiment")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("table.experiments")).to_contain_text("walts-experiment")
