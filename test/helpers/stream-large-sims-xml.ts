/**
 * Child-process helper for the large-file tests, run with a small --max-old-space-size: finishing at
 * all proves memory stays flat. Prints one JSON line.
 *
 * `N`: streams N bytes of generated SIMS session-attendance XML (never on disk, never whole in
 * memory) through the real reader.
 * `wide sims-xml|ctf FIELDS`: streams one record (a SIMS `Record`, a CTF `Pupil`) of FIELDS elements
 * of 65,000 characters each, Doorstep reading none of them, and reports the reader's refusal.
 */
import { Readable } from 'node:stream';
import { readCtf } from '../../connectors/mis/ctf/reader.ts';
import { readSimsXml } from '../../connectors/mis/sims-xml/reader.ts';

const row = (i: number) =>
  `<SessionAttendance><PersonID>${100000 + (i % 2000)}</PersonID><AttendanceDate>2025-01-13</AttendanceDate><SessionName>${i % 2 ? 'PM' : 'AM'}</SessionName><AttendanceMark>/</AttendanceMark><Comments/><MinsLate/></SessionAttendance>\n`;

function* generate(targetBytes: number): Generator<Buffer> {
  let sent = 0;
  let i = 0;
  yield Buffer.from('<?xml version="1.0" encoding="utf-8"?>\n<SessionAttendances>\n');
  while (sent < targetBytes) {
    let chunk = '';
    while (chunk.length < 1 << 16) chunk += row(i++);
    sent += chunk.length;
    yield Buffer.from(chunk);
  }
  yield Buffer.from('</SessionAttendances>\n');
}

/** One record of `fields` long elements it does not read, its fields one a line after its opening line. */
function* wide(format: 'sims-xml' | 'ctf', fields: number): Generator<Buffer> {
  const value = 'A'.repeat(65_000);
  yield Buffer.from(
    format === 'sims-xml'
      ? '<?xml version="1.0"?>\n<SuperStarReport>\n<Record><ID>1</ID>\n'
      : '<?xml version="1.0"?>\n<CTfile><Header><CTFversion>25.0</CTFversion></Header><CTFpupilData>\n<Pupil><UPN>A123456789012</UPN>\n',
  );
  for (let i = 0; i < fields; i++) yield Buffer.from(`<F${i}>${value}</F${i}>\n`);
  yield Buffer.from(
    format === 'sims-xml' ? '</Record></SuperStarReport>\n' : '</Pupil></CTFpupilData></CTfile>\n',
  );
}

let peakHeap = 0;
const sample = () => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
};
const peakHeapMb = () => Math.round(peakHeap / 1_048_576);

if (process.argv[2] === 'wide') {
  const format = process.argv[3] as 'sims-xml' | 'ctf';
  const input = Readable.from(wide(format, Number(process.argv[4])));
  const options = { unit: 'wide.xml', onBytes: sample };
  let records = 0;
  let error: string | undefined;
  try {
    for await (const batch of format === 'ctf' ? readCtf(input, options) : readSimsXml(input, options))
      if (batch.kind === 'pupils') records += batch.pupils.length;
  } catch (err) {
    error = (err as Error).message;
  }
  sample();
  console.log(JSON.stringify({ records, error, peakHeapMb: peakHeapMb() }));
} else {
  let marks = 0;
  let bytes = 0;
  for await (const batch of readSimsXml(Readable.from(generate(Number(process.argv[2]))), {
    unit: 'large.xml',
    onBytes: (n) => (bytes += n),
  })) {
    if (batch.kind === 'marks') marks += batch.marks.length;
    sample();
  }
  console.log(JSON.stringify({ marks, bytes, peakHeapMb: peakHeapMb() }));
}
