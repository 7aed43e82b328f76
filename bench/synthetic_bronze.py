"""Synthetic bronze at any scale, written by DuckDB straight to the bronze layout (no Firestore).

Same files the export and the generators write: sales as Parquet (contract v2.0.0 types)
hive-partitioned by the change date, with a share of sales refunded days later (a second
version of the same sale in a later partition); clickstream and startups as JSONL lines.
Deterministic for (seed, sizes). Used by bench/transform.py and the transform acceptance tests.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb


def write_bronze(root: Path, *, start: dt.date, days: int, sales: int, events: int, startups: int,
                 customers: int, refund_share: float = 0.05, seed: int = 7) -> dict[str, int]:
    root = Path(root)
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("SET preserve_insertion_order=false")
    # draw(row, stream, k): a deterministic pseudo-random BIGINT (hash() is unsigned, lists want BIGINT)
    con.execute("CREATE MACRO draw(a, b, c) AS CAST(hash(a, b, c) >> 2 AS BIGINT)")
    params = {"start": start, "days": days, "customers": customers, "seed": seed}
    _copy(con, _SALES.format(refund_share=refund_share), {**params, "n": sales}, root / "sales", "PARQUET")
    _copy(con, _CLICKS, {**params, "n": events}, root / "clickstream", "JSON")
    _copy(con, _STARTUPS, {**params, "n": startups}, root / "startups", "JSON")
    con.close()
    return {"sales": sales, "events": events, "startups": startups}


def _copy(con, select: str, params: dict, target: Path, fmt: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    sql = select
    for key, value in params.items():
        sql = sql.replace("$" + key, f"DATE '{value}'" if isinstance(value, dt.date) else str(value))
    options = "FORMAT PARQUET" if fmt == "PARQUET" else "FORMAT JSON"
    con.execute(f"COPY ({sql}) TO '{target}' ({options}, PARTITION_BY (dt), OVERWRITE_OR_IGNORE, "
                f"FILENAME_PATTERN 'part-{{i}}')")


# draw(i, seed, k) gives the k-th independent draw for row i
_SALES = """
WITH base AS (
  SELECT i,
    'S' || lpad(i::VARCHAR, 9, '0') AS sale_id,
    'C' || lpad((draw(i, $seed, 1) % $customers)::VARCHAR, 7, '0') AS customer_id,
    'P' || lpad((draw(i, $seed, 2) % 500)::VARCHAR, 4, '0') AS product_id,
    ['electronics', 'home', 'fashion', 'sports', 'books', 'beauty'][1 + draw(i, $seed, 3) % 6] AS product_category,
    1 + (draw(i, $seed, 4) % 3)::BIGINT AS quantity,
    CAST(5 + (draw(i, $seed, 5) % 20000) / 100.0 AS DECIMAL(18, 2)) AS unit_price,
    ['visa', 'paypal', 'sepa_debit'][1 + draw(i, $seed, 6) % 3] AS payment_method,
    ['north', 'south', 'east', 'west', 'central'][1 + draw(i, $seed, 7) % 5] AS region,
    ['web', 'mobile_app', 'store', 'partner'][1 + draw(i, $seed, 8) % 4] AS channel,
    $start + CAST(i % $days AS INTEGER) AS day,
    (draw(i, $seed, 9) % 1000) / 1000.0 AS draw,
    draw(i, $seed, 10) % 80000 AS second_of_day
  FROM range($n) AS r(i)
),
first_version AS (
  SELECT *,
    CAST(day AS TIMESTAMPTZ) + to_seconds(3600 + second_of_day) AS sale_timestamp,
    CASE WHEN draw < 0.03 THEN 'cancelled' WHEN draw < 0.05 THEN 'pending' ELSE 'completed' END AS status
  FROM base
),
versions AS (
  SELECT *, sale_timestamp + INTERVAL 30 SECOND AS updated_at FROM first_version
  UNION ALL  -- a later refund: the same sale, a new status, a later change date
  SELECT * REPLACE ('refunded' AS status),
         sale_timestamp + to_days(1 + CAST(draw(i, $seed, 11) % 20 AS INTEGER)) AS updated_at
  FROM first_version
  WHERE status = 'completed' AND draw >= 1 - {refund_share}
)
SELECT sale_id, customer_id, product_id, product_category, quantity, unit_price,
       CAST(quantity * unit_price AS DECIMAL(18, 2)) AS amount, 'EUR' AS currency, status, payment_method,
       CASE payment_method WHEN 'visa' THEN 'card' WHEN 'paypal' THEN 'wallet' ELSE 'bank' END
         AS payment_method_category,
       sha256(customer_id) AS contact_email_hashed, NULL::VARCHAR AS credit_card_last4, region, channel,
       sale_timestamp, '2.0.0' AS schema_version, updated_at, updated_at + INTERVAL 1 HOUR AS exported_at,
       CAST(updated_at AS DATE) AS dt
FROM versions
"""

_CLICKS = """
WITH e AS (
  SELECT i,
    $start + CAST(i % $days AS INTEGER) AS day,
    draw(i // 5, $seed, 21) AS session_draw,
    draw(i, $seed, 22) % 86000 AS second_of_day
  FROM range($n) AS r(i)
)
SELECT
  'E' || lpad(i::VARCHAR, 10, '0') AS event_id,
  'W' || lpad((i // 5)::VARCHAR, 9, '0') AS session_id,
  CASE WHEN session_draw % 10 < 3 THEN NULL
       ELSE 'C' || lpad((session_draw % $customers)::VARCHAR, 7, '0') END AS customer_id,
  ['page_view', 'product_view', 'add_to_cart', 'checkout', 'purchase', 'search'][1 + draw(i, $seed, 23) % 6]
    AS event_type,
  'https://shop.example.com/' AS page_url,
  NULL::VARCHAR AS referrer_domain,
  ['desktop', 'mobile', 'tablet'][1 + draw(i, $seed, 24) % 3] AS device_type_category,
  (session_draw % 7 = 0) AS is_bounce,
  strftime(CAST(day AS TIMESTAMP) + to_seconds(second_of_day), '%Y-%m-%dT%H:%M:%S.%gZ') AS event_timestamp,
  strftime(CAST(day AS TIMESTAMP) + to_seconds(second_of_day + 3600), '%Y-%m-%dT%H:%M:%S.%gZ') AS load_timestamp,
  '2.0.0' AS schema_version,
  day AS dt
FROM e
"""

_STARTUPS = """
WITH s AS (
  SELECT i, 'ST' || lpad(i::VARCHAR, 6, '0') AS startup_id, draw(i, $seed, 31) AS h FROM range($n) AS r(i)
),
weeks AS (SELECT w FROM range(0, CAST(ceil($days / 7.0) AS INTEGER)) AS r(w)),
versions AS (  -- a full load in week 0, then each week about 5% of companies move up a stage
  SELECT s.*, w, LEAST(5, (h % 3) + CAST(SUM(CASE WHEN w > 0 AND draw(i, w, $seed) % 20 = 0 THEN 1 ELSE 0 END)
         OVER (PARTITION BY i ORDER BY w) AS INTEGER)) AS stage,
         w = 0 OR draw(i, w, $seed) % 20 = 0 AS changed
  FROM s CROSS JOIN weeks
)
SELECT startup_id,
  'Company ' || i AS name,
  ['fintech', 'healthtech', 'climate', 'saas', 'ecommerce', 'edtech', 'ai'][1 + h % 7] AS sector,
  ['DE', 'FR', 'NL', 'ES'][1 + (h // 7) % 4] AS country,
  ['pre_seed', 'seed', 'series_a', 'series_b', 'series_c', 'growth'][1 + stage] AS funding_stage,
  1 + stage AS funding_stage_score,
  ['<1M', '<1M', '1M-10M', '10M-100M', '100M-1B', '>1B'][1 + stage] AS valuation_bucket,
  sha256(startup_id) AS contact_email_cleaned,
  TRUE AS is_active,
  strftime(DATE '2015-01-01' + CAST(h % 3000 AS INTEGER), '%Y-%m-%d') AS founded_date,
  strftime(CAST($start + CAST(7 * w AS INTEGER) AS TIMESTAMP) + INTERVAL 9 HOUR, '%Y-%m-%dT%H:%M:%SZ') AS updated_at,
  '2.0.0' AS schema_version,
  $start + CAST(7 * w AS INTEGER) AS dt
FROM versions
WHERE changed
"""
