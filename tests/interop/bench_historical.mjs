// The DuckDB side of scripts/bench-historical: generates the benchmark data
// and computes the same point-in-time join as Pantry, written to Parquet.
//
//   node bench_historical.mjs generate DIR ENTITY_ROWS THREADS
//     DIR/entities.parquet: ENTITY_ROWS rows (user_id, merchant_id,
//     event_timestamp, label) over ENTITY_ROWS users and ENTITY_ROWS/2
//     merchants; DIR/user_stats.parquet (10 rows per user, 6 features),
//     DIR/merchant_stats.parquet (10 rows per merchant, 3 features),
//     DIR/user_profile.parquet (5 rows per user, 2 features); 90 days; snappy
//   node bench_historical.mjs join DIR OUT THREADS   -> one JSON line
import { DuckDBInstance } from '@duckdb/node-api';

const [mode, dir, a, b, c] = process.argv.slice(2);
const q = (s) => `'${s.replaceAll("'", "''")}'`;

async function connect(threads) {
  const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  return instance.connect();
}

// 90 days from 2026-01-01, in microseconds.
const DAYS = 90;
const SPAN = `${DAYS}::BIGINT * 86400 * 1000000`;

if (mode === 'generate') {
  const entityRows = Number(a);
  const users = entityRows;            // 1M users for 1M entity rows
  const merchants = entityRows / 2;    // 500k merchants
  const conn = await connect(Number(b));
  const t0 = "TIMESTAMPTZ '2026-01-01 00:00:00+00'";
  // hash() spreads keys and times deterministically.
  await conn.run(`COPY (
      SELECT (hash(i, 1) % ${users})::BIGINT + 1 AS user_id,
             'm' || ((hash(i, 2) % ${merchants}) + 1)::VARCHAR AS merchant_id,
             ${t0} + to_microseconds((hash(i, 3) % (${SPAN}))::BIGINT) AS event_timestamp,
             (hash(i, 4) % 2)::INTEGER AS label
      FROM range(${entityRows}) t(i)) TO ${q(dir + '/entities.parquet')} (FORMAT parquet, COMPRESSION snappy)`);
  // 10 rows per user, 6 features.
  await conn.run(`COPY (
      SELECT (i % ${users})::BIGINT + 1 AS user_id,
             ${t0} + to_microseconds((hash(i, 5) % (${SPAN}))::BIGINT) AS event_timestamp,
             ${t0} + to_microseconds((hash(i, 5) % (${SPAN}))::BIGINT + (hash(i, 6) % 3600000000)::BIGINT) AS created,
             (hash(i, 7) % 500)::BIGINT AS txn_count_7d,
             (hash(i, 8) % 100000) / 100.0 AS avg_amount_7d,
             (hash(i, 9) % 100000) / 10.0 AS max_amount_7d,
             (hash(i, 10) % 50)::INTEGER AS distinct_merchants_7d,
             (hash(i, 11) % 1000) / 1000.0 AS decline_rate_7d,
             (hash(i, 12) % 90)::INTEGER AS days_active_90d
      FROM range(${users * 10}) t(i)) TO ${q(dir + '/user_stats.parquet')} (FORMAT parquet, COMPRESSION snappy)`);
  // 10 rows per merchant, 3 features.
  await conn.run(`COPY (
      SELECT 'm' || ((i % ${merchants}) + 1)::VARCHAR AS merchant_id,
             ${t0} + to_microseconds((hash(i, 13) % (${SPAN}))::BIGINT) AS event_timestamp,
             (hash(i, 14) % 1000) / 1000.0 AS risk_score,
             (hash(i, 15) % 100000)::BIGINT AS txn_count_30d,
             (hash(i, 16) % 1000) / 1000.0 AS chargeback_rate_30d
      FROM range(${merchants * 10}) t(i)) TO ${q(dir + '/merchant_stats.parquet')} (FORMAT parquet, COMPRESSION snappy)`);
  // 5 rows per user, 2 features (a profile that changes rarely).
  await conn.run(`COPY (
      SELECT (i % ${users})::BIGINT + 1 AS user_id,
             ${t0} + to_microseconds((hash(i, 17) % (${SPAN}))::BIGINT) AS event_timestamp,
             (hash(i, 18) % 80)::INTEGER + 18 AS age,
             ['FR', 'DE', 'US', 'GB', 'ES', 'IT'][1 + (hash(i, 19) % 6)::INTEGER] AS country
      FROM range(${users * 5}) t(i)) TO ${q(dir + '/user_profile.parquet')} (FORMAT parquet, COMPRESSION snappy)`);
  console.log(JSON.stringify({ mode, dir, entity_rows: entityRows }));
} else if (mode === 'join') {
  // The same semantics as Pantry: per view, among rows with the same keys and
  // event time <= entity time, the latest event time, then the largest
  // created time; rows older than the ttl give nulls. ttl: user_stats 7 days,
  // merchant_stats 30 days, user_profile none.
  const out = a;
  const conn = await connect(Number(b));
  const start = process.hrtime.bigint();
  const ttl = (days) => `INTERVAL ${days} DAY`;
  await conn.run(`COPY (
    WITH e AS (SELECT *, row_number() OVER () AS _row FROM read_parquet(${q(dir + '/entities.parquet')})),
    us AS (SELECT * FROM read_parquet(${q(dir + '/user_stats.parquet')})
           QUALIFY row_number() OVER (PARTITION BY user_id, event_timestamp ORDER BY created DESC) = 1),
    ms AS (SELECT * FROM read_parquet(${q(dir + '/merchant_stats.parquet')})
           QUALIFY row_number() OVER (PARTITION BY merchant_id, event_timestamp) = 1),
    up AS (SELECT * FROM read_parquet(${q(dir + '/user_profile.parquet')})
           QUALIFY row_number() OVER (PARTITION BY user_id, event_timestamp) = 1),
    j1 AS (SELECT e.*, us.event_timestamp AS _t1, us.txn_count_7d, us.avg_amount_7d, us.max_amount_7d,
                  us.distinct_merchants_7d, us.decline_rate_7d, us.days_active_90d
           FROM e ASOF LEFT JOIN us ON e.user_id = us.user_id AND e.event_timestamp >= us.event_timestamp),
    j2 AS (SELECT j1.*, ms.event_timestamp AS _t2, ms.risk_score, ms.txn_count_30d, ms.chargeback_rate_30d
           FROM j1 ASOF LEFT JOIN ms ON j1.merchant_id = ms.merchant_id AND j1.event_timestamp >= ms.event_timestamp),
    j3 AS (SELECT j2.*, up.age, up.country
           FROM j2 ASOF LEFT JOIN up ON j2.user_id = up.user_id AND j2.event_timestamp >= up.event_timestamp)
    SELECT user_id, merchant_id, event_timestamp, label,
      CASE WHEN _t1 > event_timestamp - ${ttl(7)} THEN txn_count_7d END AS txn_count_7d,
      CASE WHEN _t1 > event_timestamp - ${ttl(7)} THEN avg_amount_7d END AS avg_amount_7d,
      CASE WHEN _t1 > event_timestamp - ${ttl(7)} THEN max_amount_7d END AS max_amount_7d,
      CASE WHEN _t1 > event_timestamp - ${ttl(7)} THEN distinct_merchants_7d END AS distinct_merchants_7d,
      CASE WHEN _t1 > event_timestamp - ${ttl(7)} THEN decline_rate_7d END AS decline_rate_7d,
      CASE WHEN _t1 > event_timestamp - ${ttl(7)} THEN days_active_90d END AS days_active_90d,
      CASE WHEN _t2 > event_timestamp - ${ttl(30)} THEN risk_score END AS risk_score,
      CASE WHEN _t2 > event_timestamp - ${ttl(30)} THEN txn_count_30d END AS txn_count_30d,
      CASE WHEN _t2 > event_timestamp - ${ttl(30)} THEN chargeback_rate_30d END AS chargeback_rate_30d,
      age, country
    FROM j3 ORDER BY _row
  ) TO ${q(out)} (FORMAT parquet, COMPRESSION snappy)`);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ engine: 'duckdb', seconds, peak_rss_mib: process.resourceUsage().maxRSS / 1024 }));
} else {
  console.error('usage: bench_historical.mjs generate DIR ENTITY_ROWS THREADS | join DIR OUT THREADS');
  process.exit(2);
}
