// Writes test tables (lib/data.mjs) to Parquet with parquet-wasm: columns are
// built as apache-arrow vectors (fixed-width ones straight from typed arrays,
// so 64-bit values and timestamps stay exact), passed over Arrow IPC, and
// written by arrow-rs with the given WriterProperties.
import { writeFileSync } from 'node:fs';
import * as A from 'apache-arrow';
import * as PW from 'parquet-wasm';

const TIME_UNITS = { ms: A.TimeUnit.MILLISECOND, us: A.TimeUnit.MICROSECOND,
  ns: A.TimeUnit.NANOSECOND };
const SIMPLE = {
  bool: () => new A.Bool(), int8: () => new A.Int8(), int16: () => new A.Int16(),
  int32: () => new A.Int32(), int64: () => new A.Int64(), uint8: () => new A.Uint8(),
  uint16: () => new A.Uint16(), uint32: () => new A.Uint32(), uint64: () => new A.Uint64(),
  float: () => new A.Float32(), double: () => new A.Float64(), string: () => new A.Utf8(),
  binary: () => new A.Binary(), date: () => new A.DateDay(),
};

// Arrow type for a column or list item kind, or undefined if not writable.
function arrowType(c) {
  switch (c.kind) {
    case 'fixed': return new A.FixedSizeBinary(c.length);
    case 'timestamp': return new A.Timestamp(TIME_UNITS[c.unit], c.utc ? 'UTC' : null);
    case 'decimal': return new A.Decimal(c.scale, c.precision, 128);
    case 'list': {
      const item = arrowType({ kind: c.item });
      return item && new A.List(new A.Field('item', item, true));
    }
    default: return SIMPLE[c.kind]?.();
  }
}

export function canWrite(column) {
  return arrowType(column) !== undefined;
}

function validityBitmap(values) {
  const bitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => { if (v !== null) bitmap[i >> 3] |= 1 << (i & 7); });
  return bitmap;
}

// Decimal128 unscaled values as little-endian two's complement 32-bit words.
function decimalWords(values) {
  const words = new Uint32Array(values.length * 4);
  values.forEach((v, i) => {
    let x = BigInt.asUintN(128, v ?? 0n);
    for (let w = 0; w < 4; w++, x >>= 32n) words[i * 4 + w] = Number(x & 0xffffffffn);
  });
  return words;
}

// Fixed-width columns from their raw buffer; the rest through Arrow builders.
function vectorFor(c) {
  const type = arrowType(c);
  const raw = (data) => A.makeVector(A.makeData({
    type, length: c.values.length, nullCount: c.values.filter((v) => v === null).length,
    nullBitmap: validityBitmap(c.values), data,
  }));
  switch (c.kind) {
    case 'timestamp': return raw(BigInt64Array.from(c.values, (v) => v ?? 0n));
    case 'date': return raw(Int32Array.from(c.values, (v) => v ?? 0));
    case 'decimal': return raw(decimalWords(c.values));
    case 'int64': return raw(BigInt64Array.from(c.values, (v) => v ?? 0n));
    case 'uint64': return raw(BigUint64Array.from(c.values, (v) => v ?? 0n));
    default: return A.vectorFromArray(c.values, type);
  }
}

// Builds WriterProperties from a plain description:
// { compression, version: 1|2, dictionary, encoding, pageSize, batchSize, rowGroupSize }
function writerProperties(o) {
  let b = new PW.WriterPropertiesBuilder()
    .setCompression(PW.Compression[o.compression ?? 'UNCOMPRESSED'])
    .setWriterVersion(o.version === 2 ? PW.WriterVersion.V2 : PW.WriterVersion.V1)
    .setDictionaryEnabled(o.dictionary ?? true)
    .setCreatedBy('pantry interop (parquet-wasm)');
  if (o.encoding) b = b.setEncoding(PW.Encoding[o.encoding]);
  if (o.pageSize) b = b.setDataPageSizeLimit(o.pageSize);
  if (o.batchSize) b = b.setWriteBatchSize(o.batchSize);
  if (o.rowGroupSize) b = b.setMaxRowGroupSize(o.rowGroupSize);
  return b.build();
}

export function writeArrow(file, columns, options = {}) {
  const data = columns.map((c) => vectorFor(c).data[0]);
  // non-nullable fields become REQUIRED columns
  const fields = columns.map((c, i) => new A.Field(c.name, data[i].type, !c.required));
  const schema = new A.Schema(fields);
  const batch = new A.RecordBatch(schema, A.makeData({
    type: new A.Struct(fields), length: columns[0].values.length, children: data,
  }));
  const ipc = A.tableToIPC(new A.Table(batch), 'stream');
  writeFileSync(file, PW.writeParquet(PW.Table.fromIPCStream(ipc), writerProperties(options)));
}
