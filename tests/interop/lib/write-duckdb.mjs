// Writes test tables (lib/data.mjs) to Parquet with DuckDB: the columns go
// into a typed table through SQL literals, then COPY ... TO with the given
// Parquet options (COMPRESSION, PARQUET_VERSION, ROW_GROUP_SIZE, ...).
import { runDuckDB } from './read-duckdb.mjs';

const INT_TYPES = { int8: 'TINYINT', int16: 'SMALLINT', int32: 'INTEGER', int64: 'BIGINT',
  uint8: 'UTINYINT', uint16: 'USMALLINT', uint32: 'UINTEGER', uint64: 'UBIGINT' };
const SIMPLE_TYPES = { ...INT_TYPES, bool: 'BOOLEAN', float: 'FLOAT', double: 'DOUBLE',
  string: 'VARCHAR', binary: 'BLOB', json: 'JSON', date: 'DATE' };
// DuckDB has no UTC-adjusted millisecond or nanosecond timestamp type.
const TIMESTAMP_TYPES = { 'ms': 'TIMESTAMP_MS', 'us': 'TIMESTAMP', 'us_utc': 'TIMESTAMPTZ',
  'ns': 'TIMESTAMP_NS' };

// SQL type for a column or list item kind, or undefined if DuckDB can't write it.
function sqlType(c) {
  if (c.kind === 'list') return sqlType({ kind: c.item }) && `${sqlType({ kind: c.item })}[]`;
  if (c.kind === 'enum') return `ENUM(${c.symbols.map(quote).join(', ')})`;
  if (c.kind === 'timestamp') return TIMESTAMP_TYPES[c.unit + (c.utc ? '_utc' : '')];
  if (c.kind === 'decimal') return `DECIMAL(${c.precision}, ${c.scale})`;
  return SIMPLE_TYPES[c.kind];
}

export function canWrite(column) {
  return sqlType(column) !== undefined;
}

function quote(s) {
  return `'${s.replaceAll("'", "''")}'`;
}

function floatText(v) {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return Object.is(v, -0) ? '-0.0' : String(v);
}

// "-12.345" from unscaled -12345n and scale 3
function decimalText(unscaled, scale) {
  const digits = (unscaled < 0n ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const sign = unscaled < 0n ? '-' : '';
  return scale ? `${sign}${digits.slice(0, -scale)}.${digits.slice(-scale)}` : `${sign}${digits}`;
}

function literal(c, v) {
  if (v === null) return 'NULL';
  switch (c.kind) {
    case 'list': return `[${v.map((x) => literal({ kind: c.item }, x)).join(', ')}]`;
    case 'bool': return v ? 'TRUE' : 'FALSE';
    case 'float': return `${quote(floatText(Math.fround(v)))}::FLOAT`;
    case 'double': return `${quote(floatText(v))}::DOUBLE`;
    case 'string': case 'enum': case 'json': return quote(v);
    case 'binary': return `from_hex('${Buffer.from(v).toString('hex')}')`;
    case 'date': return `(DATE '1970-01-01' + ${v})`;
    case 'timestamp':
      if (c.unit === 'ns') return `make_timestamp_ns(${v})`;
      return `make_timestamp(${c.unit === 'ms' ? v * 1000n : v})`;
    case 'decimal': return quote(decimalText(v, c.scale));
    default: return String(v); // integers
  }
}

// Writes `columns` (all writable) to `file` with COPY options `options`
// (e.g. "COMPRESSION zstd, PARQUET_VERSION V2").
export async function writeDuckDB(file, columns, options = '') {
  const rows = columns[0].values.length;
  const ident = (name) => `"${name}"`;
  await runDuckDB('DROP TABLE IF EXISTS t');
  const definitions = columns.map((c) => `${ident(c.name)} ${sqlType(c)}`);
  await runDuckDB(`CREATE TABLE t (${definitions.join(', ')})`);
  const tuples = [];
  for (let r = 0; r < rows; r++) {
    tuples.push(`(${columns.map((c) => literal(c, c.values[r])).join(', ')})`);
  }
  for (let i = 0; i < tuples.length; i += 1000) {
    await runDuckDB(`INSERT INTO t VALUES ${tuples.slice(i, i + 1000).join(',\n')}`);
  }
  const opts = ['FORMAT parquet', options].filter(Boolean).join(', ');
  await runDuckDB(`COPY t TO ${quote(file)} (${opts})`);
}
