// The test tables every writer in write.mjs draws from, in library-neutral
// form. A column is { name, kind, values, ...type parameters }; values hold
// null for SQL NULL, BigInt for 64-bit integers, timestamps (in the column's
// unit) and decimal unscaled values, days for dates, Uint8Array for binary,
// and arrays for lists. A writer takes the columns it can express.
import * as C from './canonical.mjs';

const bytes = (...b) => new Uint8Array(b);
const pattern = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff);
const LONG_TEXT = Array.from({ length: 120 }, (_, i) => `word${i} äöü`).join(' ');

const FLOAT_VALUES = [0.1, NaN, Infinity, -Infinity, -0, 1.401298464324817e-45,
  3.4028234663852886e38, 1.1754943508222875e-38, 1, -2.5, null];

// Timestamps per unit, as counts of that unit since 1970-01-01T00:00:00.
const TIMESTAMPS = {
  ms: [0n, 1n, -1n, 1234n, -1234n, 1700000000123n, -62135596800000n, 253402300799999n, null],
  us: [0n, 1n, -1n, 1234567n, -1234567n, 1700000000123456n, -62135596800000000n,
    253402300799999999n, 946684799999999n, null],
  ns: [0n, 1n, -1n, 1234567891n, -1234567891n, 1700000000123456789n, -2208988800000000000n,
    946684799999999999n, 9000000000000000000n, -9000000000000000000n, null],
};

export const TYPE_COLUMNS = [
  { name: 'b', kind: 'bool', values: [true, false, null] },
  { name: 'i8', kind: 'int8', values: [0, 1, -1, 127, -128, null] },
  { name: 'i16', kind: 'int16', values: [0, 32767, -32768, 255, null] },
  { name: 'i32', kind: 'int32', values: [0, 2147483647, -2147483648, 65536, -1, null] },
  { name: 'i64', kind: 'int64',
    values: [0n, 9223372036854775807n, -9223372036854775808n, 9007199254740993n, -1n, null] },
  { name: 'u8', kind: 'uint8', values: [0, 255, 128, null] },
  { name: 'u16', kind: 'uint16', values: [0, 65535, 32768, null] },
  { name: 'u32', kind: 'uint32', values: [0, 4294967295, 2147483648, 1, null] },
  { name: 'u64', kind: 'uint64',
    values: [0n, 18446744073709551615n, 9223372036854775808n, 1n, null] },
  // given as doubles; stored as the nearest float32
  { name: 'f32', kind: 'float', values: FLOAT_VALUES },
  { name: 'f64', kind: 'double', values: [0.1, NaN, Infinity, -Infinity, -0, 5e-324,
    1.7976931348623157e308, 2.2250738585072014e-308, 1e21, 1e-7, 123456789.125, -1, 0, 1 / 3,
    null] },
  { name: 's', kind: 'string', values: ['', 'a', 'héllo wörld', '日本語テキスト',
    '🎉 emoji 𝄞', 'quote " backslash \\ newline \n tab \t ctl \u0001', LONG_TEXT, null] },
  { name: 'bin', kind: 'binary',
    values: [bytes(), bytes(0), bytes(0xff, 0x00, 0x7f, 0x80), pattern(64), null] },
  { name: 'fix4', kind: 'fixed', length: 4,
    values: [bytes(0, 0, 0, 0), bytes(1, 2, 3, 4), bytes(0xff, 0xfe, 0xfd, 0xfc), null] },
  { name: 'en', kind: 'enum', symbols: ['red', 'green', 'blue'],
    values: ['red', 'green', 'blue', null] },
  { name: 'js', kind: 'json',
    values: ['{"a":1,"b":[true,null]}', '[1,2.5,"x"]', '"str"', '42', null] },
  { name: 'd', kind: 'date', values: [0, -1, 11016, -719162, 2932896, -25508, 19723, null] },
  ...['ms', 'us', 'ns'].flatMap((unit) => [true, false].map((utc) => ({
    name: `ts_${unit}${utc ? '_utc' : ''}`, kind: 'timestamp', unit, utc, values: TIMESTAMPS[unit],
  }))),
  { name: 'dec4_2', kind: 'decimal', precision: 4, scale: 2,
    values: [0n, 123n, -123n, 9999n, -9999n, 1n, null] },
  { name: 'dec9_3', kind: 'decimal', precision: 9, scale: 3,
    values: [0n, 999999999n, -999999999n, 123456789n, -1n, null] },
  { name: 'dec18_6', kind: 'decimal', precision: 18, scale: 6,
    values: [0n, 999999999999999999n, -999999999999999999n, 123456789012345678n, 1n, null] },
  { name: 'dec38_10', kind: 'decimal', precision: 38, scale: 10,
    values: [0n, 10n ** 38n - 1n, -(10n ** 38n - 1n), 12345678901234567890123456789n, -1n, null] },
  { name: 'dec38_36', kind: 'decimal', precision: 38, scale: 36,
    values: [0n, 123n * 10n ** 34n, -5n, 10n ** 38n - 1n, null] },
  { name: 'l_i32', kind: 'list', item: 'int32',
    values: [[1, 2, 3], [], null, [null], [4, null, -5], [2147483647, -2147483648]] },
  { name: 'l_f64', kind: 'list', item: 'double',
    values: [[0.1, NaN], [], null, [null, -0, Infinity, -Infinity], [1e300]] },
  { name: 'l_f32', kind: 'list', item: 'float',
    values: [[0.1], [], null, [null, NaN, -0], [3.5, -Infinity]] },
  { name: 'l_s', kind: 'list', item: 'string',
    values: [['a', ''], [], null, [null], ['日本', 'x'.repeat(50)]] },
];


// Rows of a table: row r takes values[r % values.length] of every column.
export function columnData(columns, rows) {
  return columns.map((c) => ({
    ...c, values: Array.from({ length: rows }, (_, r) => c.values[r % c.values.length]),
  }));
}

export const TYPE_ROWS = 48;

// The same columns with nulls removed, for REQUIRED (non-nullable) columns.
export function requiredColumns(columns) {
  return columns.map((c) => ({ ...c, required: true, values: c.values.filter((v) => v !== null) }));
}

// 10,000 rows for the many-row-groups / small-pages files.
export const BULK_ROWS = 10_000;
export function bulkColumns(rows = BULK_ROWS) {
  const idx = Array.from({ length: rows }, (_, i) => i);
  return [
    { name: 'id', kind: 'int64', values: idx.map((i) => BigInt(i)) },
    { name: 'n', kind: 'int32', values: idx.map((i) => (i % 7 === 3 ? null : i * 31 - 50_000)) },
    { name: 'x', kind: 'double', values: idx.map((i) => (i % 11 === 0 ? null : i / 8 - 300)) },
    { name: 'key', kind: 'string',
      values: idx.map((i) => (i % 13 === 0 ? null : `key-${i % 97}`)) },
    { name: 'tags', kind: 'list', item: 'int32',
      values: idx.map((i) => (i % 5 === 0 ? null
        : Array.from({ length: i % 4 }, (_, k) => i + k))) },
  ];
}

// The Parquet physical type a column (or a list's items) is stored as, by
// every writer here: used to pick the columns an encoding applies to.
export function physicalType(c) {
  const kind = c.kind === 'list' ? c.item : c.kind;
  if (kind === 'decimal') {
    return c.precision <= 9 ? 'INT32' : c.precision <= 18 ? 'INT64' : 'FIXED_LEN_BYTE_ARRAY';
  }
  return {
    bool: 'BOOLEAN', int8: 'INT32', int16: 'INT32', int32: 'INT32', uint8: 'INT32', uint16: 'INT32',
    uint32: 'INT32', date: 'INT32', int64: 'INT64', uint64: 'INT64', timestamp: 'INT64',
    float: 'FLOAT', double: 'DOUBLE', string: 'BYTE_ARRAY', binary: 'BYTE_ARRAY',
    enum: 'BYTE_ARRAY', json: 'BYTE_ARRAY', fixed: 'FIXED_LEN_BYTE_ARRAY',
  }[kind];
}

// INT96 timestamps (nanoseconds since the epoch), with a row id column.
export const INT96_COLUMNS = [
  { name: 'id', kind: 'int32', required: true, values: [0, 1, 2, 3, 4, 5, 6, 7] },
  { name: 't96', kind: 'int96', values: [0n, 1n, -1n, 1234567891n, -1234567891n,
    1700000000123456789n, -2208988800000000000n, null] },
];

// The canonical JSON text each value is meant to have once written and read
// back (FLOAT values are stored as the nearest float32).
function intendedCell(c, v) {
  if (v === null) return C.NULL;
  switch (c.kind) {
    case 'bool': return C.jsonBool(v);
    case 'float': return C.jsonDouble(Math.fround(v));
    case 'double': return C.jsonDouble(v);
    case 'string': case 'enum': case 'json': return C.jsonString(v);
    case 'binary': case 'fixed': return C.jsonBinary(v);
    case 'date': return C.jsonDate(v);
    case 'timestamp': return C.jsonTimestamp(v, c.unit, c.utc);
    case 'int96': return C.jsonTimestamp(v, 'ns', true);
    case 'decimal': return C.jsonDecimal(v, c.scale);
    case 'list': return C.jsonList(v.map((x) => intendedCell({ kind: c.item }, x)));
    default: return C.jsonInt(v);
  }
}

// Canonical JSON text per row and column for a table, as the writers are
// meant to store it.
export function intendedCells(columns) {
  return columns[0].values.map((_, r) => columns.map((c) => intendedCell(c, c.values[r])));
}
