/**
 * Child-process helper for the huge-value tests: imports one file through the real pipeline
 * (fileUnit → applyImportUnit → PostgreSQL, schema from argv) and prints one JSON line with the
 * outcome and the peak heap seen after each chunk read. Run with a small --max-old-space-size:
 * finishing at all shows the value was never held whole.
 */

import { type FileFormat, fileUnit } from '../../connectors/mis/file-unit.ts';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from './config.ts';
import { TEST_DATABASE_URL } from './services.ts';

const [path, format, schema] = process.argv.slice(2) as [string, FileFormat, string];
const school = configWith({ school: '    attendance: { academicYears: [2024] }' }).schools[0]!;
const db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
let peakHeap = 0;
const sample = () => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
};
let outcome: { ok: true } | { ok: false; error: string };
try {
  await applyImportUnit(
    db,
    fileUnit(path, format, school, sample),
    importContextFor(school, new Date('2025-01-20T12:00:00Z'), { actor: 'test', source: format }),
  );
  outcome = { ok: true };
} catch (err) {
  outcome = { ok: false, error: (err as Error).message };
}
sample();
await db.close();
console.log(JSON.stringify({ ...outcome, peakHeapMb: Math.round(peakHeap / 1_048_576) }));
