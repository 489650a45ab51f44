// Usage: node check.mjs [DIR]
// Self-check of the canonical form: reads every file of the matrix (from DIR,
// written there first by write.mjs if DIR has no MANIFEST.json; into a
// temporary directory, removed afterwards, if DIR is omitted) with each of the
// other two reference readers,
// and compares value by value with NAME.expected.jsonl. Prints a table of
// agreements and disagreements; every disagreement is matched against the
// known gaps (lib/known-gaps.mjs, explained in KNOWN_GAPS.md). Also checks
// that each NAME.expected.jsonl is what lib/data.mjs meant to write, and that
// the writer's own reader still reproduces it.
// Exit status: 0 when the only disagreements are known gaps; 1 when an
// expected file is off or a disagreement is new.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readCanonical, READERS } from './lib/readers.mjs';
import { knownGap, knownWriterGap } from './lib/known-gaps.mjs';
import { intendedCells } from './lib/data.mjs';
import { matrix, writeMatrix } from './write.mjs';

const temporary = process.argv[2] === undefined; // removed again at the end
const dir = resolve(process.argv[2] ?? mkdtempSync(join(tmpdir(), 'pantry-interop-')));
if (!existsSync(join(dir, 'MANIFEST.json'))) {
  console.log(`writing the matrix into ${dir}`);
  await writeMatrix(dir);
}
const manifest = JSON.parse(readFileSync(join(dir, 'MANIFEST.json'), 'utf8'));
const readers = Object.keys(READERS);

// Compares `other` (a reader's result) with `own` cell by cell; returns per
// differing column { column, rows, expected, got, pairs } (the first and all
// differing values), or { column: '*', error } for a whole-table problem.
function compare(own, other) {
  if (other.columns.join('\0') !== own.columns.join('\0')) {
    return [{ column: '*', rows: own.cells.length,
      error: `columns ${other.columns} instead of ${own.columns}` }];
  }
  if (other.cells.length !== own.cells.length) {
    return [{ column: '*', rows: own.cells.length,
      error: `${other.cells.length} rows instead of ${own.cells.length}` }];
  }
  const diffs = [];
  own.columns.forEach((column, c) => {
    const bad = own.cells.map((row, r) => r).filter((r) => own.cells[r][c] !== other.cells[r][c]);
    if (bad.length) {
      const pairs = bad.map((r) => ({ expected: own.cells[r][c], got: other.cells[r][c] }));
      diffs.push({ column, rows: bad.length, ...pairs[0], pairs });
    }
  });
  return diffs;
}

// When a reader can't read the whole file, find out column by column which
// columns it can't read and how the others compare.
async function compareByColumn(reader, file, own) {
  const diffs = [];
  for (const [c, column] of own.columns.entries()) {
    const ownColumn = { columns: [column], cells: own.cells.map((row) => [row[c]]) };
    try {
      diffs.push(...compare(ownColumn, await readCanonical(reader, file, { columns: [column] })));
    } catch (err) {
      diffs.push({ column, rows: own.cells.length, error: err.message.split('\n')[0] });
    }
  }
  return diffs;
}

function shortList(columns, all) {
  if (columns.length === all.length || columns[0] === '*') return 'all';
  if (columns.length <= 2) return columns.join(',');
  return `${columns.slice(0, 2).join(',')},+${columns.length - 2}`;
}

const specs = new Map(matrix().map((spec) => [`${spec.name}.parquet`, spec]));
let failures = 0;
const findings = []; // compare() results plus { file, writer, reader, gap }
const writerFindings = []; // the same for data given to a writer vs read back
const table = [];
for (const entry of manifest.files) {
  const file = join(dir, entry.file);
  const expected = readFileSync(join(dir, entry.expected), 'utf8').split('\n').filter(Boolean);
  const own = await readCanonical(entry.expected_reader, file);
  const row = { file: entry.file };
  const spec = specs.get(entry.file);
  if (!spec) throw new Error(`${entry.file} is not in write.mjs's matrix: rewrite ${dir}`);
  const intended = { columns: spec.columns.map((c) => c.name), cells: intendedCells(spec.columns) };
  const quirks = compare(intended, own)
    .map((d) => ({ ...d, file: entry.file, writer: entry.writer }));
  quirks.forEach((q) => { q.gap = knownWriterGap(q); });
  writerFindings.push(...quirks);
  if (own.rows.length !== expected.length || own.rows.some((line, i) => line !== expected[i])) {
    row[entry.expected_reader] = 'EXPECTED NOT REPRODUCED';
    failures++;
  } else if (quirks.some((q) => !q.gap)) {
    row[entry.expected_reader] = 'NOT AS WRITTEN';
    failures++;
  } else {
    row[entry.expected_reader] = quirks.length ? '(writer, known quirk)' : '(writer)';
  }
  for (const reader of readers.filter((r) => r !== entry.expected_reader)) {
    let diffs;
    try {
      diffs = compare(own, await readCanonical(reader, file));
    } catch {
      diffs = await compareByColumn(reader, file, own);
    }
    for (const d of diffs) {
      const finding = { file: entry.file, writer: entry.writer, reader, ...d };
      finding.gap = knownGap(finding);
      if (!finding.gap) failures++;
      findings.push(finding);
    }
    const unreadable = diffs.filter((d) => d.error).map((d) => d.column);
    const differing = diffs.filter((d) => !d.error).map((d) => d.column);
    row[reader] = diffs.length === 0 ? 'agree' : [
      ...(unreadable.length ? [`unreadable: ${shortList(unreadable, own.columns)}`] : []),
      ...(differing.length ? [`differs: ${shortList(differing, own.columns)}`] : []),
    ].join('; ');
  }
  table.push(row);
}

const width = Math.max(...table.map((r) => r.file.length));
const cellWidth = 26;
console.log(['file'.padEnd(width), ...readers.map((r) => r.padEnd(cellWidth))].join(' | '));
console.log(['-'.repeat(width), ...readers.map(() => '-'.repeat(cellWidth))].join('-|-'));
for (const r of table) {
  console.log([r.file.padEnd(width), ...readers.map((x) => r[x].padEnd(cellWidth))].join(' | '));
}

// Disagreements, one line per reader, file and cause.
console.log('\nDisagreements:');
const groups = new Map();
for (const f of findings) {
  const cause = f.error ? `cannot read: ${f.error}`
    : `${f.rows} row(s) differ, e.g. expected ${f.expected} got ${f.got}`;
  const key = [f.reader, f.file, f.error ?? f.column].join('\0');
  const group = groups.get(key) ?? { f, cause, columns: [] };
  group.columns.push(f.column);
  groups.set(key, group);
}
for (const { f, cause, columns } of groups.values()) {
  console.log(`  ${f.reader} on ${f.file}, column(s) ${columns.join(',')}: ${cause}` +
    `\n    -> ${f.gap ? `known gap: ${f.gap}` : 'NEW (not in KNOWN_GAPS.md)'}`);
}
console.log('\nValues stored other than given (writer vs own reader):');
for (const f of writerFindings) {
  const what = f.error ?? `${f.rows} row(s) differ, e.g. given ${f.expected} stored ${f.got}`;
  console.log(`  ${f.writer} writing ${f.file}, column ${f.column}: ${what}` +
    `\n    -> ${f.gap ? `known: ${f.gap}` : 'NEW (not in KNOWN_GAPS.md)'}`);
}

console.log('\nKnown gaps seen (KNOWN_GAPS.md):');
const filesPerGap = new Map();
for (const f of [...findings, ...writerFindings].filter((x) => x.gap)) {
  filesPerGap.set(f.gap, (filesPerGap.get(f.gap) ?? new Set()).add(f.file));
}
for (const [gap, files] of filesPerGap) console.log(`  ${gap}: ${files.size} file(s)`);

const agree = table.reduce((n, r) => n + readers.filter((x) => r[x] === 'agree').length, 0);
const known = findings.filter((f) => f.gap).length;
const fileCount = manifest.files.length;
console.log(`\n${fileCount} files, ${agree} of ${fileCount * 2} cross-reads agree fully, ` +
  `${known} column disagreements are known gaps, ${findings.length - known} are new, ` +
  `${table.filter((r) => Object.values(r).some((v) => /^(EXPECTED|NOT AS)/.test(v))).length} ` +
  'expected files off');
if (temporary) rmSync(dir, { recursive: true, force: true });
process.exit(failures ? 1 : 0);
