"""`winterdays looker-url`: every Linking API parameter of both reports, against the project's settings."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from lakehouse.transform.actions import actions_from_graph
from lakehouse.transform.compiler import compile_project
from orchestrator.cli import main
from orchestrator.cli.looker import REPORTS

GCP = {"WINTERDAYS_MODE": "gcp", "GOOGLE_CLOUD_PROJECT": "acme-prod", "WINTERDAYS_WAREHOUSE_DATASET": "wd_gold",
       "WINTERDAYS_LOOKER_BILLING_PROJECT": "acme-bi", "WINTERDAYS_LOOKER_PRE_ML_REPORT_ID": "0b1c2d3e-pre",
       "WINTERDAYS_LOOKER_POST_ML_REPORT_ID": "4f5a6b7c-post"}


def looker_url(monkeypatch, capsys, env, *args) -> dict[str, dict]:
    """The command's JSON, run with `env` on top of the clean environment of the `settings` fixture."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["looker-url", "--json", *args]) == 0
    return {r["report"]: r for r in json.loads(capsys.readouterr().out)}


def parameters(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "lookerstudio.google.com", "/reporting/create")
    parsed = parse_qs(parts.query, strict_parsing=True)
    assert all(len(values) == 1 for values in parsed.values()), parsed  # no parameter twice
    return {name: values[0] for name, values in parsed.items()}


def expected(report: str, project: str, dataset: str, billing: str, template: str | None, mode: str) -> dict:
    title, views = REPORTS[report]
    params = {"c.mode": mode, "r.reportName": f"{title} ({project})"}
    if template:
        params["c.reportId"] = template
    for i, view in enumerate(views):
        params |= {f"ds.ds{i}.connector": "bigQuery", f"ds.ds{i}.type": "TABLE", f"ds.ds{i}.projectId": project,
                   f"ds.ds{i}.datasetId": dataset, f"ds.ds{i}.tableId": view,
                   f"ds.ds{i}.billingProjectId": billing, f"ds.ds{i}.datasourceName": f"winter-days {view}"}
    return params


def test_both_reports_point_at_the_projects_views_and_templates(settings, monkeypatch, capsys):
    reports = looker_url(monkeypatch, capsys, GCP)
    assert set(reports) == {"pre-ml", "post-ml"}
    for report, template in (("pre-ml", "0b1c2d3e-pre"), ("post-ml", "4f5a6b7c-post")):
        assert parameters(reports[report]["url"]) == expected(report, "acme-prod", "wd_gold", "acme-bi", template,
                                                              "edit")
        assert reports[report]["template"] == template
        assert list(reports[report]["data_sources"].values()) == list(REPORTS[report][1])


def test_without_templates_the_blank_report_and_the_project_pays(settings, monkeypatch, capsys):
    env = {k: v for k, v in GCP.items() if "LOOKER" not in k}
    reports = looker_url(monkeypatch, capsys, env, "--report", "post-ml", "--mode", "view")
    assert set(reports) == {"post-ml"}
    assert parameters(reports["post-ml"]["url"]) == expected("post-ml", "acme-prod", "wd_gold", "acme-prod", None,
                                                             "view")
    assert reports["post-ml"]["template"] == "blank report"


def test_local_mode_says_the_links_name_the_local_project(settings, capsys):
    assert main(["looker-url", "--report", "pre-ml"]) == 0
    out, err = capsys.readouterr()
    assert "local mode" in err and "WINTERDAYS_MODE=gcp" in err
    assert f"ds.ds0.projectId={settings.gcp.project}&" in out


@pytest.mark.dataform
def test_every_report_view_of_the_project_is_in_exactly_one_report(dataform_dir):
    graph = compile_project(dataform_dir, {"bronze_uri": "/b", "pii_key": "k", "run_date": "2026-03-31"})
    views = sorted(a.name for a in actions_from_graph(graph).values() if a.name.startswith("rpt_"))
    assert sorted(v for _, report_views in REPORTS.values() for v in report_views) == views
