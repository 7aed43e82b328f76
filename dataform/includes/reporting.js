// Helpers of the reporting views (definitions/reporting/): the churn model's features as rows.

// The churn model's numeric features (mlops/churn.py NUMERIC_FEATURES; a test keeps the two
// lists equal), each with what it means to a reader of the report.
const CHURN_FEATURES = [
  ["recency_days", "days since the last purchase"],
  ["tenure_days", "days since the first purchase"],
  ["frequency_30d", "purchases in the last 30 days"],
  ["frequency_prev_30d", "purchases in the 30 days before"],
  ["frequency_90d", "purchases in the last 90 days"],
  ["monetary_30d", "spend in the last 30 days"],
  ["monetary_prev_30d", "spend in the 30 days before"],
  ["monetary_trend", "spend change on the previous 30 days"],
  ["refunds_90d", "refunds in the last 90 days"],
  ["refund_rate_90d", "refund rate over 90 days"],
  ["events_30d", "site events in the last 30 days"],
  ["events_prev_30d", "site events in the 30 days before"],
  ["sessions_30d", "sessions in the last 30 days"],
  ["bounce_rate_30d", "bounce rate over 30 days"],
  ["add_to_carts_30d", "add-to-carts in the last 30 days"],
];

const DRIVERS = 3; // how many main drivers the at-risk report names per customer

// One row per (row of `from`, feature): the `keys` columns, feature, feature_label, value.
// UNION ALL rather than UNNEST of STRUCTs, which the local engine cannot read faithfully.
function featureRows(from, keys) {
  const kept = keys.join(", ");
  return CHURN_FEATURES.map(([name, label]) =>
    `SELECT ${kept}, '${name}' AS feature, '${label}' AS feature_label, CAST(${name} AS FLOAT64) AS value ${from}`
  ).join("\nUNION ALL\n");
}

// driver_1, driver_1_label, driver_1_value, driver_1_median, ... from rows numbered by driver_rank.
function driverColumns() {
  const columns = [];
  for (let n = 1; n <= DRIVERS; n++) {
    columns.push(`MAX(IF(driver_rank = ${n}, feature, NULL)) AS driver_${n}`);
    columns.push(`MAX(IF(driver_rank = ${n}, feature_label, NULL)) AS driver_${n}_label`);
    columns.push(`MAX(IF(driver_rank = ${n}, value, NULL)) AS driver_${n}_value`);
    columns.push(`MAX(IF(driver_rank = ${n}, median_value, NULL)) AS driver_${n}_median`);
  }
  return columns.join(",\n    ");
}

module.exports = { CHURN_FEATURES, DRIVERS, featureRows, driverColumns };
