// Writes test tables (lib/data.mjs) to Parquet with hyparquet-writer, using an
// explicit Parquet schema (so every logical type is exactly the one we mean)
// and per-column encodings. Codecs beyond SNAPPY/UNCOMPRESSED come from
// node:zlib (GZIP, BROTLI); Node 20 has no ZSTD or LZ4 compressor.
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { parquetWriteBuffer, parquetWriteFile } from 'hyparquet-writer';
import { physicalType } from './data.mjs';

export const COMPRESSORS = {
  GZIP: (bytes) => new Uint8Array(gzipSync(bytes)),
  BROTLI: (bytes) => new Uint8Array(brotliCompressSync(bytes)),
};

const INTS = { int8: [8, true], int16: [16, true], uint8: [8, false], uint16: [16, false],
  uint32: [32, false], uint64: [64, false] };
const TIME_UNITS = { ms: 'MILLIS', us: 'MICROS', ns: 'NANOS' };
const encoder = new TextEncoder();

// Schema element (without name/repetition) for a column or list item kind.
function leafElement(c) {
  const type = physicalType(c);
  if (INTS[c.kind]) {
    // Converted type only: hyparquet-writer serializes IntType.bitWidth as an
    // i32 instead of an i8, which arrow-rs and DuckDB reject (KNOWN_GAPS.md).
    const [bitWidth, isSigned] = INTS[c.kind];
    return { type, converted_type: `${isSigned ? '' : 'U'}INT_${bitWidth}` };
  }
  switch (c.kind) {
    case 'string': return { type, converted_type: 'UTF8', logical_type: { type: 'STRING' } };
    case 'enum': return { type, converted_type: 'ENUM', logical_type: { type: 'ENUM' } };
    case 'json': return { type, converted_type: 'JSON', logical_type: { type: 'JSON' } };
    case 'date': return { type, converted_type: 'DATE', logical_type: { type: 'DATE' } };
    case 'fixed': return { type, type_length: c.length };
    case 'timestamp': {
      const unit = TIME_UNITS[c.unit];
      // the legacy converted type only exists for UTC-adjusted MILLIS/MICROS
      const converted = c.utc && unit !== 'NANOS' ? `TIMESTAMP_${unit}` : undefined;
      return { type, converted_type: converted,
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: c.utc, unit } };
    }
    case 'decimal': {
      const { scale, precision } = c;
      const element = { type: physicalOf(c), converted_type: 'DECIMAL', scale, precision,
        logical_type: { type: 'DECIMAL', scale, precision } };
      if (element.type === 'FIXED_LEN_BYTE_ARRAY') element.type_length = decimalBytes(c.precision);
      return element;
    }
    default: return { type }; // BOOLEAN, INT32, INT64, FLOAT, DOUBLE, BYTE_ARRAY
  }
}

// Smallest byte count whose two's complement range holds `precision` digits.
function decimalBytes(precision) {
  let n = 1;
  while (2n ** BigInt(8 * n - 1) <= 10n ** BigInt(precision)) n++;
  return n;
}

// Schema elements for one column: a leaf, or the standard 3-level LIST.
function columnElements(c) {
  const repetition_type = c.required ? 'REQUIRED' : 'OPTIONAL';
  if (c.kind !== 'list') return [{ name: c.name, repetition_type, ...leafElement(c) }];
  return [
    { name: c.name, repetition_type, num_children: 1, converted_type: 'LIST',
      logical_type: { type: 'LIST' } },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: 'OPTIONAL', ...leafElement({ kind: c.item }) },
  ];
}

// JS values as hyparquet-writer takes them.
function columnValues(c) {
  if (c.kind === 'json') return c.values.map((v) => (v === null ? null : JSON.parse(v)));
  // ENUM text is not converted by the writer; DELTA_* encoders need bytes
  if (c.kind === 'enum') return c.values.map((v) => (v === null ? null : encoder.encode(v)));
  return c.values;
}

// The physical type a column is stored as (DECIMAL may be forced to BYTE_ARRAY).
export function physicalOf(c) {
  return c.storage ?? physicalType(c);
}

export function canWrite(column) {
  return physicalType(column) !== undefined;
}

// options: { codec, encodings: { columnName: ENCODING } | ENCODING for all,
//            rowGroupSize, pageSize }
export function writeHyparquet(file, columns, options = {}) {
  const schema = [{ name: 'root', num_children: columns.length },
    ...columns.flatMap(columnElements)];
  const encodingOf = (c) => (typeof options.encodings === 'string'
    ? options.encodings : options.encodings?.[c.name]);
  parquetWriteFile({
    filename: file,
    schema,
    columnData: columns.map((c) => ({
      name: c.name, data: columnValues(c), encoding: encodingOf(c),
    })),
    codec: options.codec ?? 'SNAPPY',
    compressors: COMPRESSORS,
    rowGroupSize: options.rowGroupSize ?? 100_000,
    pageSize: options.pageSize,
    createdBy: 'pantry interop (hyparquet-writer)',
  });
}

// INT96 timestamps (nanoseconds of the day, then the Julian day, both little
// endian). hyparquet-writer has no INT96 type, so the column is written as
// FIXED_LEN_BYTE_ARRAY(12) with PLAIN encoding (the same bytes) and no
// statistics, and the footer's two type fields for it (SchemaElement and
// ColumnMetaData: field 1, Thrift compact header 0x15, zigzag 7) are patched
// to INT96 (zigzag 3).
export function writeInt96(file, column, idColumn) {
  const NANOS_PER_DAY = 86_400_000_000_000n;
  const int96 = (nanos) => {
    const days = nanos / NANOS_PER_DAY - (nanos % NANOS_PER_DAY < 0n ? 1n : 0n);
    const bytes = new Uint8Array(12);
    const view = new DataView(bytes.buffer);
    view.setBigUint64(0, nanos - days * NANOS_PER_DAY, true);
    view.setUint32(8, Number(days + 2_440_588n), true); // Julian day of 1970-01-01
    return bytes;
  };
  const buffer = parquetWriteBuffer({
    schema: [{ name: 'root', num_children: 2 },
      { name: idColumn.name, type: 'INT32', repetition_type: 'REQUIRED' },
      { name: column.name, type: 'FIXED_LEN_BYTE_ARRAY', type_length: 12,
        repetition_type: 'OPTIONAL' }],
    columnData: [{ name: idColumn.name, data: idColumn.values },
      { name: column.name, data: column.values.map((v) => (v === null ? null : int96(v))),
        encoding: 'PLAIN' }],
    codec: 'UNCOMPRESSED',
    statistics: false,
    createdBy: 'pantry interop (hyparquet-writer, INT96 patched)',
  });
  const bytes = new Uint8Array(buffer);
  const footerLength = new DataView(buffer).getUint32(bytes.length - 8, true);
  const patched = [];
  for (let i = bytes.length - 8 - footerLength; i < bytes.length - 9; i++) {
    if (bytes[i] === 0x15 && bytes[i + 1] === 0x0e) patched.push(i);
  }
  if (patched.length !== 2) {
    throw new Error(`INT96 patch: expected 2 type fields, found ${patched.length}`);
  }
  for (const i of patched) bytes[i + 1] = 0x06;
  writeFileSync(file, bytes);
}
