"""Each page of the web UI in a real browser against a live server with seeded data."""

from __future__ import annotations

import json
import re

import httpx
from playwright.sync_api import expect
from seed import MANY_RUNS, SPIKE_VALUE

import trackwire


def test_the_page_and_its_assets_are_served_with_the_right_caching(ui_server):
    index = httpx.get(ui_server.http_url + "/")
    assert index.status_code == 200
    assert index.headers["cache-control"] == "no-cache"
    script = index.text.split('src="', 1)[1].split('"', 1)[0]
    asset = httpx.get(f"{ui_server.http_url}/{script}")
    assert asset.status_code == 200
    assert "immutable" in asset.headers["cache-control"]
    assert asset.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    for missing in ("nothing-here.js", "..%2F..%2Fserver.log", "%2e%2e%2findex.html"):
        assert httpx.get(f"{ui_server.http_url}/assets/{missing}").status_code == 404


def test_experiments_list_search_create_rename_delete_restore(page, ui_server, seeded, screenshot):
    page.goto(ui_server.http_url + "/")
    table = page.locator("table.experiments")
    expect(table).to_contain_text("ui-demo")
    expect(table).not_to_contain_text("ui-removed")
    screenshot(page, "experiments")

    page.get_by_label("Search experiments").fill("other")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("ui-other")

    page.get_by_label("Search experiments").fill("")
    page.get_by_label("New experiment name").fill("made-in-browser")
    page.get_by_role("button", name="Create").click()
    row = table.locator("tr", has_text="made-in-browser")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Rename").click()
    page.get_by_label("New name").fill("renamed-in-browser")
    page.get_by_role("button", name="Save").click()
    row = table.locator("tr", has_text="renamed-in-browser")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)

    page.get_by_role("tab", name="Deleted").click()
    row = table.locator("tr", has_text="renamed-in-browser")
    expect(table).to_contain_text("ui-removed")
    row.get_by_role("button", name="Restore").click()
    expect(row).to_have_count(0)
    page.get_by_role("tab", name="Active").click()
    expect(table).to_contain_text("renamed-in-browser")


def test_mlflow_experiment_link_shows_runs_nested_and_sortable(page, ui_server, seeded, screenshot):
    page.goto(f"{ui_server.http_url}/#/experiments/{seeded.experiment_id}")
    grid = page.get_by_role("grid", name="Runs")
    expect(grid).to_contain_text("trial-0")
    # Children come right under their parent, indented.
    names = grid.locator(".runs-row:not(.runs-head) .cell.name a").all_inner_texts()
    parent = names.index("sweep-parent")
    assert set(names[parent + 1 : parent + 4]) == {
        "sweep-child-0",
        "sweep-child-1",
        "sweep-child-2",
    }
    page.get_by_role("button", name="Collapse sweep-parent").click()
    expect(grid).not_to_contain_text("sweep-child-0")
    page.get_by_role("button", name="Expand sweep-parent").click()
    expect(grid).to_contain_text("sweep-child-0")

    # Sort by a param, both directions (the server orders).
    grid.locator(".runs-head button.head", has_text="lr").first.click()
    first = grid.locator(".runs-row:not(.runs-head) .cell.name a").first
    expect(first).to_have_text("live")  # lr 0.1 is the largest
    grid.locator(".runs-head button.head", has_text="lr").first.click()
    expect(first).to_have_text("trial-0")  # 0.001 is the smallest
    expect(page).to_have_url(re.compile(r"sort=p(%3A|:)lr(%3A|:)asc"))
    for chart in page.locator("figure.chart").all():
        expect(chart).to_have_attribute("data-ready", "true")
    screenshot(page, "experiment")

    page.emulate_media(color_scheme="dark")
    screenshot(page, "experiment-dark")


def test_a_filter_error_is_shown_inline_at_its_position(page, ui_server, seeded):
    page.goto(f"{ui_server.http_url}/#/experiments/{seeded.experiment_id}")
    box = page.get_by_label("Filter runs")
    box.fill("params.optimizer = 'sgd' and metrics.loss >> 1")
    box.press("Enter")
    error = page.locator(".filter-error")
    expect(error).to_contain_text("position")
    caret_line = error.locator("pre").inner_text().split("\n")[1]
    assert caret_line.strip() == "^" and len(caret_line) > 30

    box.fill("params.optimizer = 'sgd'")
    box.press("Enter")
    expect(error).to_have_count(0)
    grid = page.get_by_role("grid", name="Runs")
    expect(grid).to_contain_text("trial-1")
    expect(grid).not_to_contain_text("trial-0")
    expect(page).to_have_url(re.compile(r"filter="))


def test_a_chart_shows_a_seeded_spike_among_100000_steps(page, ui_server, seeded, screenshot):
    spiky = seeded.runs["spiky"]
    page.goto(f"{ui_server.http_url}/#/experiments/{seeded.experiment_id}?sel={spiky}")
    chart = page.locator("figure.chart[data-metric='loss']")
    expect(chart).to_have_attribute("data-ready", "true")
    expect(chart.locator("canvas").first).to_be_visible()
    expect(chart).to_have_attribute("data-ymax", str(int(SPIKE_VALUE)))
    expect(chart).to_contain_text("100,000 points")
    # Far fewer points drawn than logged: the server sent buckets.
    assert int(chart.get_attribute("data-points")) < 5000
    screenshot(page, "charts")


def test_the_table_keeps_a_bounded_dom_and_pages_in_more_runs(page, ui_server, seeded):
    page.goto(f"{ui_server.http_url}/#/experiments/{seeded.many_runs_experiment_id}")
    grid = page.get_by_role("grid", name="Runs")
    expect(grid).to_contain_text("many-")
    rows = grid.locator(".runs-row")
    assert rows.count() < 80
    status = page.locator("[aria-live=polite]", has_text="runs")
    for _ in range(20):
        grid.evaluate("el => el.scrollTo(0, el.scrollHeight)")
        page.wait_for_timeout(100)
        if f"{MANY_RUNS:,} runs" == status.inner_text().strip():
            break
    expect(status).to_have_text(f"{MANY_RUNS:,} runs")
    grid.evaluate("el => el.scrollTo(0, el.scrollHeight)")
    expect(grid).to_contain_text("many-0000")  # newest first: the first run logged is last
    assert rows.count() < 80


def test_mlflow_run_link_shows_the_run_and_previews_artifacts(page, ui_server, seeded, screenshot):
    run_id = seeded.runs["trial-5"]
    page.goto(f"{ui_server.http_url}/#/experiments/{seeded.experiment_id}/runs/{run_id}")
    expect(page.get_by_role("heading", name="trial-5")).to_be_visible()
    expect(page.get_by_role("table", name="parameters")).to_contain_text("optimizer")
    expect(page.get_by_role("table", name="overview")).to_contain_text("0123456789abcdef")
    expect(page.locator(".description")).to_contain_text("The best trial so far.")
    expect(page.locator("section.card", has_text="Datasets")).to_contain_text("mnist")

    page.get_by_label("Tag key").fill("reviewed")
    page.get_by_label("Tag value").fill("yes")
    page.get_by_role("button", name="Set tag").click()
    expect(page.get_by_role("table", name="tags")).to_contain_text("reviewed")

    artifacts = page.get_by_role("navigation", name="Artifacts")
    preview = page.locator(".artifact-preview")
    artifacts.get_by_role("button", name="eval_table.json").click()
    expect(preview.locator("table thead")).to_contain_text("question")
    expect(preview.locator("table tbody")).to_contain_text("3*3?")
    artifacts.get_by_role("button", name="predictions.csv").click()
    expect(preview.locator("table tbody")).to_contain_text("bird, small")
    artifacts.get_by_role("button", name="notes.txt").click()
    expect(preview.locator("pre")).to_contain_text("Second line.")
    artifacts.get_by_role("button", name="config/").click()
    artifacts.get_by_role("button", name="model.yaml").click()
    expect(preview.locator("pre")).to_contain_text("layers:")
    artifacts.get_by_role("button", name="params.json").click()
    expect(preview.locator("pre")).to_contain_text('"layers": [')
    artifacts.get_by_role("button", name="plots/").click()
    artifacts.get_by_role("button", name="gradient.png").click()
    image = preview.locator("img")
    expect(image).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('.artifact-preview img').naturalWidth === 48"
    )
    with page.expect_download() as download:
        preview.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == "gradient.png"
    expect(page.locator("figure.chart[data-metric='loss']")).to_have_attribute("data-ready", "true")
    screenshot(page, "run")


def test_compare_highlights_what_differs(page, ui_server, seeded, screenshot):
    ids = [seeded.runs["trial-0"], seeded.runs["trial-2"]]
    runs = json.dumps(ids)
    page.goto(
        f'{ui_server.http_url}/#/compare-runs?runs={runs}&experiments=["{seeded.experiment_id}"]'
    )
    table = page.locator("table.compare")
    expect(table.locator("tr.differs", has_text="lr")).to_have_count(1)
    expect(table.locator("tr:not(.differs)", has_text="optimizer")).to_have_count(1)
    expect(page.locator("figure.chart[data-metric='loss']")).to_have_attribute("data-ready", "true")
    screenshot(page, "compare")
    page.get_by_label("Only differences").check()
    expect(table.locator("tr", has_text="optimizer")).to_have_count(0)


def test_dragging_across_a_chart_zooms_and_fetches_that_range(page, ui_server, seeded):
    spiky = seeded.runs["spiky"]
    page.goto(f"{ui_server.http_url}/#/experiments/{seeded.experiment_id}?sel={spiky}")
    chart = page.locator("figure.chart[data-metric='loss']")
    expect(chart).to_have_attribute("data-ready", "true")
    box = chart.locator(".u-over").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.1, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.2, y, steps=5)
    page.mouse.up()
    reset = chart.get_by_role("button", name="Reset zoom")
    expect(reset).to_be_visible()
    # The spike at step 31,337 lies outside the first fifth of 100,000 steps.
    expect(chart).not_to_have_attribute("data-ymax", "1000")
    reset.click()
    expect(chart).to_have_attribute("data-ymax", "1000")

    # The other x axes, log scale and smoothing draw the same buckets again.
    points = chart.get_attribute("data-points")
    for x_axis in ("wall", "relative"):
        page.get_by_label("X axis").select_option(x_axis)
        expect(chart.locator(".u-legend")).to_contain_text(
            "Wall time" if x_axis == "wall" else "Relative time"
        )
        assert chart.get_attribute("data-points") == points
    page.get_by_label("Log scale").check()
    page.get_by_label("Smoothing").fill("0.9")
    expect(chart.locator("canvas").first).to_be_visible()
    expect(chart).to_have_attribute("data-ymax", "1000")


def test_keyboard_columns_scatter_and_run_lifecycle(page, ui_server, seeded):
    page.goto(f"{ui_server.http_url}/#/experiments/{seeded.experiment_id}")
    grid = page.get_by_role("grid", name="Runs")
    expect(grid).to_contain_text("trial-0")

    page.get_by_role("button", name="Columns").click()
    page.get_by_role("dialog", name="Columns").get_by_label("m loss").uncheck()
    expect(grid.locator(".runs-head")).not_to_contain_text("loss")
    expect(page).to_have_url(re.compile(r"cols="))  # the URL follows the state a moment later
    page.get_by_role("button", name="Done").click()

    page.get_by_role("tab", name="Scatter").click()
    expect(page.get_by_role("img", name="Scatter of")).to_be_visible()

    # Space selects the row the arrows reached; Delete moves it to the deleted runs.
    grid.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    selected = grid.locator(".runs-row.selected .cell.name a")
    expect(selected).to_have_count(1)
    name = selected.inner_text()
    page.get_by_role("button", name="Delete").click()
    expect(grid.locator(".cell.name a", has_text=name)).to_have_count(0)
    page.get_by_label("Deleted runs").check()
    row = grid.locator(".runs-row", has_text=name)
    row.get_by_role("checkbox").check()
    page.get_by_role("button", name="Restore").click()
    expect(grid.locator(".cell.name a", has_text=name)).to_have_count(0)
    page.get_by_label("Deleted runs").uncheck()
    expect(grid.locator(".cell.name a", has_text=name)).to_have_count(1)

    grid.focus()
    page.keyboard.press("Home")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#/experiments/\d+/runs/[0-9a-f]{32}$"))


def test_running_runs_refresh_live(page, ui_server, seeded):
    live = seeded.runs["live"]
    page.goto(f"{ui_server.http_url}/#/experiments/{seeded.experiment_id}")
    grid = page.get_by_role("grid", name="Runs")
    expect(grid).to_contain_text("live")
    client = trackwire.TrackingClient(ui_server.tracking_uri)
    client.log_metric(live, "loss", 0.123456, step=10)
    client.close()
    row = grid.locator(".runs-row", has_text="live")
    expect(row).to_contain_text("0.1235", timeout=15_000)
