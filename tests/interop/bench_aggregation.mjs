// The DuckDB side of scripts/bench-aggregation: generates the benchmark data
// and computes the same aggregation features as Pantry, written to Parquet.
//
//   node bench_aggregation.mjs generate DIR ENTITY_ROWS EVENTS THREADS
//     DIR/events/part-*.parquet: EVENTS raw events (user_id, ts, amount) over
//     ENTITY_ROWS/10 users and 30 days; DIR/entities.parquet: ENTITY_ROWS
//     rows (user_id, event_timestamp) over the same users and days; snappy
//   node bench_aggregation.mjs join DIR OUT THREADS   -> one JSON line
//
// The features (config/bench/aggregation_repo.yaml): count, sum, mean and
// max of amount over 1h (5m hops), 1d and 7d (1h hops): for each entity row
// the user's events with start <= ts <= t, start = (t - window) rounded down
// to the hop. DuckDB computes each window as a range join (an equi-join on
// the user, the time bounds as a filter) grouped by entity row: the fastest
// of the forms tried (window functions over a union of events and entity
// rows cannot express the hop-aligned start).
import { DuckDBInstance } from '@duckdb/node-api';

const [mode, dir, a, b, c] = process.argv.slice(2);
const q = (s) => `'${s.replaceAll("'", "''")}'`;

async function connect(threads) {
  const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  return instance.connect();
}

const DAYS = 30;
const SPAN = `${DAYS}::BIGINT * 86400 * 1000000`;
const t0 = "TIMESTAMPTZ '2026-01-01 00:00:00+00'";

if (mode === 'generate') {
  const entityRows = Number(a);
  const events = Number(b);
  const users = Math.max(1, Math.floor(entityRows / 10));
  const conn = await connect(Number(c));
  await conn.run(`COPY (
      SELECT (hash(i, 1) % ${users})::BIGINT + 1 AS user_id,
             ${t0} + to_microseconds((hash(i, 3) % (${SPAN}))::BIGINT) AS event_timestamp
      FROM range(${entityRows}) t(i)) TO ${q(dir + '/entities.parquet')} (FORMAT parquet, COMPRESSION snappy)`);
  const parts = 4;
  for (let p = 0; p < parts; ++p) {
    await conn.run(`COPY (
        SELECT (i % ${users})::BIGINT + 1 AS user_id,
               ${t0} + to_microseconds((hash(i, 5) % (${SPAN}))::BIGINT) AS ts,
               (hash(i, 6) % 100000) / 100.0 AS amount
        FROM range(${p} * ${events} // ${parts}, (${p} + 1) * ${events} // ${parts}) t(i))
        TO ${q(`${dir}/events/part-${p}.parquet`)} (FORMAT parquet, COMPRESSION snappy)`);
  }
  console.log(JSON.stringify({ mode, dir, entity_rows: entityRows, events }));
} else if (mode === 'join') {
  const out = a;
  const conn = await connect(Number(b));
  const start = process.hrtime.bigint();
  const windows = [['1h', 3600, 300], ['1d', 86400, 3600], ['7d', 7 * 86400, 3600]];
  const w = windows.map(([name, window, hop]) => `w_${name} AS (
      SELECT e._row, count(ev.t) AS n, sum(ev.amount) AS s, avg(ev.amount) AS m, max(ev.amount) AS x
      FROM e LEFT JOIN ev ON ev.user_id = e.user_id AND ev.t <= e._t
        AND ev.t >= (e._t - ${window}000000) // ${hop}000000 * ${hop}000000
      GROUP BY e._row)`).join(',\n');
  const cols = windows.map(([name]) =>
    `w_${name}.n AS txn_count_${name}, w_${name}.s AS amount_sum_${name}, ` +
    `w_${name}.m AS amount_mean_${name}, w_${name}.x AS amount_max_${name}`).join(', ');
  await conn.run(`COPY (
    WITH e AS (SELECT user_id, event_timestamp, epoch_us(event_timestamp) AS _t,
                      row_number() OVER () AS _row FROM read_parquet(${q(dir + '/entities.parquet')})),
    ev AS (SELECT user_id, epoch_us(ts) AS t, amount FROM read_parquet(${q(dir + '/events/*.parquet')})),
    ${w}
    SELECT e.user_id, e.event_timestamp, ${cols}
    FROM e ${windows.map(([name]) => `JOIN w_${name} USING (_row)`).join(' ')} ORDER BY e._row
  ) TO ${q(out)} (FORMAT parquet, COMPRESSION snappy)`);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ engine: 'duckdb', seconds, peak_rss_mib: process.resourceUsage().maxRSS / 1024 }));
} else {
  console.error('usage: bench_aggregation.mjs generate DIR ENTITY_ROWS EVENTS THREADS | join DIR OUT THREADS');
  process.exit(2);
}
