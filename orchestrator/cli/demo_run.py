"""`winterdays demo`: generate a history, run the whole pipeline locally, print what it built."""

from __future__ import annotations

import datetime as dt
import sys

from generators.jobs import Shard, Volumes, date_range, generate
from generators.population import EPOCH
from lakehouse.progress import Progress
from lakehouse.settings import Settings
from lakehouse.warehouse import Warehouse, connect
from orchestrator.engine import RunFailed, execute
from orchestrator.records import RunRecord
from orchestrator.resources import Resources, document_source
from orchestrator.run_log import detail_to
from orchestrator.steps import RunOptions

SOURCES = ("sales", "clickstream", "startups")
BAD_RATIO = 0.01  # a few defective records, so the quarantine and the rejects tables have work


def demo(settings: Settings, days: int, end: dt.date, customers: int, events: int) -> int:
    if not document_source(settings).emulated:  # never write a demo history into a real Firestore
        print("winterdays demo runs in local mode only (unset WINTERDAYS_MODE)", file=sys.stderr)
        return 2
    start = max(end - dt.timedelta(days=days - 1), EPOCH)  # nothing happened before the business opened
    volumes = Volumes.configured(settings.generators, customers=customers, events_per_day=events,
                                 bad_ratio=BAD_RATIO)
    detail = settings.storage.home / "logs" / f"demo-{end}.log"
    print(f"generating {start}..{end}, then running the pipeline for {end}; the detail goes to {detail}",
          flush=True)
    resources = Resources.from_settings(settings)
    with resources.documents.session():
        n = len(date_range(start, end))
        try:
            with detail_to(detail) as echo:
                terminal = echo.terminal
                counts = generate(settings, resources.documents, SOURCES, start, end, volumes, Shard(),
                                  progress=Progress(2 * n + len(range(0, n, 7)), "generate", terminal))
                terminal.write("  generated " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + "\n")
                # force: the demo regenerates the history, so a date that succeeded before runs again, and
                # rebuilds the warehouse from all of it (an earlier demo may have had other days or volumes)
                run = execute(resources, RunOptions(end, full_export=True, full_refresh=True), trigger="demo",
                              force=True)
        except RunFailed as failure:
            print(f"winterdays demo: {failure}\nthe whole log: {detail}", file=sys.stderr)
            return 1
    print(summary(settings, run))
    return 0


def summary(settings: Settings, run: RunRecord) -> str:
    warehouse = connect(settings.warehouse.uri)
    try:
        layers = {
            "bronze": _counts(warehouse, settings.warehouse.staging_dataset, "src_"),
            "silver": _counts(warehouse, settings.warehouse.staging_dataset, "stg_"),
            "gold": _counts(warehouse, settings.warehouse.dataset, ""),
        }
        scored = warehouse.table_exists(settings.warehouse.dataset, "fct_predictions_churn")  # not if no champion
        at_risk = scored and warehouse.query(
            f"SELECT p.customer_id, p.churn_probability, p.risk_band, d.region, d.channel, d.last_purchase_date "
            f"FROM `{settings.warehouse.dataset}.fct_predictions_churn` p "
            f"LEFT JOIN `{settings.warehouse.dataset}.dim_customer` d USING (customer_id) "
            f"WHERE p.snapshot_date = DATE '{run['logical_date']}' "
            f"ORDER BY p.churn_probability DESC, p.customer_id LIMIT 5"
        )
        quality = _champion_vs_oracle(settings, warehouse, dt.date.fromisoformat(run["logical_date"]))
    finally:
        warehouse.close()
    wait = run["steps"]["wait"].get("outputs", {})
    churn = run["steps"]["churn"].get("outputs", {})
    lines = [f"winter-days demo — run {run['run_id']} for {run['logical_date']}: {run['state']}", ""]
    for layer, tables in layers.items():
        lines.append(f"{layer:<7}" + ", ".join(f"{t} {n:,}" for t, n in tables.items()))
    lines += [
        "",
        f"assertions passed: {wait.get('assertions_passed', 0)} (failed {wait.get('assertions_failed', 0)})",
        f"churn model ROC AUC on held-out snapshots: {churn.get('roc_auc', float('nan')):.3f}",
        quality,
        f"churn pipeline: {churn.get('summary', 'no outcome recorded')}",
        "",
        "customers most at risk:",
    ]
    if not at_risk:
        lines.append(f"  none: no predictions for {run['logical_date']}")
    for row in at_risk or ():
        lines.append(f"  {row['customer_id']}  p={row['churn_probability']:.2f} ({row['risk_band']})  "
                     f"{row['region']}/{row['channel']}, last purchase {row['last_purchase_date']}")
    lines.append(f"\nwarehouse: {settings.warehouse.path}")
    return "\n".join(lines)


def _champion_vs_oracle(settings: Settings, warehouse: Warehouse, as_of: dt.date) -> str:
    """The champion (the model that scored) against the generator's true probabilities, same rows."""
    from mlops import churn
    from mlops.oracle import compare_with_oracle
    from mlops.registry import open_registry

    registry = open_registry(settings.churn.registry_uri)
    champion = registry.champion()
    if champion is None:
        return "champion vs oracle: no champion model yet"
    model = churn.load(registry.load(champion["version"]))
    q = compare_with_oracle(warehouse, settings.warehouse.dataset, settings.storage.oracle_uri, as_of, model)
    return (f"champion {champion['version']} vs the oracle on the same {q['rows']:,} held-out rows "
            f"({q['snapshots'][0]}..{q['snapshots'][1]}): ROC AUC {q['model_auc']:.3f} vs oracle "
            f"{q['oracle_auc']:.3f} ({q['model_auc'] / q['oracle_auc']:.1%}), top-decile lift "
            f"{q['model_lift']:.2f} vs {q['oracle_lift']:.2f}")


def _counts(warehouse: Warehouse, dataset: str, prefix: str) -> dict[str, int]:
    names = [t for t in warehouse.tables(dataset) if t.startswith(prefix) and not t.endswith("_checked")]
    return {t: warehouse.query(f"SELECT COUNT(*) AS n FROM `{dataset}.{t}`")[0]["n"] for t in names}
