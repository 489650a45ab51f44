// The three reference readers behind one name each, as used by read.mjs,
// write.mjs (each writer's own reader) and check.mjs.
import { readDuckDB } from './read-duckdb.mjs';
import { readArrow } from './read-arrow.mjs';
import { readHyparquet } from './read-hyparquet.mjs';
import { jsonRow } from './canonical.mjs';

export const READERS = {
  duckdb: readDuckDB,
  arrow: readArrow,
  hyparquet: readHyparquet,
};

// Resolves to { columns, cells, rows, notes }: cells[r][c] is the canonical
// JSON text of one value, rows[r] the canonical JSON line of one row.
// options.columns: read only these top-level columns.
export async function readCanonical(lib, file, options = {}) {
  const read = READERS[lib];
  if (!read) {
    throw new Error(`unknown reader ${lib}; use one of ${Object.keys(READERS).join(', ')}`);
  }
  const result = await read(file, options);
  return { ...result, rows: result.cells.map((cells) => jsonRow(result.columns, cells)) };
}
