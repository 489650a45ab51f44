// Known disagreements between the reference readers, and known ways a writer
// stores something other than what it was given, explained in KNOWN_GAPS.md
// (the names below are its section titles). check.mjs labels each finding
// with the gap it matches, or as new. A value gap matches only if every
// differing value differs in exactly the known way.
const error = (f, ...texts) => texts.some((t) => f.error?.includes(t));
const everyPair = (f, test) => !f.error && f.pairs.every(({ expected, got }) =>
  test(JSON.parse(expected), JSON.parse(got)));

// "YYYY-MM-DDTHH:MM:SS.fffffffffZ" -> nanoseconds since the epoch
function nanos(text) {
  return BigInt(Date.parse(`${text.slice(0, 19)}Z`)) * 1_000_000n + BigInt(text.slice(20, 29));
}

// Same instant once sub-microsecond digits are dropped (either direction).
const sameMicros = (e, g) => {
  const lost = nanos(e) - nanos(g);
  return g.endsWith('000Z') && lost > -1000n && lost < 1000n;
};

export const KNOWN_GAPS = [
  { name: 'DuckDB reads UTC-adjusted NANOS timestamps as microseconds',
    matches: (f) => f.reader === 'duckdb' && f.column === 'ts_ns_utc' && everyPair(f, sameMicros) },
  { name: 'DuckDB reads INT96 timestamps as microseconds',
    matches: (f) => f.reader === 'duckdb' && f.column === 't96' && everyPair(f, sameMicros) },
  { name: 'arrow-rs reads ENUM columns as binary',
    matches: (f) => f.reader === 'arrow' && f.column === 'en' &&
      everyPair(f, (e, g) => Buffer.from(g.base64, 'base64').toString() === e) },
  { name: 'DuckDB cannot read the legacy LZ4 codec',
    matches: (f) => f.reader === 'duckdb' && error(f, 'Unsupported compression codec "LZ4"') },
  { name: 'DuckDB reads BYTE_STREAM_SPLIT only for FLOAT and DOUBLE',
    matches: (f) => f.reader === 'duckdb' &&
      error(f, 'BYTE_STREAM_SPLIT encoding is only supported for FLOAT or DOUBLE') },
  { name: 'DuckDB reads DELTA_LENGTH_BYTE_ARRAY only for strings and blobs',
    matches: (f) => f.reader === 'duckdb' && f.column === 'dec38_10_ba' &&
      error(f, 'Delta Length Byte Array encoding is only supported for string/blob') },
  { name: "arrow-rs rejects DuckDB's INT32 DELTA_BINARY_PACKED with wide deltas",
    matches: (f) => f.reader === 'arrow' && f.writer === 'duckdb' &&
      error(f, "'min_delta' too large", 'Invalid delta bit width 33') },
];

// Findings here compare what a writer was given (expected) with what its own
// reader reads back (got).
export const WRITER_GAPS = [
  { name: 'hyparquet-writer stores 0.0 as -0.0 in a dictionary that holds -0.0',
    matches: (f) => f.writer === 'hyparquet' &&
      everyPair(f, (e, g) => e === 0 && Object.is(g, -0)) },
];

export function knownGap(finding) {
  return KNOWN_GAPS.find((g) => g.matches(finding))?.name;
}

export function knownWriterGap(finding) {
  return WRITER_GAPS.find((g) => g.matches(finding))?.name;
}
