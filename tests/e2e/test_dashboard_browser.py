"""The dashboard after a demo run, in headless Chromium: every chart rendered, with data, offline.

The demo run (tests/support/demo_history.py) is the session's, shared with the e2e test. The app is
served by werkzeug on a free local port; Chromium (Debian's package, which `make test`
installs) loads /dashboard and the test asks the rendered page, not the HTML, whether each
[data-chart] drew something. Screenshots of the three sections go to a temporary folder, or to
SCREENSHOTS_DIR: `make screenshots` sets it to docs/, so a test run never changes the repository.
"""

import os
import threading
from pathlib import Path

import pytest
from browser import CHROMIUM, Chromium
from werkzeug.serving import make_server

from lakehouse.warehouse import connect
from orchestrator.app import create_app
from orchestrator.resources import Resources

pytestmark = [pytest.mark.e2e, pytest.mark.firestore, pytest.mark.dataform]
CHARTS = {"revenue_by_day", "revenue_by_region", "revenue_by_channel", "top_products", "active_customers",
          "click_funnel", "bounce_rate", "startups_by_stage", "churn_risk_distribution", "at_risk_customers",
          "model_metrics", "model_versions", "recent_runs", "step_durations", "rejected_records"}
SCREENSHOTS = {"dashboard-pre-ml.png": "#before-ml", "dashboard-post-ml.png": "#after-ml",
               "dashboard-health.png": "#health"}
PNG = b"\x89PNG\r\n\x1a\n"
# What the browser drew for each chart: shapes with a size in its SVG, or rows in its table.
RENDERED = """[...document.querySelectorAll('[data-chart]')].map(f => ({
  name: f.dataset.chart, points: Number(f.dataset.points), empty: f.dataset.empty === 'true',
  height: f.getBoundingClientRect().height,
  shapes: [...f.querySelectorAll('svg rect, svg polyline, svg circle')].filter(s => {
    const b = s.getBBox(); return b.width > 0 || b.height > 0; }).length,
  rows: f.querySelectorAll('tbody tr').length,
  cells: [...f.querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.textContent)),
}))"""


@pytest.fixture
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make test`, which installs Debian's chromium package")
    browser = Chromium()
    yield browser
    browser.close()


@pytest.fixture
def dashboard_url(demo):
    server = make_server("127.0.0.1", 0, create_app(demo.settings, Resources.from_settings(demo.settings)),
                         threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/dashboard"
    server.shutdown()
    thread.join(30)


@pytest.fixture
def screenshots_dir(tmp_path) -> Path:
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def most_at_risk(settings) -> str:
    warehouse = connect(settings.warehouse.uri, read_only=True)
    try:
        return warehouse.query(f"SELECT customer_id FROM `{settings.warehouse.dataset}.fct_predictions_churn` "
                               "ORDER BY churn_probability DESC, customer_id LIMIT 1")[0]["customer_id"]
    finally:
        warehouse.close()


def test_every_chart_renders_with_data_after_a_demo_run(demo, dashboard_url, chromium, screenshots_dir):
    chromium.open(dashboard_url)
    rendered = {c["name"]: c for c in chromium.evaluate(RENDERED)}

    assert set(rendered) == CHARTS
    for name, chart in rendered.items():
        assert chart["points"] > 0 and not chart["empty"], f"{name} has no data"
        assert chart["height"] > 60, f"{name} is not laid out"
        assert chart["shapes"] > 0 or chart["rows"] == chart["points"], f"{name} drew nothing"
    # the charts say what the warehouse and the ledger hold
    assert rendered["at_risk_customers"]["cells"][0][1] == most_at_risk(demo.settings)
    assert [row[0] for row in rendered["model_versions"]["cells"]] == [demo.champion]
    assert {row[0] for row in rendered["recent_runs"]["cells"]} == {demo.first["run_id"], demo.second["run_id"]}
    # offline: the page asked for nothing but itself
    assert chromium.requested_urls() == [dashboard_url]

    for name, section in SCREENSHOTS.items():
        png = chromium.screenshot(section)
        assert png.startswith(PNG) and len(png) > 20_000, name
        (screenshots_dir / name).write_bytes(png)


# What the browser drew of the lineage, and each action's documentation
DOCS = """({
  boxes: [...document.querySelectorAll('svg g.node')].filter(g => g.getBBox().width > 0).map(g => g.dataset.action),
  edges: [...document.querySelectorAll('svg path.edge')].filter(p => p.getBBox().width > 0).length,
  actions: [...document.querySelectorAll('article.action')].map(a => ({
    key: a.dataset.action, description: a.querySelector('.description').textContent,
    rows: a.querySelector('.rows') ? a.querySelector('.rows').textContent : null,
    lastRun: a.querySelector('.last-run') ? a.querySelector('.last-run').textContent : null,
    columns: [...a.querySelectorAll('table.columns tbody tr')].map(r => [...r.cells].map(c => c.textContent)),
    assertions: a.querySelectorAll('table.assertions tbody tr').length,
    height: a.getBoundingClientRect().height})),
})"""


def test_docs_draw_the_lineage_and_every_tables_description_after_a_demo_run(demo, dashboard_url, chromium,
                                                                              screenshots_dir):
    from lakehouse.transform.lineage import lineage
    from orchestrator.docs.page import project_graph

    settings = demo.settings
    docs_url = dashboard_url.replace("/dashboard", "/docs")
    chromium.open(docs_url)
    page = chromium.evaluate(DOCS)
    nodes = lineage(project_graph(settings, settings.today()))

    assert sorted(page["boxes"]) == sorted(nodes) and len(nodes) > 20  # a box per action, drawn
    assert page["edges"] == sum(len(n.dependencies) for n in nodes.values())
    shown = {a["key"]: a for a in page["actions"]}
    assert set(shown) == set(nodes)
    for key, action in shown.items():
        assert action["description"] == nodes[key].description != "", key  # every table's SQLX description
        assert action["height"] > 40, f"{key} is not laid out"
    fct = shown["winter_days_warehouse.fct_sales"]
    warehouse = connect(settings.warehouse.uri, read_only=True)
    try:
        count = warehouse.query("SELECT COUNT(*) AS n FROM `winter_days_warehouse`.`fct_sales`")[0]["n"]
    finally:
        warehouse.close()
    assert fct["rows"] == f"{count:,} rows" and fct["assertions"] == 3
    assert ["amount", nodes["winter_days_warehouse.fct_sales"].columns["amount"]] in fct["columns"]
    assert fct["lastRun"] == demo.second["run_id"]  # the newest run that built it
    assert chromium.requested_urls() == [docs_url]  # offline, like the dashboard

    png = chromium.screenshot("#lineage")
    assert png.startswith(PNG) and len(png) > 20_000
    (screenshots_dir / "lineage.png").write_bytes(png)
