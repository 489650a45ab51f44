// Reads a Parquet file with DuckDB (@duckdb/node-api) and renders every row
// in the canonical JSON form (lib/canonical.mjs), converting DuckDB's value
// classes by the result's column types.
import { DuckDBInstance, DuckDBTypeId } from '@duckdb/node-api';
import * as C from './canonical.mjs';

let connection; // one in-memory database per process, opened on first use

async function connect() {
  if (!connection) {
    const instance = await DuckDBInstance.create(':memory:', {
      threads: '1', // the machine is shared; the test files are small
      autoinstall_known_extensions: 'false', // never reach for the network
    });
    connection = await instance.connect();
  }
  return connection;
}

function sqlString(s) {
  return `'${s.replaceAll("'", "''")}'`;
}

// Returns a function value -> JSON text for a DuckDB column type. `int96`:
// the column is INT96 in the file, which the canonical form calls UTC-adjusted
// although DuckDB reads it as a plain TIMESTAMP.
function formatterFor(type, int96 = false) {
  const T = DuckDBTypeId;
  switch (type.typeId) {
    case T.BOOLEAN: return C.jsonBool;
    case T.TINYINT: case T.SMALLINT: case T.INTEGER: case T.BIGINT: case T.HUGEINT:
    case T.UTINYINT: case T.USMALLINT: case T.UINTEGER: case T.UBIGINT: case T.UHUGEINT:
      return C.jsonInt;
    case T.FLOAT: case T.DOUBLE: return C.jsonDouble;
    case T.VARCHAR: case T.ENUM: return (v) => C.jsonString(String(v));
    case T.BLOB: return (v) => C.jsonBinary(v.bytes);
    case T.DATE: return (v) => C.jsonDate(v.days);
    case T.TIMESTAMP_S: return (v) => C.jsonTimestamp(v.seconds, 's', false);
    case T.TIMESTAMP_MS: return (v) => C.jsonTimestamp(v.millis, 'ms', false);
    case T.TIMESTAMP: return (v) => C.jsonTimestamp(v.micros, 'us', int96);
    case T.TIMESTAMP_NS: return (v) => C.jsonTimestamp(v.nanos, 'ns', int96);
    case T.TIMESTAMP_TZ: return (v) => C.jsonTimestamp(v.micros, 'us', true);
    case T.DECIMAL: return (v) => C.jsonDecimal(v.value, v.scale);
    case T.LIST: {
      const item = formatterFor(type.valueType, int96);
      return (v) => C.jsonList(v.items.map((x) => (x === null ? C.NULL : item(x))));
    }
    default:
      throw new Error(`duckdb: no canonical form for type ${type.toString()}`);
  }
}

// Looks at the file's Parquet schema (as DuckDB parses it) for what the
// result types don't tell: which top-level columns hold INT96 values, and
// notes on values DuckDB can only give approximately (see KNOWN_GAPS.md).
async function schemaFacts(conn, file) {
  const result = await conn.runAndReadAll('SELECT name, type, num_children, logical_type ' +
    `FROM parquet_schema(${sqlString(file)})`);
  const int96 = new Set();
  const notes = [];
  // rows come in preorder; track the top-level column each row belongs to
  const [, ...rows] = result.getRows(); // the first row is the root
  let top = null;
  let pending = 0; // schema rows still to come in the current top-level column
  for (const [name, type, children, logical] of rows) {
    if (pending === 0) top = name;
    else pending--;
    pending += Number(children ?? 0);
    const text = String(logical ?? '');
    if (type === 'INT96') {
      int96.add(top);
      notes.push(`column ${top}: INT96 timestamp is read by DuckDB as TIMESTAMP ` +
        '(microseconds); sub-microsecond digits are lost');
    } else if (text.includes('isAdjustedToUTC=1') && text.includes('NANOS=NanoSeconds()')) {
      notes.push(`column ${top}: UTC-adjusted NANOS timestamp is read by DuckDB as ` +
        'TIMESTAMP WITH TIME ZONE (microseconds); sub-microsecond digits are lost');
    }
  }
  return { int96, notes };
}

// Returns { columns, cells (per row, per column: JSON text), notes }.
// Reads all columns, or only `columns` (top-level names) when given.
export async function readDuckDB(file, { columns: only } = {}) {
  const conn = await connect();
  const list = only ? only.map((c) => `"${c.replaceAll('"', '""')}"`).join(', ') : '*';
  const result = await conn.runAndReadAll(`SELECT ${list} FROM read_parquet(${sqlString(file)})`);
  const columns = result.columnNames();
  const { int96, notes } = await schemaFacts(conn, file);
  const formatters = result.columnTypes().map((t, i) => formatterFor(t, int96.has(columns[i])));
  const cells = result.getRows().map((row) =>
    row.map((v, i) => (v === null ? C.NULL : formatters[i](v))));
  const read = (note) => columns.some((c) => note.startsWith(`column ${c}:`));
  return { columns, cells, notes: notes.filter(read) };
}

// Runs SQL on the shared connection (used by the DuckDB writer).
export async function runDuckDB(sql) {
  const conn = await connect();
  await conn.run(sql);
}
