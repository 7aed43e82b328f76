"""GET /dashboard without data, while the warehouse is held, and in gcp mode; the SVG charts' markup.

The dashboard over a whole demo run is the browser test's (test_dashboard_browser.py).
"""

import dataclasses
import re
import subprocess
import sys

import pytest

from orchestrator.app import create_app
from orchestrator.dashboard import charts
from orchestrator.resources import Resources

CHARTS = 15
HOLD = "import sys, duckdb; con = duckdb.connect(sys.argv[1]); print('open', flush=True); sys.stdin.read()"


def get(settings, path="/dashboard"):
    return create_app(settings, Resources.from_settings(settings)).test_client().get(path)


@pytest.mark.firestore
def test_before_any_run_every_chart_says_why_it_is_empty(settings, firestore):
    page = get(settings)
    assert page.status_code == 200
    html = page.text
    figures = re.findall(r'<figure class="chart" data-chart="(\w+)" data-points="(\d+)" data-empty="true">', html)
    assert len(figures) == CHARTS and all(points == "0" for _, points in figures)
    assert html.count("not built yet: run the transform") == CHARTS - 2  # all but the two of the ledger
    assert "no runs yet" in html and "no warehouse yet" in html
    assert not settings.warehouse.path.exists()  # a reader never creates the warehouse


@pytest.mark.firestore
def test_the_page_loads_nothing_from_anywhere(settings, firestore):
    page = get(settings)
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "<script" not in page.text
    assert re.findall(r'(?:src|href)="([^"]*)"', page.text) == ["#before-ml", "#after-ml", "#health"]


@pytest.mark.firestore
def test_a_warehouse_another_process_writes_answers_busy(settings, firestore):
    settings.warehouse.path.parent.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(settings.warehouse.path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        page = get(settings)
    finally:
        holder.communicate("", timeout=30)
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert "retry in a moment" in page.text and "Another process" in page.text


def test_without_a_local_dashboard_it_points_to_looker_studio(settings):
    gcp = settings.with_overrides(mode="gcp", storage={"bronze_uri": "gs://b"}, gcp={"project": "acme"})
    resources = dataclasses.replace(Resources.from_settings(settings), local_dashboard=False)  # as gcp's are
    page = create_app(gcp, resources).test_client().get("/dashboard")
    assert page.status_code == 404 and "winterdays looker-url" in page.text


def test_charts_escape_their_text_and_count_their_points():
    bars = charts.bar_chart("x", "<b>title</b>", [("<script>", 3.0), ("b & c", 1.0)])
    assert 'data-chart="x" data-points="2"' in bars
    assert "<script>" not in bars and "&lt;script&gt;" in bars and "&lt;b&gt;title" in bars
    line = charts.line_chart("y", "t", ["d1", "d2", "d3"], {"a": [1.0, None, 2.0], "b": [0.0, 1.0, 1.0]})
    assert 'data-points="5"' in line and line.count("<polyline") == 2
    table = charts.table("z", "t", ["h"], [["<i>"]])
    assert 'data-points="1"' in table and "<td>&lt;i&gt;</td>" in table


@pytest.mark.parametrize("chart", [
    lambda: charts.bar_chart("c", "t", [], empty="nothing <yet>"),
    lambda: charts.line_chart("c", "t", ["d"], {"a": [None]}, empty="nothing <yet>"),
    lambda: charts.column_chart("c", "t", [], empty="nothing <yet>"),
    lambda: charts.stacked_bars("c", "t", [], ["k"], empty="nothing <yet>"),
    lambda: charts.table("c", "t", ["h"], [], empty="nothing <yet>"),
])
def test_a_chart_without_data_says_why(chart):
    assert chart() == ('<figure class="chart" data-chart="c" data-points="0" data-empty="true"><figcaption>t'
                       '</figcaption><p class="empty">nothing &lt;yet&gt;</p></figure>')


def test_axes_end_on_round_numbers():
    assert [charts._axis_top(v) for v in (356.0, 5500, 0.34, 0)] == [(400, 100), (6000, 2000), (0.4, 0.1), (1.0, 0.25)]
