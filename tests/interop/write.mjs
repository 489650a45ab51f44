// Usage: node write.mjs OUTDIR
// Writes the interop matrix: Parquet files from DuckDB, parquet-wasm
// (arrow-rs) and hyparquet-writer covering types, nulls, REQUIRED columns,
// codecs, dictionary on/off, data page v1/v2, encodings and many row groups.
// For each NAME.parquet it writes NAME.expected.jsonl (the rows as read back
// by the writer's own reader, in the canonical JSON form) and lists all files
// in MANIFEST.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as D from './lib/data.mjs';
import * as duckdb from './lib/write-duckdb.mjs';
import * as arrow from './lib/write-arrow.mjs';
import * as hyparquet from './lib/write-hyparquet.mjs';
import { readCanonical } from './lib/readers.mjs';
import { fileLayout } from './lib/layout.mjs';

// Writer library -> the reader that produces its expected rows.
export const WRITERS = {
  duckdb: { library: '@duckdb/node-api', reader: 'duckdb' },
  arrow: { library: 'parquet-wasm', reader: 'arrow' },
  hyparquet: { library: 'hyparquet-writer', reader: 'hyparquet' },
};

// Physical types each writer accepts for each non-default encoding
// (beyond these, parquet-wasm panics and hyparquet-writer throws).
const ENCODINGS = {
  arrow: {
    RLE: ['BOOLEAN'],
    DELTA_BINARY_PACKED: ['INT32', 'INT64'],
    DELTA_LENGTH_BYTE_ARRAY: ['BYTE_ARRAY'],
    DELTA_BYTE_ARRAY: ['BYTE_ARRAY', 'FIXED_LEN_BYTE_ARRAY'],
    BYTE_STREAM_SPLIT: ['INT32', 'INT64', 'FLOAT', 'DOUBLE', 'FIXED_LEN_BYTE_ARRAY'],
  },
  hyparquet: {
    RLE: ['BOOLEAN'],
    DELTA_BINARY_PACKED: ['INT32', 'INT64'],
    DELTA_LENGTH_BYTE_ARRAY: ['BYTE_ARRAY'],
    DELTA_BYTE_ARRAY: ['BYTE_ARRAY'],
    BYTE_STREAM_SPLIT: ['INT32', 'INT64', 'FLOAT', 'DOUBLE', 'FIXED_LEN_BYTE_ARRAY'],
  },
};

const table = (columns, rows = D.TYPE_ROWS) => D.columnData(columns, rows);
const lower = (s) => s.toLowerCase();

// hyparquet-writer can also store a DECIMAL as a variable-length BYTE_ARRAY.
const DECIMAL_AS_BYTE_ARRAY = { ...D.TYPE_COLUMNS.find((c) => c.name === 'dec38_10'),
  name: 'dec38_10_ba', storage: 'BYTE_ARRAY' };

// Every file of the matrix: { name, writer, exercises, columns, write(file, columns) }.
// `exercises` tags what a file is for: types, nulls, required, int96,
// page:v1|v2, parquet_version:V2, dictionary:on|off|auto, codec:X,
// encoding:X, row_groups:many, pages:small.
export function matrix() {
  const files = [];
  const add = (writer, name, exercises, columns, write) =>
    files.push({ name: `${writer}_${name}`, writer, exercises, columns, write });
  const TYPES = ['types', 'nulls'];
  const V2_ENCODINGS = ['encoding:DELTA_BINARY_PACKED', 'encoding:DELTA_LENGTH_BYTE_ARRAY',
    'encoding:BYTE_STREAM_SPLIT'];
  const bulk = D.bulkColumns();

  // DuckDB: COPY options. No page size, encoding or REQUIRED control, and
  // PARQUET_VERSION V2 only switches to the V2 encodings: pages stay DATA_PAGE.
  const dd = table(D.TYPE_COLUMNS.filter(duckdb.canWrite));
  const ddWrite = (opts) => (file, cols) => duckdb.writeDuckDB(file, cols, opts);
  const V2_PLAIN = 'COMPRESSION zstd, PARQUET_VERSION V2, DICTIONARY_SIZE_LIMIT 0';
  add('duckdb', 'types_v1', [...TYPES, 'page:v1', 'dictionary:on', 'codec:SNAPPY'], dd,
    ddWrite('COMPRESSION snappy'));
  add('duckdb', 'types_v1_plain', [...TYPES, 'page:v1', 'dictionary:off', 'codec:SNAPPY'], dd,
    ddWrite('COMPRESSION snappy, DICTIONARY_SIZE_LIMIT 0'));
  add('duckdb', 'types_v2', [...TYPES, 'page:v1', 'parquet_version:V2', 'dictionary:on',
    'codec:SNAPPY'], dd, ddWrite('COMPRESSION snappy, PARQUET_VERSION V2'));
  add('duckdb', 'types_v2_plain', [...TYPES, 'page:v1', 'parquet_version:V2', 'dictionary:off',
    'codec:ZSTD', ...V2_ENCODINGS], dd, ddWrite(V2_PLAIN));
  // The same without the INT32 columns whose neighbouring values differ by
  // 2^31 or more (see KNOWN_GAPS.md), so arrow-rs can check the rest.
  add('duckdb', 'types_v2_plain_narrow', [...TYPES, 'page:v1', 'parquet_version:V2',
    'dictionary:off', 'codec:ZSTD', ...V2_ENCODINGS],
  dd.filter((c) => !['i32', 'u32', 'l_i32'].includes(c.name)), ddWrite(V2_PLAIN));
  for (const codec of ['UNCOMPRESSED', 'GZIP', 'ZSTD', 'LZ4_RAW', 'BROTLI']) {
    add('duckdb', `codec_${lower(codec)}`, [...TYPES, 'page:v1', `codec:${codec}`], dd,
      ddWrite(`COMPRESSION ${lower(codec)}`));
  }
  add('duckdb', 'rowgroups_v2', ['row_groups:many', 'page:v1', 'parquet_version:V2',
    'codec:ZSTD'], bulk, ddWrite('ROW_GROUP_SIZE 1000, PARQUET_VERSION V2, COMPRESSION zstd'));

  // parquet-wasm: WriterProperties.
  const ar = table(D.TYPE_COLUMNS.filter(arrow.canWrite));
  const arWrite = (opts) => (file, cols) => arrow.writeArrow(file, cols, opts);
  for (const version of [1, 2]) {
    const page = `page:v${version}`;
    add('arrow', `types_v${version}`, [...TYPES, page, 'dictionary:on', 'codec:SNAPPY'], ar,
      arWrite({ version, compression: 'SNAPPY' }));
    add('arrow', `types_v${version}_plain`, [...TYPES, page, 'dictionary:off', 'codec:SNAPPY'], ar,
      arWrite({ version, compression: 'SNAPPY', dictionary: false }));
  }
  for (const codec of ['UNCOMPRESSED', 'GZIP', 'BROTLI', 'LZ4', 'ZSTD', 'LZ4_RAW']) {
    add('arrow', `codec_${lower(codec)}`, [...TYPES, 'page:v1', `codec:${codec}`], ar,
      arWrite({ compression: codec }));
  }
  for (const [encoding, physical] of Object.entries(ENCODINGS.arrow)) {
    const columns = ar.filter((c) => physical.includes(D.physicalType(c)));
    for (const version of [1, 2]) {
      add('arrow', `enc_${lower(encoding)}_v${version}`,
        [`encoding:${encoding}`, `page:v${version}`, 'dictionary:off'], columns,
        arWrite({ version, encoding, dictionary: false, compression: 'SNAPPY' }));
    }
  }
  add('arrow', 'required', ['types', 'required', 'page:v1'],
    table(D.requiredColumns(D.TYPE_COLUMNS.filter(arrow.canWrite))),
    arWrite({ compression: 'SNAPPY' }));
  add('arrow', 'rowgroups_v1', ['row_groups:many', 'pages:small', 'page:v1', 'dictionary:off'],
    bulk, arWrite({ version: 1, compression: 'ZSTD', rowGroupSize: 1000, dictionary: false,
      pageSize: 512, batchSize: 64 }));
  add('arrow', 'rowgroups_v2', ['row_groups:many', 'pages:small', 'page:v2', 'dictionary:on'],
    bulk, arWrite({ version: 2, compression: 'ZSTD', rowGroupSize: 1000, pageSize: 256,
      batchSize: 16 }));

  // hyparquet-writer: data page v2 only; per-column encodings.
  const hyColumns = [...D.TYPE_COLUMNS.filter(hyparquet.canWrite), DECIMAL_AS_BYTE_ARRAY];
  const hy = table(hyColumns);
  const hyWrite = (opts) => (file, cols) => hyparquet.writeHyparquet(file, cols, opts);
  const dictionaryEverywhere = Object.fromEntries(hy.filter((c) => c.kind !== 'bool')
    .map((c) => [c.name, 'RLE_DICTIONARY']));
  add('hyparquet', 'types', [...TYPES, 'page:v2', 'dictionary:auto', 'codec:SNAPPY'], hy,
    hyWrite({}));
  add('hyparquet', 'types_plain', [...TYPES, 'page:v2', 'dictionary:off', 'encoding:PLAIN'], hy,
    hyWrite({ encodings: 'PLAIN' }));
  add('hyparquet', 'types_dict', [...TYPES, 'page:v2', 'dictionary:on'], hy,
    hyWrite({ encodings: dictionaryEverywhere }));
  for (const codec of ['UNCOMPRESSED', 'GZIP', 'BROTLI']) {
    add('hyparquet', `codec_${lower(codec)}`, [...TYPES, 'page:v2', `codec:${codec}`], hy,
      hyWrite({ codec }));
  }
  for (const [encoding, physical] of Object.entries(ENCODINGS.hyparquet)) {
    const columns = hy.filter((c) => physical.includes(hyparquet.physicalOf(c)));
    add('hyparquet', `enc_${lower(encoding)}`, [`encoding:${encoding}`, 'page:v2',
      'dictionary:off'], columns, hyWrite({ encodings: encoding }));
  }
  add('hyparquet', 'required', ['types', 'required', 'page:v2'],
    table(D.requiredColumns(hyColumns)), hyWrite({}));
  add('hyparquet', 'int96', ['int96', 'nulls', 'page:v2', 'codec:UNCOMPRESSED'], D.INT96_COLUMNS,
    (file, [id, t96]) => hyparquet.writeInt96(file, t96, id));
  add('hyparquet', 'rowgroups', ['row_groups:many', 'pages:small', 'page:v2'], bulk,
    hyWrite({ rowGroupSize: 1000, pageSize: 1024 }));
  return files;
}

// Writes every file into outDir; returns the manifest.
export async function writeMatrix(outDir) {
  mkdirSync(outDir, { recursive: true });
  const manifest = { generated_by: 'tests/interop/write.mjs', files: [] };
  for (const spec of matrix()) {
    const file = join(outDir, `${spec.name}.parquet`);
    await spec.write(file, spec.columns);
    const { reader, library } = WRITERS[spec.writer];
    const { rows, notes } = await readCanonical(reader, file);
    writeFileSync(join(outDir, `${spec.name}.expected.jsonl`), rows.map((r) => `${r}\n`).join(''));
    manifest.files.push({
      file: `${spec.name}.parquet`,
      expected: `${spec.name}.expected.jsonl`,
      writer: spec.writer,
      library,
      expected_reader: reader,
      exercises: spec.exercises,
      columns: spec.columns.map(describeColumn),
      ...(notes.length ? { reader_notes: notes } : {}),
      layout: fileLayout(file),
    });
  }
  writeFileSync(join(outDir, 'MANIFEST.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

// "ts_ns_utc: timestamp(ns, utc)" style summary of a test column.
function describeColumn(c) {
  const item = c.kind === 'list' ? `<${c.item}>` : '';
  const params = c.kind === 'timestamp' ? `(${c.unit}${c.utc ? ', utc' : ''})`
    : c.kind === 'decimal' ? `(${c.precision},${c.scale}${c.storage ? `, ${c.storage}` : ''})`
      : c.kind === 'fixed' ? `(${c.length})` : '';
  return `${c.name}: ${c.required ? 'required ' : ''}${c.kind}${item}${params}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outDir = process.argv[2];
  if (!outDir) {
    console.error('usage: node write.mjs OUTDIR');
    process.exit(64);
  }
  const started = Date.now();
  const manifest = await writeMatrix(resolve(outDir));
  const counts = {};
  for (const f of manifest.files) counts[f.writer] = (counts[f.writer] ?? 0) + 1;
  console.log(`wrote ${manifest.files.length} files to ${outDir} ` +
    `(${Object.entries(counts).map(([w, n]) => `${w}: ${n}`).join(', ')}) ` +
    `in ${Date.now() - started} ms`);
}
