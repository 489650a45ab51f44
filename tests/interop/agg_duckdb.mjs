// The DuckDB side of aggregation_duckdb_test: computes aggregation features
// (docs/concepts.md, "Aggregations") with DuckDB SQL from the Parquet files
// alone: for each entity row, a range join on the entity's distinct events
// with start <= event time <= t, start = (t - window) rounded down to the hop.
//
//   node agg_duckdb.mjs SPEC.json
//
// SPEC.json: {"events": "/abs/events/*.parquet",   // user_id, ts, columns
//             "entities": "/abs/entities.parquet", // rid, user_id, event_timestamp
//             "aggregations": [{"name", "function", "column" (or ""),
//                               "window_us", "hop_us", "n"}]}
// Prints one JSON line per entity row, by rid: {"rid": 0, "<name>": value}.
// Exits 1 on a DuckDB error.
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const q = (s) => `'${String(s).replaceAll("'", "''")}'`;
const id = (s) => `"${String(s).replaceAll('"', '""')}"`;

function expression(a) {
  const c = a.column ? `ev.${id(a.column)}` : null;
  const some = c ? `count(${c}) > 0` : 'count(ev.t) > 0';
  switch (a.function) {
    case 'count': return c ? `count(${c})` : 'count(ev.t)';
    case 'sum': return `sum(${c})`;
    case 'mean': return `avg(${c})`;
    case 'stddev': return `stddev_pop(${c})`;
    case 'min': return `min(${c})`;
    case 'max': return `max(${c})`;
    case 'last': return `arg_max(${c}, ev.t) FILTER (WHERE ${c} IS NOT NULL)`;
    case 'last_n':
      return `CASE WHEN ${some} THEN list_slice(list(${c} ORDER BY ev.t DESC) FILTER (WHERE ${c} IS NOT NULL), 1, ${a.n}) END`;
    case 'approx_count_distinct': return `CASE WHEN ${some} THEN count(DISTINCT ${c}) END`;
    default: throw new Error(`unknown function ${a.function}`);
  }
}

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
try {
  await con.run(`CREATE TABLE ev AS SELECT DISTINCT * EXCLUDE (ts), epoch_us(ts) AS t
                 FROM read_parquet(${q(spec.events)})`);
  await con.run(`CREATE TABLE e AS SELECT rid, user_id, epoch_us(event_timestamp) AS t
                 FROM read_parquet(${q(spec.entities)})`);
  const rows = new Map();
  for (const a of spec.aggregations) {
    const sql = `SELECT e.rid AS rid, ${expression(a)} AS v FROM e LEFT JOIN ev
        ON ev.user_id = e.user_id AND ev.t <= e.t
       AND ev.t >= ((e.t - ${a.window_us}) // ${a.hop_us}) * ${a.hop_us}
      GROUP BY e.rid ORDER BY e.rid`;
    const reader = await con.runAndReadAll(sql);
    for (const [rid, v] of reader.getRowsJS()) {
      const key = Number(rid);
      if (!rows.has(key)) rows.set(key, { rid: key });
      rows.get(key)[a.name] = typeof v === 'bigint' ? Number(v) : v;
    }
  }
  for (const key of [...rows.keys()].sort((x, y) => x - y)) {
    console.log(JSON.stringify(rows.get(key), (k, v) => (typeof v === 'bigint' ? Number(v) : v)));
  }
} catch (e) {
  console.error(String(e));
  process.exit(1);
}
