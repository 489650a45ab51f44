// The DuckDB side of historical_duckdb_test: computes point-in-time joins
// (docs/point-in-time.md) with DuckDB from the Parquet files alone.
//
//   node pit_duckdb.mjs SPEC.json
//
// SPEC.json: {"cases": [CASE, ...]}, each CASE
//   {"name": "seed 3",
//    "entities": "/abs/entities.parquet",   // entity rows
//    "timestamp_column": "event_timestamp", // their event time
//    "entity_columns": ["label", ...],      // passed through, in this order
//    "views": [{"name": "user_stats",
//               "glob": "/abs/users/**/*.parquet",  // the source's files
//               "keys": ["user_id"],                 // join keys
//               "time": {"column": "event_timestamp", "kind": "timestamp"},
//               "created": {"column": "created", "kind": "timestamp"} | null,
//               "ttl_micros": 10000000}],            // 0: no lower bound
//    "outputs": [{"view": 0, "column": "txn_count", "name": "txn_count",
//                 "type": "BIGINT"}],                // after the entity columns
//    "output": "/abs/OUT_duckdb.parquet"}
// Time kinds: "timestamp" (TIMESTAMP or TIMESTAMPTZ, any unit: naive values
// read as UTC), "date" (midnight UTC), "micros" (INT64 microseconds).
//
// Per view: the source rows with non-null keys and time; per (keys, event
// time) the row with the largest created time (nulls lowest); an ASOF LEFT
// JOIN takes, per entity row, the latest of those at or before its time;
// features are kept only when that time is after entity time - ttl. Rows in
// the entity file's order. Source rows tying on keys, event time and created
// time fail the case: Pantry takes the last in file order, DuckDB any, so
// the test data must not have them. Globs are read without hive partition
// columns. Writes each case's output with the columns cast
// to the given DuckDB types (TIMESTAMPTZ for UNIX_TIMESTAMP), and prints one
// JSON line per case: {"name", "ok": true, "rows"} or {"name", "ok": false,
// "error"}. Exits 1 when a case failed, 2 on bad usage.
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const q = (s) => `'${String(s).replaceAll("'", "''")}'`;
const id = (s) => `"${String(s).replaceAll('"', '""')}"`;

// A time column as BIGINT microseconds since the epoch.
function micros(spec, table) {
  const col = `${table}.${id(spec.column)}`;
  switch (spec.kind) {
    case 'timestamp': return `epoch_us(${col})`;
    case 'date': return `epoch_us(CAST(${col} AS TIMESTAMP))`;
    case 'micros': return `CAST(${col} AS BIGINT)`;
    default: throw new Error(`unknown time kind '${spec.kind}'`);
  }
}

// The rows of view `v` (index i) that can win: keys and time present, and
// per (keys, time) the one with the largest created time (nulls lowest: a
// row with a null created time wins only when all of its group have one).
// fullTies() makes sure that this leaves one row per (keys, time).
// Not `QUALIFY row_number() OVER (... ORDER BY _c DESC NULLS LAST) = 1`:
// DuckDB 1.5.6 rewrites that to arg_max_nulls_last (top_n_window_elimination),
// which picks the wrong row when the first row of a group has a NULL _c and
// other columns are selected:
//   SELECT * FROM (VALUES (1, NULL::BIGINT, 'a'), (1, 30, 'b'), (1, 20, 'c'))
//     t(k, c, v) QUALIFY row_number() OVER (PARTITION BY k ORDER BY c DESC
//     NULLS LAST) = 1   -- gives (1, 20, 'c')
function viewRows(v, i, outputs) {
  const feats = outputs.map((o, k) => [o, k]).filter(([o]) => o.view === i);
  const created = v.created ? micros(v.created, 'src') : 'NULL::BIGINT';
  const cols = [
    ...v.keys.map((k) => `src.${id(k)} AS ${id(k)}`),
    `${micros(v.time, 'src')} AS _t`,
    `${created} AS _c`,
    ...feats.map(([o, k]) => `src.${id(o.column)} AS _f${k}`),
  ];
  const rows = `SELECT ${cols.join(', ')}
      FROM read_parquet(${q(v.glob)}, hive_partitioning = false) src
      WHERE ${[...v.keys.map((k) => `src.${id(k)}`), micros(v.time, 'src')]
        .map((c) => `${c} IS NOT NULL`).join(' AND ')}`;
  const groupKeys = [...v.keys.map(id), '_t'];
  return `WITH r AS (${rows}),
      g AS (SELECT ${groupKeys.join(', ')}, max(_c) AS _m FROM r GROUP BY ${groupKeys.join(', ')})
    SELECT r.* FROM r JOIN g
      ON ${groupKeys.map((k) => `r.${k} = g.${k}`).join(' AND ')} AND r._c IS NOT DISTINCT FROM g._m`;
}

// Rows of view i that tie on keys, time and created time: the test data must
// have none (Pantry takes the last in file order, DuckDB any).
function fullTies(v) {
  const created = v.created ? micros(v.created, 'src') : 'NULL::BIGINT';
  return `SELECT count(*) AS n FROM (
      SELECT 1 FROM read_parquet(${q(v.glob)}, hive_partitioning = false) src
      WHERE ${[...v.keys.map((k) => `src.${id(k)}`), micros(v.time, 'src')]
        .map((c) => `${c} IS NOT NULL`).join(' AND ')}
      GROUP BY ${[...v.keys.map((k) => `src.${id(k)}`), micros(v.time, 'src'), created].join(', ')}
      HAVING count(*) > 1)`;
}

function joinQuery(c) {
  const ctes = [];
  ctes.push(`j0 AS (SELECT *, file_row_number AS _row,
                           ${micros({ column: c.timestamp_column, kind: 'timestamp' }, 'e')} AS _et
                    FROM read_parquet(${q(c.entities)}, file_row_number = true) e)`);
  c.views.forEach((v, i) => {
    ctes.push(`s${i} AS (${viewRows(v, i, c.outputs)})`);
    const feats = c.outputs.map((o, k) => [o, k]).filter(([o]) => o.view === i);
    const on = [...v.keys.map((k) => `j${i}.${id(k)} = s${i}.${id(k)}`), `j${i}._et >= s${i}._t`];
    ctes.push(`j${i + 1} AS (
        SELECT j${i}.*, s${i}._t AS _t${i}${feats.map(([, k]) => `, s${i}._f${k}`).join('')}
        FROM j${i} ASOF LEFT JOIN s${i} ON ${on.join(' AND ')})`);
  });
  const select = [
    ...c.entity_columns.map((e) => id(e)),
    ...c.outputs.map((o, k) => {
      const ttl = BigInt(c.views[o.view].ttl_micros);
      const fresh = ttl === 0n ? 'TRUE' : `_t${o.view} > _et - ${ttl}::BIGINT`;
      return `CASE WHEN _t${o.view} IS NOT NULL AND ${fresh} THEN CAST(_f${k} AS ${o.type}) END AS ${id(o.name)}`;
    }),
  ];
  return `WITH ${ctes.join(',\n')}
    SELECT ${select.join(', ')} FROM j${c.views.length} ORDER BY _row`;
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length !== 1) {
    console.error('usage: node pit_duckdb.mjs SPEC.json');
    process.exit(2);
  }
  const spec = JSON.parse(readFileSync(args[0], 'utf8'));
  const instance = await DuckDBInstance.create(':memory:', {
    threads: '1', // the machine is shared; the data is small
    autoinstall_known_extensions: 'false', // never reach for the network
  });
  const conn = await instance.connect();
  // TIMESTAMPTZ casts of naive times and dates read them as UTC.
  await conn.run("SET TimeZone = 'UTC'");
  let failed = false;
  for (const c of spec.cases) {
    try {
      for (const v of c.views) {
        const ties = (await conn.runAndReadAll(fullTies(v))).getRowObjectsJson()[0].n;
        if (Number(ties) !== 0) {
          throw new Error(`view ${v.name}: ${ties} groups of rows tie on keys, time and created time`);
        }
      }
      // No dictionaries: DuckDB 1.5.6's Parquet writer puts -0.0 and 0.0 of
      // one column chunk into one dictionary entry, so a -0.0 can come back
      // as 0.0 (or the other way round). PLAIN keeps every bit.
      await conn.run(`COPY (${joinQuery(c)}) TO ${q(c.output)} (FORMAT parquet, DICTIONARY_SIZE_LIMIT 0)`);
      const rows = (await conn.runAndReadAll(
        `SELECT count(*) AS n FROM read_parquet(${q(c.output)})`)).getRowObjectsJson()[0].n;
      console.log(JSON.stringify({ name: c.name, ok: true, rows: Number(rows) }));
    } catch (e) {
      failed = true;
      console.log(JSON.stringify({ name: c.name, ok: false, error: String(e && e.message || e) }));
    }
  }
  process.exit(failed ? 1 : 0);
}

await main();
