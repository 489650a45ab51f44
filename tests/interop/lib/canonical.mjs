// The canonical JSON form shared by every reader in tests/interop (and by
// `pantry parquet head --output json` on the C++ side). Each function turns
// one decoded value into JSON text; rows are assembled as text so 64-bit
// integers keep their exact digits (no JSON.stringify on BigInt, no Number).

const NANOS_PER_UNIT = { s: 1_000_000_000n, ms: 1_000_000n, us: 1_000n, ns: 1n };
const NANOS_PER_DAY = 86_400_000_000_000n;
const MILLIS_PER_DAY = 86_400_000;

export const NULL = 'null';

export function jsonBool(v) {
  return v ? 'true' : 'false';
}

// Any integer type: a number (must be an integer) or a BigInt, exact digits.
export function jsonInt(v) {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  throw new TypeError(`not an integer: ${String(v)}`);
}

// FLOAT (already widened to double) and DOUBLE: shortest round-trip text,
// specials as strings, negative zero as -0.0.
export function jsonDouble(v) {
  if (typeof v !== 'number') throw new TypeError(`not a number: ${String(v)}`);
  if (Number.isNaN(v)) return '"NaN"';
  if (v === Infinity) return '"Infinity"';
  if (v === -Infinity) return '"-Infinity"';
  if (Object.is(v, -0)) return '-0.0';
  return String(v);
}

export function jsonString(s) {
  return JSON.stringify(s);
}

export function jsonBinary(bytes) {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return `{"base64":"${b.toString('base64')}"}`;
}

// Days since 1970-01-01 -> "YYYY-MM-DD" (proleptic Gregorian, via UTC Date,
// which is exact for whole days).
export function dateText(days) {
  return new Date(Number(days) * MILLIS_PER_DAY).toISOString().slice(0, 10);
}

export function jsonDate(days) {
  return `"${dateText(days)}"`;
}

// A count of `unit` ('s' | 'ms' | 'us' | 'ns') since the epoch ->
// "YYYY-MM-DDTHH:MM:SS.fffffffff" plus "Z" when adjusted to UTC.
export function timestampText(value, unit, utc) {
  const nanos = BigInt(value) * NANOS_PER_UNIT[unit];
  let days = nanos / NANOS_PER_DAY;
  let rest = nanos % NANOS_PER_DAY;
  if (rest < 0n) { // BigInt division truncates; we want the floor
    days -= 1n;
    rest += NANOS_PER_DAY;
  }
  const two = (n) => String(n).padStart(2, '0');
  const secs = rest / 1_000_000_000n;
  const frac = String(rest % 1_000_000_000n).padStart(9, '0');
  const time = `${two(secs / 3600n)}:${two((secs / 60n) % 60n)}:${two(secs % 60n)}`;
  return `${dateText(days)}T${time}.${frac}${utc ? 'Z' : ''}`;
}

export function jsonTimestamp(value, unit, utc) {
  return `"${timestampText(value, unit, utc)}"`;
}

// 10^scale as the double nearest to it. (In V8, 10 ** s is off by one ulp
// for s = 26, 29, 34, 36; the literal 1eS is the correctly rounded value,
// which is what C++'s 1eS literals or a table of them give.)
export function powerOfTen(scale) {
  return Number(`1e${scale}`);
}

// DECIMAL: the unscaled integer as a double, divided by 10^scale.
export function jsonDecimal(unscaled, scale) {
  return jsonDouble(Number(BigInt(unscaled)) / powerOfTen(scale));
}

// Big-endian two's complement bytes (DECIMAL in FIXED_LEN_BYTE_ARRAY or
// BYTE_ARRAY) -> BigInt.
export function bigIntFromBytesBE(bytes) {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  if (bytes.length > 0 && bytes[0] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v;
}

// Little-endian 32-bit words of a two's complement integer (Arrow decimals)
// -> BigInt.
export function bigIntFromWordsLE(words) {
  let v = 0n;
  for (let i = words.length - 1; i >= 0; i--) v = (v << 32n) | BigInt(words[i] >>> 0);
  const bits = BigInt(32 * words.length);
  if (words.length > 0 && words[words.length - 1] & 0x80000000) v -= 1n << bits;
  return v;
}

export function jsonList(items) {
  return `[${items.join(',')}]`;
}

// One row: column names in schema order, values already in JSON text.
export function jsonRow(names, cells) {
  return `{${names.map((n, i) => `${JSON.stringify(n)}:${cells[i]}`).join(',')}}`;
}
