"""`winterdays looker-url`: Looker Studio Linking API URLs for the pre-ML and post-ML reports.

Opening a URL creates a Looker Studio report (a copy of a template report, or the blank one)
whose BigQuery data sources are the warehouse's rpt_* views of this project; "Edit and share"
saves it. Nothing is called here: the URL carries the whole configuration. Parameters, as the
Linking API documents them (https://developers.google.com/looker-studio/integrate/linking-api):
  c.reportId       the template report (omitted: the blank report)
  c.mode           edit: open in the editor, to add or arrange charts; view: as a reader
  r.reportName     the new report's name
  ds.<alias>.*     one data source per view: connector=bigQuery, type=TABLE, projectId,
                   datasetId, tableId, billingProjectId, datasourceName
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from urllib.parse import quote, urlencode

from lakehouse.settings import Settings
from orchestrator.cli.common import Subcommands

LINKING_API = "https://lookerstudio.google.com/reporting/create"
# Each report's views, in alias order: a template's data sources ds0, ds1, ... must be these.
REPORTS = {
    "pre-ml": ("winter-days: sales, customers, clicks and startups",
               ("rpt_revenue_daily", "rpt_top_products", "rpt_active_customers", "rpt_click_funnel",
                "rpt_startups_by_stage", "rpt_rejects")),
    "post-ml": ("winter-days: churn risk",
                ("rpt_churn_risk_distribution", "rpt_churn_at_risk", "rpt_model_metrics")),
}


def register(sub: Subcommands) -> None:
    cmd = sub.add_parser("looker-url", help="Looker Studio links that create the pre-ML and post-ML reports "
                                            "on the warehouse's rpt_* views")
    cmd.add_argument("--report", choices=(*REPORTS, "all"), default="all")
    cmd.add_argument("--mode", choices=("edit", "view"), default="edit",
                     help="open the new report in the editor (default) or as a reader")
    cmd.add_argument("--json", action="store_true", help="print the reports as JSON")
    cmd.set_defaults(handler=run)


def template_id(settings: Settings, report: str) -> str:
    return {"pre-ml": settings.looker.pre_ml_report_id, "post-ml": settings.looker.post_ml_report_id}[report]


def report_url(settings: Settings, report: str, mode: str = "edit") -> str:
    title, views = REPORTS[report]
    params = {"c.mode": mode, "r.reportName": f"{title} ({settings.gcp.project})"}
    if template_id(settings, report):
        params["c.reportId"] = template_id(settings, report)
    for alias, view in aliases(report).items():
        params |= {
            f"ds.{alias}.connector": "bigQuery",
            f"ds.{alias}.type": "TABLE",
            f"ds.{alias}.projectId": settings.gcp.project,
            f"ds.{alias}.datasetId": settings.warehouse.dataset,
            f"ds.{alias}.tableId": view,
            f"ds.{alias}.billingProjectId": settings.looker.billing_project or settings.gcp.project,
            f"ds.{alias}.datasourceName": f"winter-days {view}",
        }
    return f"{LINKING_API}?{urlencode(params, quote_via=quote)}"


def aliases(report: str) -> dict[str, str]:
    return {f"ds{i}": view for i, view in enumerate(REPORTS[report][1])}


def run(args: argparse.Namespace, settings: Settings) -> int:
    chosen = list(REPORTS) if args.report == "all" else [args.report]
    if settings.mode == "local":  # a message only
        print(f"winterdays looker-url: local mode, so the links name project {settings.gcp.project}; for your "
              "deployment set WINTERDAYS_MODE=gcp and GOOGLE_CLOUD_PROJECT (Terraform's cli_environment output)",
              file=sys.stderr)
    reports: list[dict[str, Any]] = [
        {"report": r, "name": REPORTS[r][0], "template": template_id(settings, r) or "blank report",
         "data_sources": aliases(r), "url": report_url(settings, r, args.mode)} for r in chosen]
    if args.json:
        print(json.dumps(reports, indent=2))
        return 0
    for report in reports:
        sources = ", ".join(f"{alias}={view}" for alias, view in report["data_sources"].items())
        print(f"{report['name']} ({report['template']}; {sources}):\n{report['url']}\n")
    return 0
