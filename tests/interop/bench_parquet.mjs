// The DuckDB side of scripts/bench-parquet: generates the benchmark file and
// times DuckDB's own scan and write of it, with a fixed thread count.
//
//   node bench_parquet.mjs generate FILE ROWS THREADS
//   node bench_parquet.mjs scan FILE THREADS       -> one JSON line
//   node bench_parquet.mjs write FILE THREADS OUT  -> one JSON line
import { DuckDBInstance } from '@duckdb/node-api';

const [mode, file, a, b, c] = process.argv.slice(2);

async function connect(threads) {
  const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  return instance.connect();
}

function peakRssMiB() {
  // resourceUsage().maxRSS is in KiB.
  return process.resourceUsage().maxRSS / 1024;
}

const quote = (s) => `'${s.replaceAll("'", "''")}'`;

if (mode === 'generate') {
  const rows = Number(a);
  const conn = await connect(Number(b));
  // 8 columns: an int64 key, two timestamps, two doubles, an int, a bool and
  // a low-cardinality string; DuckDB's default row groups, snappy.
  await conn.run(`COPY (
      SELECT
        (i * 7919) % ${rows} AS entity_id,
        TIMESTAMP '2026-01-01' + to_microseconds((i * 1000003) % 7776000000000) AS event_timestamp,
        TIMESTAMP '2026-01-01' + to_microseconds((i * 1000003) % 7776000000000 + 5000000) AS created,
        (i % 100000) / 7.0 AS amount,
        random() AS score,
        (i % 1000)::INTEGER AS txn_count,
        i % 3 = 0 AS is_fraud,
        ['web', 'ios', 'android', 'pos', 'atm'][1 + i % 5] AS channel
      FROM range(${rows}) t(i)
    ) TO ${quote(file)} (FORMAT parquet, COMPRESSION snappy)`);
  console.log(JSON.stringify({ mode, file, rows }));
} else if (mode === 'scan') {
  const conn = await connect(Number(a));
  const start = process.hrtime.bigint();
  const reader = await conn.runAndReadAll(`SELECT
      sum(entity_id), min(event_timestamp), max(event_timestamp), min(created), max(created),
      sum(amount), sum(score), sum(txn_count), count_if(is_fraud), sum(length(channel)), count(*)
    FROM read_parquet(${quote(file)})`);
  const rows = reader.getRows();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ engine: 'duckdb', mode, threads: Number(a), seconds,
    rows: Number(rows[0][10]), peak_rss_mib: peakRssMiB() }));
} else if (mode === 'write') {
  const conn = await connect(Number(a));
  await conn.run(`CREATE TABLE t AS SELECT * FROM read_parquet(${quote(file)})`);
  const start = process.hrtime.bigint();
  await conn.run(`COPY t TO ${quote(b)} (FORMAT parquet, COMPRESSION snappy)`);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const count = (await conn.runAndReadAll('SELECT count(*) FROM t')).getRows()[0][0];
  console.log(JSON.stringify({ engine: 'duckdb', mode, threads: Number(a), seconds,
    rows: Number(count), peak_rss_mib: peakRssMiB() }));
} else {
  console.error('usage: bench_parquet.mjs generate|scan|write ...');
  process.exit(2);
}
