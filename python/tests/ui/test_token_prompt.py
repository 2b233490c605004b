"""With --auth, the UI asks for a token, sends it as a bearer token, and disables what the
token may not do."""

from __future__ import annotations

import re

import httpx
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


def _rest(server, token: str, path: str, body: dict) -> dict:
    response = httpx.post(
        f"{server.http_url}/api/2.0/mlflow/{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    response.raise_for_status()
    return response.json()


def _sign_in(page, server, token: str) -> None:
    page.goto(server.http_url + "/")
    page.get_by_label("Token", exact=True).fill(token)
    page.get_by_role("button", name="Sign in").click()


def test_per_experiment_permissions_disable_what_the_user_may_not_do(page, auth_server, screenshot):
    """A write token whose user has READ on one experiment and EDIT on another: each
    experiment's controls follow the user's permission there, with the reason as tooltip."""
    admin = _token(auth_server, "ada", "admin")
    writer = _token(auth_server, "eve", "write")
    read_only = _rest(auth_server, admin, "experiments/create", {"name": "eve-reads"})
    editable = _rest(auth_server, admin, "experiments/create", {"name": "eve-edits"})
    _rest(
        auth_server,
        admin,
        "experiments/permissions/create",
        {"experiment_id": editable["experiment_id"], "username": "eve", "permission": "EDIT"},
    )
    run = _rest(
        auth_server,
        admin,
        "runs/create",
        {"experiment_id": read_only["experiment_id"], "run_name": "adas-run"},
    )["run"]["info"]

    _sign_in(page, auth_server, writer)
    expect(page.locator("header")).to_contain_text("eve · write")
    expect(page.get_by_role("button", name="Create")).to_be_enabled()
    reads = page.locator("table.experiments tr", has_text="eve-reads")
    edits = page.locator("table.experiments tr", has_text="eve-edits")
    for row in (reads, edits):
        expect(row.get_by_role("button", name="Delete")).to_be_disabled()
        expect(row.get_by_role("button", name="Delete")).to_have_attribute(
            "title", re.compile("needs MANAGE")
        )
    rename = reads.get_by_role("button", name="Rename")
    expect(rename).to_be_disabled()
    expect(rename).to_have_attribute(
        "title", "You have READ permission on this experiment; this needs EDIT"
    )
    expect(edits.get_by_role("button", name="Rename")).to_be_enabled()
    screenshot(page, "experiments-read-permission")

    # The user's own new experiment: its creator is granted MANAGE.
    page.get_by_label("New experiment name").fill("eves-own")
    page.get_by_role("button", name="Create").click()
    own = page.locator("table.experiments tr", has_text="eves-own")
    expect(own.get_by_role("button", name="Delete")).to_be_enabled()

    page.goto(
        f"{auth_server.http_url}/#/experiments/{read_only['experiment_id']}/runs/{run['run_id']}"
    )
    for control in (
        page.get_by_role("button", name="Set tag"),
        page.get_by_role("button", name="Edit description"),
        page.get_by_label("Tag key"),
    ):
        expect(control).to_be_disabled()
        expect(control).to_have_attribute("title", re.compile("READ permission"))

    page.goto(f"{auth_server.http_url}/#/experiments/{read_only['experiment_id']}")
    page.get_by_label("Select adas-run").check()
    expect(page.get_by_role("button", name="Delete")).to_be_disabled()
    expect(page.get_by_role("button", name="Delete")).to_have_attribute(
        "title", re.compile("needs MANAGE")
    )
