import { safeText } from '../../connectors/mis/safe-text.ts';
import type { MisSource } from '../../connectors/mis/types.ts';
import type { SchoolConfig } from '../config/schema.ts';
import { DoorstepError } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { getCursor } from '../store/imports.ts';
import { applyImportUnit, type ImportSummary } from './apply-unit.ts';
import { importContextFor } from './context.ts';

export interface SyncReport {
  applied: ImportSummary[];
  refused: { unit: string; reason: string }[];
}

/**
 * The one de-duplication id of a school's sync jobs, whoever asks (the drop-folder watcher, the data
 * page's "Sync now"): while one waits, another adds nothing; one asked for while it runs runs after it.
 */
export const syncJobId = (schoolId: string) => `sync:${schoolId}`;

/** The syncs running in this process, by school: a second waits for the first (never two at once). */
const running = new Map<string, Promise<unknown>>();

/**
 * One sync of one school: every unit its MIS source offers since the stored cursor, each in its
 * own transaction. A refused file is quarantined and the sync goes on; a refused API page stops the
 * sync (the cursor stays before it) and the error is thrown so the job fails loudly and retries.
 */
async function syncSchoolNow(
  db: Db,
  school: SchoolConfig,
  source: MisSource,
  options: {
    now: () => Date;
    actor: string;
    onApplied?: (summary: ImportSummary) => Promise<void>;
    /** How marks are written (the config's `imports`). */
    writePace?: { chunkMarks: number; pauseRatio: number };
  },
): Promise<SyncReport> {
  const report: SyncReport = { applied: [], refused: [] };
  const cursor = { value: await getCursor(db, school.id, source.kind) };
  for await (const unit of source.pull(cursor)) {
    const ctx = importContextFor(school, options.now(), {
      actor: options.actor,
      source: source.kind,
      ...(options.writePace ? { writePace: options.writePace } : {}),
      ...(unit.sha256 ? { sha256: unit.sha256 } : {}),
    });
    let summary: ImportSummary;
    try {
      summary = await applyImportUnit(db, unit, ctx);
    } catch (err) {
      if (err instanceof DoorstepError && unit.afterRefusal && err.code.startsWith('DOORSTEP_IMPORT_')) {
        const reason = safeText(err.message);
        await unit.afterRefusal(reason);
        report.refused.push({ unit: unit.label, reason });
        continue;
      }
      throw err;
    }
    await unit.afterCommit?.();
    report.applied.push(summary);
    await options.onApplied?.(summary);
  }
  return report;
}

/**
 * A school's sync, never two at once in this process (two jobs for one school — a scheduled one and a
 * "Sync now" — would otherwise read the same files): the second waits for the first, then finds
 * what is left.
 */
export async function syncSchool(...args: Parameters<typeof syncSchoolNow>): Promise<SyncReport> {
  const schoolId = args[1].id;
  const before = running.get(schoolId) ?? Promise.resolve();
  const mine = before.then(
    () => syncSchoolNow(...args),
    () => syncSchoolNow(...args),
  );
  const settled = mine.catch(() => {});
  running.set(schoolId, settled);
  try {
    return await mine;
  } finally {
    if (running.get(schoolId) === settled) running.delete(schoolId);
  }
}
