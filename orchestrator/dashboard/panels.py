"""The dashboard's charts: what the gold views and the run ledger say, drawn by charts.py.

Three sections, as the README describes them: before ML (sales, customers, clicks, startups),
after ML (churn risk, the customers at risk and why, the models), and pipeline health.
"""

from __future__ import annotations

import datetime as dt

from markupsafe import Markup

from mlops.churn import RISK_BANDS
from orchestrator.dashboard import charts
from orchestrator.dashboard.reports import TREND_DAYS, WINDOW_DAYS, Reports, Row
from orchestrator.records import RunRecord, RunState, StepOutputs, StepRecord

NOT_BUILT = "not built yet: run the transform (winterdays run --date D, or winterdays transform)"
NO_PREDICTIONS = ("no predictions yet: run the churn step (winterdays train); the first model that passes "
                  "the gate becomes champion and scores")
NO_MODEL = "no registered model yet: run the churn step (winterdays train)"
STEP_ORDER = ("export", "compile", "invoke", "wait", "churn")
FUNNEL = (("sessions", "sessions"), ("viewed a product", "product_view_sessions"),
          ("added to cart", "add_to_cart_sessions"), ("checked out", "checkout_sessions"),
          ("purchased", "purchase_sessions"))
METRICS = (("ROC AUC", "roc_auc"), ("PR AUC", "pr_auc"), ("Brier", "brier"), ("calibration error", "calibration_error"))
BUCKETS = [round(i / 20, 2) for i in range(20)]  # rpt_churn_risk_distribution's probability buckets


def _empty(rows: object, otherwise: str) -> str:
    return NOT_BUILT if rows is None else otherwise


def _days(last: dt.date, count: int) -> list[dt.date]:
    return [last - dt.timedelta(days=count - 1 - i) for i in range(count)]


# -- before ML -----------------------------------------------------------------------------------
def before_ml(reports: Reports) -> list[Markup]:
    window = reports.sales_window()
    if not window:
        why = _empty(window, "no sales yet")
        sales = [charts.figure(n, t, "", 0, empty=why) for n, t in (
            ("revenue_by_day", "Revenue by day"), ("revenue_by_region", "Revenue by region"),
            ("revenue_by_channel", "Revenue by channel"), ("top_products", "Top products"))]
    else:
        sales = [_revenue_by_day(reports, window), _revenue_by("region", reports, window),
                 _revenue_by("channel", reports, window), _top_products(reports, window)]
    return [*sales, _active_customers(reports), *_clicks(reports), _startups(reports)]


def _revenue_by_day(reports: Reports, window: Row) -> Markup:
    rows = {r["sale_date"]: r for r in reports.revenue_by_day(window) or []}
    days = _days(window["last_day"], TREND_DAYS)
    others = f"; also sold in {', '.join(window['other_currencies'])}" if window["other_currencies"] else ""
    return charts.line_chart(
        "revenue_by_day", f"Revenue by day ({window['currency']}, completed sales)",
        [d.strftime("%b %d") for d in days], {"revenue": [rows.get(d, {}).get("revenue", 0.0) for d in days]},
        note=f"{TREND_DAYS} days up to {window['last_day']}; rpt_revenue_daily{others}")


def _revenue_by(dimension: str, reports: Reports, window: Row) -> Markup:
    rows = reports.revenue_by(dimension, window) or []
    return charts.bar_chart(
        f"revenue_by_{dimension}", f"Revenue by {dimension} ({window['currency']}, last {WINDOW_DAYS} days)",
        [(r["label"], r["revenue"]) for r in rows], empty="no completed sales in the window")


def _top_products(reports: Reports, window: Row) -> Markup:
    rows = reports.top_products(window) or []
    return charts.bar_chart(
        "top_products", f"Top products by revenue ({window['currency']}, last {WINDOW_DAYS} days)",
        [(f"{r['product_id']} · {r['product_category']}", r["revenue_30d"]) for r in rows],
        labels=[f"{charts.compact(r['revenue_30d'])} ({r['units_30d']:.0f} units)" for r in rows],
        empty="no completed sales in the window", note="rpt_top_products, revenue_rank 1-10")


def _active_customers(reports: Reports) -> Markup:
    rows = reports.active_customers()
    return charts.line_chart(
        "active_customers", "Active customers",
        [r["activity_date"].strftime("%b %d") for r in rows or []],
        {"bought in the last 90 days": [r["active_customers_90d"] for r in rows or []],
         "in the last 30 days": [r["active_customers_30d"] for r in rows or []]},
        empty=_empty(rows, "no active customers yet"),
        note="as the churn features count them: what was known at the end of each day")


def _clicks(reports: Reports) -> list[Markup]:
    rows = reports.click_days()
    if not rows:
        why = _empty(rows, "no clickstream yet")
        return [charts.figure("click_funnel", "Clickstream funnel", "", 0, empty=why),
                charts.figure("bounce_rate", "Bounce rate", "", 0, empty=why)]
    recent = rows[-WINDOW_DAYS:]
    totals = [(label, sum(r[column] for r in recent)) for label, column in FUNNEL]
    sessions = totals[0][1] or 1
    funnel = charts.bar_chart(
        "click_funnel", f"Clickstream funnel (sessions, last {len(recent)} days)", totals,
        labels=[f"{charts.compact(v)} ({v / sessions:.0%})" for _, v in totals],
        note="sessions that reached each step, anonymous visitors included; rpt_click_funnel")
    bounce = charts.line_chart(
        "bounce_rate", "Bounce rate (single-event sessions)", [r["event_date"].strftime("%b %d") for r in rows],
        {"bounce rate": [r["bounce_rate"] for r in rows]}, fmt=charts.percent)
    return [funnel, bounce]


def _startups(reports: Reports) -> Markup:
    rows = reports.startups_by_stage()
    return charts.bar_chart(
        "startups_by_stage", "Startups by funding stage (current versions)",
        [(r["funding_stage"], r["startups"]) for r in rows or []],
        labels=[f"{r['startups']:.0f} ({r['active_startups']:.0f} active)" for r in rows or []],
        empty=_empty(rows, "no startups yet: the weekly feed has not arrived"), note="in the order of maturity")


# -- after ML ------------------------------------------------------------------------------------
def after_ml(reports: Reports) -> list[Markup]:
    return [_risk_distribution(reports), _at_risk(reports), *_models(reports)]


def _risk_distribution(reports: Reports) -> Markup:
    rows = reports.risk_distribution()
    if not rows:
        return charts.figure("churn_risk_distribution", "Churn risk distribution", "", 0,
                             empty=_empty(rows, NO_PREDICTIONS))
    per_bucket = {b: 0.0 for b in BUCKETS}
    per_band: dict[str, float] = {}
    for r in rows:
        per_bucket[round(r["probability_bucket"], 2)] += r["customers"]
        per_band[r["risk_band"]] = per_band.get(r["risk_band"], 0) + r["customers"]
    bands = ", ".join(f"{band} {per_band.get(band, 0):.0f}" for _, band in reversed(RISK_BANDS))
    floors = ", ".join(f"{band} from {floor:.1f}" for floor, band in RISK_BANDS if floor > 0)
    return charts.column_chart(
        "churn_risk_distribution",
        f"Churn risk distribution (snapshot {rows[0]['snapshot_date']}, customers per probability bucket)",
        [(f"{b:.2f}", per_bucket[b]) for b in BUCKETS],
        note=f"model {rows[0]['model_version']}; risk bands: {bands} ({floors})")


def _at_risk(reports: Reports) -> Markup:
    rows = reports.at_risk()
    latest = reports.latest_predictions()
    shown = rows[0]["snapshot_date"] if rows else None
    title = "Customers most at risk, and their main drivers" + (f" (snapshot {shown})" if shown else "")
    older = ""
    if latest and latest != shown:  # a re-run of an earlier date rebuilt the features up to that date
        older = (f"Predictions of {latest} exist, but customer_churn_features no longer holds that snapshot (an "
                 "earlier date was run since): " + (f"showing {shown}, the latest snapshot with both. " if shown
                                                    else "run the latest date again to see them. "))
    tie = ""
    if rows and len(rows) > 1 and len({r["churn_probability"] for r in rows}) == 1:
        tie = (f"All {len(rows)} shown share the probability {rows[0]['churn_probability']:.3f}: the model does not "
               "rank them apart, and ties are listed by customer id. ")
    return charts.table(
        "at_risk_customers", title,
        ["#", "customer", "churn probability", "band", "region / channel", "main drivers (customer vs median)"],
        [[r["risk_rank"], r["customer_id"], f"{r['churn_probability']:.3f}", r["risk_band"],
          f"{r['region']} / {r['channel']}", _drivers(r)] for r in rows or []],
        empty=_empty(rows, older or NO_PREDICTIONS),
        note=older + tie + "Drivers: the model's features on which the customer sits on the churners' side of "
             "the snapshot's median (the side churners leaned to in the labelled history), strongest first. They "
             "describe the customer; they are not the model's own attribution. rpt_churn_at_risk")


def _drivers(row: Row) -> str:
    parts = []
    for n in (1, 2, 3):
        if row.get(f"driver_{n}"):
            fmt = charts.percent if "rate" in row[f"driver_{n}"] else charts.compact
            parts.append(f"{row[f'driver_{n}_label']} {fmt(row[f'driver_{n}_value'])} "
                         f"(median {fmt(row[f'driver_{n}_median'])})")
    return "; ".join(parts) or "none above the median"


def _models(reports: Reports) -> list[Markup]:
    rows = reports.model_metrics()
    why = _empty(rows, NO_MODEL)
    rows = rows or []
    labels = [f"{r['model_version'].removeprefix('churn-')[:6]}{' ★' if r['is_champion'] else ''}" for r in rows]
    lines = charts.line_chart(
        "model_metrics", "Model metrics across registered versions (holdout)", labels,
        {name: [r[column] for r in rows] for name, column in METRICS},
        fmt=lambda v: f"{v:.2f}", empty=why, note="★ champion; failed candidates are not registered (see the runs)")
    versions = charts.table(
        "model_versions", "Registered model versions",
        ["version", "trained as of", "registered (UTC)", "holdout rows", "ROC AUC", "PR AUC", "Brier", "ECE",
         "top-decile lift", "champion"],
        [[r["model_version"], r["snapshot_date"], _when(r["registered_at"]), f"{r['holdout_rows']:.0f}",
          *(_metric(r[c]) for c in ("roc_auc", "pr_auc", "brier", "calibration_error", "top_decile_lift")),
          "yes" if r["is_champion"] else ""] for r in reversed(rows)],
        empty=why, note="rpt_model_metrics (gold fct_model_metrics_churn, written by the register step)")
    return [lines, versions]


def _metric(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, dt.datetime) else str(value or "")


# -- pipeline health -----------------------------------------------------------------------------
def health(reports: Reports, runs: list[RunRecord] | None, ledger_error: str) -> list[Markup]:
    why = ledger_error or "no runs yet: winterdays run --date D (or POST /runs)"
    runs = runs or []
    table = charts.table(
        "recent_runs", "Recent runs",
        ["run", "date", "state", "trigger", "attempt", "created (UTC)", "duration", "outcome"],
        [[r["run_id"], r["logical_date"], r["state"], r.get("trigger", ""), r.get("attempt", 1),
          _when(r.get("created_at")), f"{_duration(r):.1f} s", _outcome(r)] for r in runs], empty=why)
    timed = [(r["run_id"], {s: _seconds(r.get("steps", {}).get(s)) for s in STEP_ORDER}) for r in runs]
    durations = charts.stacked_bars(
        "step_durations", "Step durations (seconds)", [t for t in timed if sum(t[1].values()) > 0], STEP_ORDER,
        fmt=lambda v: f"{v:.1f} s", empty=why,
        note="per run, newest first; a resumed run keeps the times of the steps that had succeeded")
    return [table, durations, _rejects(reports, runs)]


def _seconds(step: StepRecord | None) -> float:
    return (step.get("duration_s") if step else None) or 0.0


def _outputs(run: RunRecord, name: str) -> StepOutputs:
    step = run.get("steps", {}).get(name)
    return (step.get("outputs") if step else None) or {}


def _duration(run: RunRecord) -> float:
    return sum(_seconds(step) for step in run.get("steps", {}).values())


def _outcome(run: RunRecord) -> str:
    if run.get("state") == RunState.FAILED:
        return f"{run.get('failed_step', '?')} failed: {str(run.get('error', ''))[:160]}"
    return str(_outputs(run, "churn").get("summary", ""))


def _rejects(reports: Reports, runs: list[RunRecord]) -> Markup:
    rows = reports.rejects()
    bars = [(f"{r['source']}: {r['reject_reason']}", r["records"]) for r in rows or []]
    export = next(((r["run_id"], _outputs(r, "export")) for r in runs if _outputs(r, "export").get("reasons")), None)
    if export:
        bars += [(f"sales quarantine: {reason}", count) for reason, count in sorted(export[1]["reasons"].items())]
    note = "silver rejects (rpt_rejects, every bronze day)"
    if export:
        note += f"; the export's quarantine (contract breaches) of run {export[0]}"
    return charts.bar_chart("rejected_records", "Rejected records, by source and reason", bars, note=note,
                            empty=_empty(rows, "no rejected records") if not export else "")
