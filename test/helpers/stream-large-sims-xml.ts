/**
 * Child-process helper for the large-file test: streams N bytes of generated SIMS session-attendance
 * XML (never on disk, never whole in memory) through the real reader and prints one JSON line.
 * Run with a small --max-old-space-size: finishing at all proves memory stays flat.
 */
import { Readable } from 'node:stream';
import { readSimsXml } from '../../connectors/mis/sims-xml/reader.ts';

const targetBytes = Number(process.argv[2]);
const row = (i: number) =>
  `<SessionAttendance><PersonID>${100000 + (i % 2000)}</PersonID><AttendanceDate>2025-01-13</AttendanceDate><SessionName>${i % 2 ? 'PM' : 'AM'}</SessionName><AttendanceMark>/</AttendanceMark><Comments/><MinsLate/></SessionAttendance>\n`;

function* generate(): Generator<Buffer> {
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

let marks = 0;
let bytes = 0;
let peakHeap = 0;
for await (const batch of readSimsXml(Readable.from(generate()), {
  unit: 'large.xml',
  onBytes: (n) => (bytes += n),
})) {
  if (batch.kind === 'marks') marks += batch.marks.length;
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}
console.log(JSON.stringify({ marks, bytes, peakHeapMb: Math.round(peakHeap / 1_048_576) }));
