// Summarizes how a Parquet file is physically laid out (row groups, and per
// leaf column: physical type, top-level repetition, codecs, encodings, and
// the types of the first pages of its chunks, and the number of data pages
// when the file has an offset index), from
// its footer as parsed by hyparquet. Recorded in MANIFEST.json so the matrix
// shows what each file really exercises, not only what was asked for.
import { readFileSync } from 'node:fs';
import { parquetMetadata, readOffsetIndex } from 'hyparquet';

const PAGE_TYPES = ['DATA_PAGE', 'INDEX_PAGE', 'DICTIONARY_PAGE', 'DATA_PAGE_V2'];

// The type of the page whose Thrift compact PageHeader starts at `offset`:
// field 1 (i32, header byte 0x15) followed by the zigzag-encoded type.
function pageType(buf, offset) {
  if (buf[offset] !== 0x15) return 'UNKNOWN_PAGE';
  const zigzag = buf[offset + 1];
  return PAGE_TYPES[(zigzag >>> 1) ^ -(zigzag & 1)] ?? 'UNKNOWN_PAGE';
}

export function fileLayout(file) {
  const buf = readFileSync(file);
  const md = parquetMetadata(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const leaves = new Map();
  for (const group of md.row_groups) {
    for (const chunk of group.columns) {
      const m = chunk.meta_data;
      const path = m.path_in_schema.join('.');
      const leaf = leaves.get(path) ?? { path, physical: m.type, codecs: new Set(),
        encodings: new Set(), pages: new Set(), dataPages: 0 };
      leaf.codecs.add(m.codec);
      m.encodings.forEach((e) => leaf.encodings.add(e));
      for (const offset of [m.dictionary_page_offset, m.data_page_offset]) {
        if (offset !== undefined) leaf.pages.add(pageType(buf, Number(offset)));
      }
      if (chunk.offset_index_offset !== undefined && leaf.dataPages !== undefined) {
        const view = new DataView(buf.buffer, buf.byteOffset + Number(chunk.offset_index_offset),
          chunk.offset_index_length);
        leaf.dataPages += readOffsetIndex({ view, offset: 0 }).page_locations.length;
      } else {
        leaf.dataPages = undefined; // no offset index: page count unknown
      }
      leaves.set(path, leaf);
    }
  }
  const repetition = Object.fromEntries(md.schema.map((e) => [e.name, e.repetition_type]));
  return {
    created_by: md.created_by,
    rows: Number(md.num_rows),
    row_groups: md.row_groups.length,
    // one line per leaf: "path PHYSICAL REPETITION CODECS ENCODINGS PAGE_TYPES
    // [data_pages=N]" (N, the count over all row groups, from the offset index)
    columns: [...leaves.values()].map((l) => [
      l.path, l.physical, repetition[l.path.split('.')[0]], [...l.codecs].join('+'),
      [...l.encodings].join('+'), [...l.pages].join('+'),
      ...(l.dataPages !== undefined ? [`data_pages=${l.dataPages}`] : []),
    ].join(' ')),
  };
}
