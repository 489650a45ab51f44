// Usage: node read.mjs LIB FILE.parquet [FILE2.parquet ...]
//        (LIB = duckdb | arrow | hyparquet)
// Prints FILE's rows as read by that reference library, one canonical JSON
// object per line (see README.md), so a C++ test can compare them with what
// Pantry wrote. Values a library can only give approximately are noted on
// stderr; exit status 2 means the library could not read the file.
//
// With several files (one node start for all of them), each file's rows are
// preceded by a line `### FILE` (the path as given); a file the library can't
// read is followed by one line `### error: MESSAGE` instead of rows (and the
// message goes to stderr as well). The other files are still read; the exit
// status is 2 when any file could not be read. Rows always start with `{`, so
// the `###` lines can't be mistaken for rows.
import { readCanonical, READERS } from './lib/readers.mjs';

const [lib, ...files] = process.argv.slice(2);
if (!READERS[lib] || files.length === 0) {
  console.error(`usage: node read.mjs {${Object.keys(READERS).join('|')}} FILE.parquet ` +
    '[FILE2.parquet ...]');
  process.exit(64);
}
const batch = files.length > 1;
let failed = false;
for (const file of files) {
  if (batch) process.stdout.write(`### ${file}\n`);
  try {
    const { rows, notes } = await readCanonical(lib, file);
    for (const note of notes) console.error(`${lib}: ${batch ? `${file}: ` : ''}${note}`);
    process.stdout.write(rows.map((r) => `${r}\n`).join(''));
  } catch (err) {
    failed = true;
    console.error(`${lib}: cannot read ${file}: ${err.message}`);
    if (batch) process.stdout.write(`### error: ${String(err.message).replaceAll('\n', ' ')}\n`);
  }
}
if (failed) process.exitCode = 2;
