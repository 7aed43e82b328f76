// Helpers shared by the SQLX files: variables, pseudonymisation, bronze locations.

const vars = dataform.projectConfig.vars;

function sqlString(value) {
  return "'" + String(value).replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'";
}

// A keyed hash, identical to lakehouse.pii.keyed_hash in Python. The key is read from its one-row
// table (pass `ref("pii_key")`), never written into the SQL: views and job texts hold only the reference.
function keyedHash(keyTable, expression) {
  return `TO_HEX(SHA256(CONCAT((SELECT pseudonymisation_key FROM ${keyTable}), ${expression})))`;
}

function runDate() {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(vars.run_date)) {
    throw new Error(`var run_date must be YYYY-MM-DD, got ${vars.run_date}`);
  }
  return `DATE '${vars.run_date}'`;
}

function snapshotDays() {
  const days = Number(vars.snapshot_days);
  if (!Number.isInteger(days) || days < 0 || days > 3660) {
    throw new Error(`var snapshot_days must be an integer from 0 to 3660, got ${vars.snapshot_days}`);
  }
  return days;
}

function lookbackDays() {
  const days = Number(vars.lookback_days);
  if (!Number.isInteger(days) || days < 0 || days > 366) {
    throw new Error(`var lookback_days must be an integer from 0 to 366, got ${vars.lookback_days}`);
  }
  return days;
}

// The first bronze day an incremental run reads: the late-data lookback before its logical date,
// or the var window_from, which the orchestrator sets earlier after days that had no run.
function windowStart() {
  if (vars.window_from) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(vars.window_from)) {
      throw new Error(`var window_from must be YYYY-MM-DD, got ${vars.window_from}`);
    }
    return `LEAST(DATE '${vars.window_from}', DATE_SUB(${runDate()}, INTERVAL ${lookbackDays()} DAY))`;
  }
  return `DATE_SUB(${runDate()}, INTERVAL ${lookbackDays()} DAY)`;
}

// The bronze partitions an incremental run reads, up to its logical date. A filter on the hive
// partition column with constant bounds, so BigQuery and DuckDB prune the other files unread.
function inBronzeWindow(column) {
  return `${column} BETWEEN ${windowStart()} AND ${runDate()}`;
}

// Latest-wins, incrementally: the rows `fresh` brings plus the rows the table already keeps under
// the same keys, so the QUALIFY that follows picks the winner a full build would. `fresh` must have
// the table's columns in the table's order.
function withKept(fresh, keys, self) {
  return `SELECT * FROM ${fresh}
  UNION ALL
  SELECT kept.* FROM ${self} AS kept JOIN (SELECT DISTINCT ${keys.join(", ")} FROM ${fresh}) USING (${keys.join(", ")})`;
}

// The oldest date a fresh source may stop at: `days` before the run's logical date.
function freshnessCutoff(days) {
  return `DATE_SUB(${runDate()}, INTERVAL ${Number(days)} DAY)`;
}

// The longest text a field may hold (the export's MAX_STRING for sales): past it the value is a
// pasted payload, not a URL or a name.
const MAX_STRING = 1024;

// TRUE when any of the columns is longer than MAX_STRING. OR, not GREATEST: BigQuery's GREATEST
// is NULL as soon as one argument is.
function oversized(columns) {
  return "(" + columns.map((c) => `LENGTH(${c}) > ${MAX_STRING}`).join(" OR ") + ")";
}

// A line holds a record only if it has a non-blank character: blank lines (a trailing newline
// doubled, a CRLF file's stray \r) carry nothing to keep or reject.
function holdsRecord(column) {
  return `REGEXP_CONTAINS(${column}, r'\\S')`;
}

function bronzeUri(source) {
  return `${vars.bronze_uri.replace(/\/+$/, "")}/${source}`;
}

module.exports = {
  oversized, holdsRecord, keyedHash, runDate, snapshotDays, lookbackDays, inBronzeWindow, withKept, freshnessCutoff,
  bronzeUri, sqlString
};
