// The DuckDB side of scripts/bench-materialize: generates the benchmark
// source and computes the same thing materialization does (the latest row
// per key, by event time then created time), held in a table.
//
//   node bench_materialize.mjs generate FILE ROWS KEYS THREADS
//     FILE: ROWS rows (user_id over KEYS keys, event_timestamp over 90 days,
//     created, f1..f10 DOUBLE), snappy
//   node bench_materialize.mjs latest FILE THREADS   -> one JSON line
import { DuckDBInstance } from '@duckdb/node-api';

const [mode, file, a, b, c] = process.argv.slice(2);
const q = (s) => `'${s.replaceAll("'", "''")}'`;

async function connect(threads) {
  const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  return instance.connect();
}

if (mode === 'generate') {
  const rows = Number(a), keys = Number(b);
  const conn = await connect(Number(c));
  const t0 = "TIMESTAMPTZ '2026-01-01 00:00:00+00'";
  const span = `90::BIGINT * 86400 * 1000000`;
  const features = Array.from({ length: 10 }, (_, k) =>
    `(hash(i, ${k + 10}) % 1000000) / 1000.0 AS f${k + 1}`).join(',\n             ');
  await conn.run(`COPY (
      SELECT (i % ${keys})::BIGINT AS user_id,
             ${t0} + to_microseconds((hash(i, 1) % (${span}))::BIGINT) AS event_timestamp,
             ${t0} + to_microseconds((hash(i, 1) % (${span}))::BIGINT + (hash(i, 2) % 3600000000)::BIGINT) AS created,
             ${features}
      FROM range(${rows}) t(i)) TO ${q(file)} (FORMAT parquet, COMPRESSION snappy)`);
} else if (mode === 'latest') {
  const conn = await connect(Number(a));
  const start = process.hrtime.bigint();
  await conn.run(`CREATE TEMP TABLE latest AS
      SELECT * FROM read_parquet(${q(file)})
      QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY event_timestamp DESC, created DESC) = 1`);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const reader = await conn.runAndReadAll('SELECT count(*)::BIGINT AS n FROM latest');
  const keys = Number(reader.getRowObjects()[0].n);
  console.log(JSON.stringify({ engine: 'duckdb', seconds, keys,
                               peak_rss_mib: process.resourceUsage().maxRSS / 1024 }));
} else {
  console.error('usage: bench_materialize.mjs generate FILE ROWS KEYS THREADS | latest FILE THREADS');
  process.exit(2);
}
