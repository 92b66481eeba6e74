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
 * One sync of one school: every unit its MIS source offers since the stored cursor, each in its
 * own transaction. A refused file is quarantined and the sync goes on; a refused API page stops the
 * sync (the cursor stays before it) and the error is thrown so the job fails loudly and retries.
 */
export async function syncSchool(
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
