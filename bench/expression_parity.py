"""Benchmark: expression parity of the local warehouse with GoogleSQL's reference implementation.

Thousands of seeded expressions (tests/support/generated_expressions.py) are evaluated by the ZetaSQL local
service and by DuckDB through our translation; each outcome is counted: exact (same value and type,
or both raise: an error in both, a refusal included), refused (UnsupportedSQL where GoogleSQL answers),
raises (DuckDB raises where GoogleSQL answers), wrong type,
wrong answer. Needs `make test`'s install of tests/support/googlesql/.

    .venv/bin/python bench/expression_parity.py                 # 3,000 a set, seed 18
    .venv/bin/python bench/expression_parity.py --count 500 --seed 7 --show 20
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "support"))

from generated_expressions import SQLX, WIDER, generate, run  # noqa: E402
from googlesql_client import GoogleSQL  # noqa: E402
from googlesql_service import GoogleSQLServer  # noqa: E402

from lakehouse.warehouse.duckdb import DuckDBWarehouse  # noqa: E402

KINDS = ("exact", "both_raise", "refused", "raises", "wrong_type", "wrong_answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="expressions per set")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--show", type=int, default=10, help="wrong outcomes to print per set")
    args = parser.parse_args()
    server = GoogleSQLServer()
    server.start()
    try:
        googlesql = GoogleSQL(server.address)
        with DuckDBWarehouse(":memory:") as warehouse:
            print(f"| set | valid | {' | '.join(KINDS)} | exact share | s |")
            print(f"|---|---:|{'---:|' * len(KINDS)}---:|---:|")
            shown = []
            for name, templates in (("sqlx", SQLX), ("wider", WIDER)):
                started = time.perf_counter()
                report = run(googlesql, warehouse, generate(templates, args.count, args.seed))
                counts, valid = report.counts(), len(report.valid())
                cells = " | ".join(f"{counts.get(k, 0):,}" for k in KINDS)
                print(f"| {name} | {valid:,} | {cells} | {report.share('exact', 'both_raise'):.1%} "
                      f"| {time.perf_counter() - started:.1f} |")
                shown += [(name, o) for o in report.outcomes if o.kind not in ("exact", "both_raise")]
            by_kind = Counter((name, o.kind) for name, o in shown)
            printed: Counter = Counter()
            for name, outcome in shown:
                if outcome.kind in ("wrong_type", "wrong_answer", "raises") and printed[name] < args.show:
                    printed[name] += 1
                    print(f"- {name} {outcome.kind}: `{outcome.expression}`: {outcome.detail[:160]}")
            print(dict(by_kind))
        googlesql.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
