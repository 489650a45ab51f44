// Reads a Parquet file with parquet-wasm (arrow-rs compiled to WebAssembly),
// hands the result to apache-arrow through Arrow IPC, and renders every row in
// the canonical JSON form. Timestamps, dates and decimals are taken from the
// raw buffers so nothing goes through a lossy Number or Date.
import { readFileSync } from 'node:fs';
import { tableFromIPC, makeVector, Type, TimeUnit, DateUnit } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { parquetMetadata, parquetSchema } from 'hyparquet';
import * as C from './canonical.mjs';

const UNIT = { [TimeUnit.SECOND]: 's', [TimeUnit.MILLISECOND]: 'ms',
  [TimeUnit.MICROSECOND]: 'us', [TimeUnit.NANOSECOND]: 'ns' };

// Returns a function (data, index) -> JSON text for one Arrow Data chunk
// (fresh from IPC, so with offset 0: index i is values[i]); nulls are handled
// by the caller. `int96`: the column is INT96 in the file,
// which the canonical form calls UTC-adjusted although arrow-rs gives it a
// Timestamp without a zone.
function formatterFor(type, int96 = false) {
  switch (type.typeId) {
    case Type.Bool: return getter(C.jsonBool);
    case Type.Int: return getter(C.jsonInt);
    case Type.Float:
      if (type.precision === 0) break; // half floats: no canonical form
      return getter(C.jsonDouble);
    case Type.Utf8: case Type.LargeUtf8: return getter(C.jsonString);
    case Type.Binary: case Type.LargeBinary: case Type.FixedSizeBinary: return getter(C.jsonBinary);
    case Type.Date:
      if (type.unit === DateUnit.DAY) return (d, i) => C.jsonDate(d.values[i]);
      return (d, i) => C.jsonDate(floorDiv(d.values[i], 86_400_000n)); // Date64: ms
    case Type.Timestamp: {
      const unit = UNIT[type.unit];
      const utc = type.timezone != null || int96; // any zone: the values are UTC instants
      return (d, i) => C.jsonTimestamp(d.values[i], unit, utc);
    }
    case Type.Decimal: {
      const words = type.bitWidth / 32;
      return (d, i) => C.jsonDecimal(
        C.bigIntFromWordsLE(d.values.subarray(i * words, (i + 1) * words)), type.scale);
    }
    case Type.List: case Type.LargeList: {
      const item = formatterFor(type.children[0].type, int96);
      return (d, i) => {
        const child = d.children[0];
        const out = [];
        for (let j = Number(d.valueOffsets[i]); j < Number(d.valueOffsets[i + 1]); j++) {
          out.push(child.getValid(j) ? item(child, j) : C.NULL);
        }
        return C.jsonList(out);
      };
    }
    case Type.Dictionary: {
      const value = formatterFor(type.dictionary);
      return (d, i) => {
        const dict = d.dictionary.data[0]; // arrow-rs emits one dictionary chunk
        return value(dict, Number(d.values[i]));
      };
    }
    default: break;
  }
  throw new Error(`arrow: no canonical form for type ${type}`);
}

// Uses apache-arrow's own accessor for types whose JS value is exact.
function getter(format) {
  const vectors = new WeakMap();
  return (d, i) => {
    let v = vectors.get(d);
    if (!v) vectors.set(d, (v = makeVector(d)));
    return format(v.get(i));
  };
}

// Top-level columns holding INT96 values, from the Parquet footer (parsed by
// hyparquet's footer parser: parquet-wasm exposes no physical types).
function int96Columns(bytes) {
  const hasInt96 = (node) => node.element.type === 'INT96' || node.children.some(hasInt96);
  const top = parquetSchema(parquetMetadata(bytes.buffer)).children;
  return new Set(top.filter(hasInt96).map((n) => n.element.name));
}

function floorDiv(a, b) {
  const q = a / b;
  return a % b < 0n ? q - 1n : q;
}

// Returns { columns, cells (per row, per column: JSON text), notes }.
// Reads all columns, or only `columns` (top-level names) when given. (The
// selection is made after reading: parquet-wasm 0.8.0's readParquet ignores
// its `columns` option, and ParquetFile.read with columns panics.)
export function readArrow(file, { columns: only } = {}) {
  const bytes = new Uint8Array(readFileSync(file));
  const table = tableFromIPC(readParquet(bytes).intoIPCStream());
  const fields = table.schema.fields.filter((f) => !only || only.includes(f.name));
  const columns = fields.map((f) => f.name);
  const int96 = int96Columns(bytes);
  const formatters = fields.map((f) => formatterFor(f.type, int96.has(f.name)));
  const cells = [];
  for (const batch of table.batches) {
    const chunks = columns.map((name) => batch.getChild(name).data[0]);
    for (let i = 0; i < batch.numRows; i++) {
      cells.push(chunks.map((d, c) => (d.getValid(i) ? formatters[c](d, i) : C.NULL)));
    }
  }
  return { columns, cells, notes: [] };
}
