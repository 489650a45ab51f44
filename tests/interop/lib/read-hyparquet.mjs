// Reads a Parquet file with hyparquet (+ hyparquet-compressors) and renders
// every row in the canonical JSON form. hyparquet's lossy conveniences are
// turned off: timestamps and dates come back as raw integers through custom
// parsers, unannotated BYTE_ARRAY stays binary (utf8: false), and DECIMAL
// annotations are hidden from the decoder so we get the unscaled integers.
import { readFileSync } from 'node:fs';
import { parquetMetadata, parquetSchema, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import * as C from './canonical.mjs';

const decoder = new TextDecoder();
const tagged = (unit) => (value) => ({ unit, value: BigInt(value) });
const PARSERS = {
  timestampFromMilliseconds: tagged('ms'),
  timestampFromMicroseconds: tagged('us'),
  timestampFromNanoseconds: tagged('ns'),
  dateFromDays: (days) => ({ days }),
  stringFromBytes: (bytes) => bytes && decoder.decode(bytes),
  jsonFromBytes: (bytes) => bytes && decoder.decode(bytes),
};
const TIMESTAMP_CONVERTED = { TIMESTAMP_MILLIS: 'ms', TIMESTAMP_MICROS: 'us' };

function isDecimal(e) {
  return e.converted_type === 'DECIMAL' || e.logical_type?.type === 'DECIMAL';
}

// Returns a function value -> JSON text for one schema node.
function formatterFor(node) {
  const e = node.element;
  const logical = e.logical_type?.type;
  if (node.children.length) {
    if (e.converted_type !== 'LIST' && logical !== 'LIST') {
      throw new Error(`hyparquet: no canonical form for group column ${e.name}`);
    }
    const repeated = node.children[0];
    // 3-level LIST (repeated group with one child); else legacy 2-level
    const leaf = repeated.children.length === 1 ? repeated.children[0] : repeated;
    const item = formatterFor(leaf);
    return (v) => C.jsonList(Array.from(v, (x) => (x == null ? C.NULL : item(x))));
  }
  if (isDecimal(e)) {
    const scale = e.scale ?? e.logical_type?.scale ?? 0;
    return (v) => C.jsonDecimal(v instanceof Uint8Array ? C.bigIntFromBytesBE(v) : v, scale);
  }
  if (logical === 'TIMESTAMP' || TIMESTAMP_CONVERTED[e.converted_type] || e.type === 'INT96') {
    // converted types and INT96 are defined as UTC-adjusted
    const utc = logical === 'TIMESTAMP' ? e.logical_type.isAdjustedToUTC : true;
    return (v) => C.jsonTimestamp(v.value, v.unit, utc);
  }
  if (logical === 'DATE' || e.converted_type === 'DATE') return (v) => C.jsonDate(v.days);
  const text = ['UTF8', 'ENUM', 'JSON'].includes(e.converted_type) ||
    ['STRING', 'ENUM', 'JSON'].includes(logical);
  if (text) return (v) => C.jsonString(typeof v === 'string' ? v : decoder.decode(v));
  const integer = logical === 'INTEGER' || /^U?INT_/.test(e.converted_type ?? '');
  if (!integer && (logical || e.converted_type)) {
    throw new Error(`hyparquet: no canonical form for column ${e.name} ` +
      `(${logical ?? e.converted_type})`);
  }
  switch (e.type) {
    case 'BOOLEAN': return C.jsonBool;
    case 'INT32': case 'INT64': return C.jsonInt;
    case 'FLOAT': case 'DOUBLE': return C.jsonDouble;
    case 'BYTE_ARRAY': case 'FIXED_LEN_BYTE_ARRAY': return C.jsonBinary;
    default: throw new Error(`hyparquet: no canonical form for column ${e.name} (${e.type})`);
  }
}

// Returns { columns, cells (per row, per column: JSON text), notes }.
// Reads all columns, or only `columns` (top-level names) when given.
export async function readHyparquet(file, { columns: only } = {}) {
  const buf = readFileSync(file);
  const bytes = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const metadata = parquetMetadata(bytes);
  const top = parquetSchema(metadata).children
    .filter((n) => !only || only.includes(n.element.name));
  const columns = top.map((n) => n.element.name);
  const formatters = top.map(formatterFor);
  // Same file metadata, but DECIMAL leaves without their annotation.
  const plain = { ...metadata, schema: metadata.schema.map((e) => (isDecimal(e)
    ? { ...e, converted_type: undefined, logical_type: undefined } : e)) };
  const objects = await parquetReadObjects({
    file: bytes, metadata: plain, compressors, utf8: false, parsers: PARSERS, columns: only,
  });
  const cells = objects.map((o) => columns.map((name, i) =>
    (o[name] == null ? C.NULL : formatters[i](o[name]))));
  return { columns, cells, notes: [] };
}
