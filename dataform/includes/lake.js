// Helpers shared by the SQLX files: variables, pseudonymisation, bronze locations.

const vars = dataform.projectConfig.vars;

function sqlString(value) {
  return "'" + String(value).replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'";
}

const PLACEHOLDER_KEY = "replace-me";

// A keyed hash, identical to lakehouse.pii.keyed_hash in Python. Fails closed: hashing with
// the placeholder (public) key would make the pseudonyms reversible by a dictionary attack.
function keyedHash(expression) {
  if (!vars.pii_key || vars.pii_key === PLACEHOLDER_KEY) {
    throw new Error(
      "var pii_key is not set: pass the pseudonymisation key (WINTERDAYS_PII_KEY) as a compile var, " +
      "e.g. `winterdays dataform compile`; the placeholder key is refused"
    );
  }
  return `TO_HEX(SHA256(CONCAT(${sqlString(vars.pii_key)}, ${expression})))`;
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

// The oldest date a fresh source may stop at: `days` before the run's logical date.
function freshnessCutoff(days) {
  return `DATE_SUB(${runDate()}, INTERVAL ${Number(days)} DAY)`;
}

function bronzeUri(source) {
  return `${vars.bronze_uri.replace(/\/+$/, "")}/${source}`;
}

module.exports = { keyedHash, runDate, snapshotDays, freshnessCutoff, bronzeUri, sqlString };
