import { safeText } from '../../connectors/mis/safe-text.ts';
import type { ImportUnit, MisSource } from '../../connectors/mis/types.ts';
import type { SchoolConfig } from '../config/schema.ts';
import { type Category, resolveCode } from '../domain/attendance/codes.ts';
import { londonDate } from '../domain/attendance/dates.ts';
import { DoorstepError } from '../errors.ts';
import type { Db } from '../store/db.ts';
import {
  dropStaleHeldMarks,
  type HeldMark,
  heldMarksReady,
  releaseHeldMarks,
  releaseHeldUpns,
  releaseSupersededHeldMarks,
  renameHeldPupils,
} from '../store/held-marks.ts';
import { appliedImportOfFile, getCursor, insertImport } from '../store/imports.ts';
import {
  applyImportUnit,
  causesARepeatMayTake,
  type ImportContext,
  type ImportSummary,
  pupilNamed,
} from './apply-unit.ts';
import { importContextFor } from './context.ts';

export interface SyncReport {
  applied: ImportSummary[];
  refused: { unit: string; reason: string }[];
  /**
   * Files not moved after their unit because the drop folder no longer held them as they were read
   * (changed, replaced or removed during the import): what is there now waits for the next sync.
   */
  left: { unit: string; reason: string }[];
  /**
   * Files whose bytes an applied import of the school already took (the same sha256): not applied
   * again — that would put back marks a later file corrected — and moved to processed/.
   */
  alreadyImported: { unit: string; reason: string }[];
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
 * A refusal is an import error (`DOORSTEP_IMPORT_*`: the readers', a file the folder may not read,
 * a value the database refused); anything else (the database or Redis gone, a serialization
 * failure) fails the sync with the file left in place, to be retried.
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
    /** The school's `retention.leaverDataDays`: an MIS leaving date further back is held, not taken. */
    leaverDataDays?: number;
  },
): Promise<SyncReport> {
  const report: SyncReport = { applied: [], refused: [], left: [], alreadyImported: [] };
  await applyHeldMarks(db, school, source.kind, options, report);
  const cursor = { value: await getCursor(db, school.id, source.kind) };
  for await (const unit of source.pull(cursor)) {
    // A list the source could not read (and went on without): said, never dropped silently.
    if (unit.notRead !== undefined) {
      await noteRefused(db, school.id, source.kind, options.now(), report, {
        unit: unit.label,
        reason: safeText(unit.notRead),
      });
      continue;
    }
    const ctx = importContextFor(school, options.now(), {
      actor: options.actor,
      source: source.kind,
      ...(options.writePace ? { writePace: options.writePace } : {}),
      ...(options.leaverDataDays !== undefined ? { leaverDataDays: options.leaverDataDays } : {}),
      ...(unit.sha256 ? { sha256: unit.sha256 } : {}),
    });
    if (await alreadyImported(db, ctx, unit, options.now(), report)) continue;
    let summary: ImportSummary;
    try {
      summary = await applyImportUnit(db, unit, ctx);
    } catch (err) {
      if (isImportError(err) && unit.afterRefusal) {
        const reason = safeText(err.message);
        const afterRefusal = unit.afterRefusal;
        if (await moved(report, unit.label, () => afterRefusal(reason))) {
          report.refused.push({ unit: unit.label, reason });
        }
        continue;
      }
      throw err;
    }
    await moved(report, unit.label, async () => unit.afterCommit?.());
    report.applied.push(summary);
    await options.onApplied?.(summary);
  }
  // Marks held under the source's own name for a pupil it did not list then (a Wonde student created
  // after the students were read) are moved to the MIS id this pull learnt, and applied now.
  if (source.heldPupilId) {
    const heldPupilId = source.heldPupilId.bind(source);
    const renamed = await db.transaction((tx) => renameHeldPupils(tx, school.id, source.kind, heldPupilId));
    if (renamed > 0) await applyHeldMarks(db, school, source.kind, options, report);
  }
  // Marks a CTF gave for pupils the school's MIS did not list then (held under their UPN: the CTF is
  // not the school's own export, so it adds no pupil) go to the pupil the MIS export has brought
  // since with that UPN, and are applied; those still waiting a month on are dropped, and said so.
  if (source.kind !== 'ctf') {
    await db.transaction((tx) => releaseHeldUpns(tx, school.id, 'ctf'));
    await applyHeldMarks(db, school, 'ctf', options, report);
  }
  return report;
}

/**
 * Marks earlier API syncs kept because they could not apply yet (`held_marks`: dated ahead, or for a
 * pupil not imported yet) and now can: applied as a unit of their own (no cursor), then taken out —
 * applied twice (the process stopped between) they change nothing the second time. Those that still
 * cannot after 30 days are dropped.
 */
async function applyHeldMarks(
  db: Db,
  school: SchoolConfig,
  sourceKind: string,
  options: { now: () => Date; actor: string; onApplied?: (summary: ImportSummary) => Promise<void> },
  report: SyncReport,
): Promise<void> {
  const now = options.now();
  const stale = await dropStaleHeldMarks(db, school.id, sourceKind, now);
  // Said, not dropped silently: the data manager sees marks that never reached a pupil, in the sync's
  // report and among the school's imports on the data page (a refused one, with why).
  if (stale > 0)
    await noteRefused(db, school.id, sourceKind, now, report, {
      unit: heldLabel(stale, sourceKind),
      reason:
        'dropped: still not applicable 30 days after they were held (their pupil was never imported); import the pupil and re-send the marks from the MIS',
    });
  // A mark written for a held mark's session since it was held (a file's correction, another source)
  // is newer: the held one goes, never applied over it.
  await releaseSupersededHeldMarks(db, school.id, sourceKind);
  const ctx = importContextFor(school, now, { actor: options.actor, source: sourceKind });
  const held = await heldMarksReady(db, school.id, sourceKind, ctx.today);
  // A held mark whose code the school's map no longer resolves (the map changed since it was held)
  // would refuse the unit, and every held mark with it: it alone is dropped, and said so, with why;
  // the others are applied.
  const ready: HeldMark[] = [];
  const unresolved: string[] = [];
  const dropped: HeldMark[] = [];
  for (const m of held) {
    const resolved = resolveCode(m.mark, m.date, ctx.codeMap);
    if (resolved.ok) ready.push(m);
    else {
      dropped.push(m);
      unresolved.push(`${pupilNamed(m.pupilMisId)} ${m.date} ${m.session}: ${resolved.reason}`);
    }
  }
  if (dropped.length > 0) {
    await releaseHeldMarks(db, school.id, sourceKind, { sessions: dropped });
    const shown = unresolved.slice(0, 5).join('; ');
    await noteRefused(db, school.id, sourceKind, now, report, {
      unit: heldLabel(dropped.length, sourceKind),
      reason: safeText(
        `dropped: their code no longer resolves with the school's code map (${shown}${unresolved.length > 5 ? `; and ${unresolved.length - 5} more` : ''}); the other held marks are applied — map the code and re-send these marks from the MIS`,
      ),
    });
  }
  if (ready.length === 0) return;
  const label = heldLabel(ready.length, sourceKind);
  const unit: ImportUnit = {
    label,
    async *batches() {
      yield {
        kind: 'marks',
        marks: ready.map((m, i) => ({
          pupilMisId: m.pupilMisId,
          date: m.date,
          session: m.session,
          mark: m.mark,
          minutesLate: m.minutesLate,
          ...(m.vendorCategory ? { vendorCategory: m.vendorCategory as Category } : {}),
          ...(m.recordId ? { recordId: m.recordId } : {}),
          where: { unit: label, record: i + 1 },
        })),
      };
    },
  };
  let summary: ImportSummary;
  try {
    summary = await applyImportUnit(db, unit, ctx);
  } catch (err) {
    // Refused all the same (a value the database refused, say): recorded as a refused import, and
    // the held marks go with it — never holding back every later sync of the school.
    if (!isImportError(err)) throw err;
    await releaseHeldMarks(db, school.id, sourceKind, { sessions: ready });
    report.refused.push({ unit: label, reason: safeText(err.message) });
    return;
  }
  await releaseHeldMarks(db, school.id, sourceKind, { sessions: ready });
  report.applied.push(summary);
  await options.onApplied?.(summary);
}

/**
 * Whether the unit is a marks file whose bytes were taken already by an applied import of the school (that left none of
 * its rows for a later import: `causesARepeatMayTake`, the school's academic years fixed since included). Then it is not applied again — the same
 * Monday file dropped again after Tuesday's corrected a mark would put the old mark back — but moved
 * to processed/ and recorded (`already-imported`, naming the import that took it).
 */
async function alreadyImported(
  db: Db,
  ctx: ImportContext,
  unit: ImportUnit,
  now: Date,
  report: SyncReport,
): Promise<boolean> {
  const { schoolId, source: sourceKind } = ctx;
  const sha256 = unit.sha256;
  // Only a marks export come back: a pupils or contacts snapshot with an earlier day's bytes may be
  // today's truth (a CP plan ended, then begun again) and is applied as any other.
  if (!sha256 || !unit.marksFile) return false;
  const earlier = await appliedImportOfFile(db, schoolId, sha256, causesARepeatMayTake(ctx));
  if (!earlier) return false;
  const reason = `${unit.label}: already imported as import ${earlier.id} on ${londonDate(earlier.finishedAt)} (the same bytes); not applied again`;
  if (await moved(report, unit.label, async () => unit.afterCommit?.())) {
    report.alreadyImported.push({ unit: unit.label, reason });
    await insertImport(
      db,
      { schoolId, source: sourceKind, unit: unit.label, sha256, startedAt: now },
      'already-imported',
      reason,
    );
  }
  return true;
}

/** How held marks are named as a unit: `3 held marks from earlier arbor syncs`. */
function heldLabel(n: number, sourceKind: string): string {
  return `${n} held mark${n === 1 ? '' : 's'} from earlier ${sourceKind} syncs`;
}

/**
 * Something the sync could not take in, said where the data manager looks: in the sync's report and
 * among the school's imports on the data page (a refused one, with why).
 */
async function noteRefused(
  db: Db,
  schoolId: string,
  sourceKind: string,
  at: Date,
  report: SyncReport,
  refused: { unit: string; reason: string },
): Promise<void> {
  report.refused.push(refused);
  await insertImport(
    db,
    { schoolId, source: sourceKind, unit: refused.unit, sha256: null, startedAt: at },
    'refused',
    refused.reason,
  );
}

function isImportError(err: unknown): err is DoorstepError {
  return err instanceof DoorstepError && err.code.startsWith('DOORSTEP_IMPORT_');
}

/**
 * Runs a unit's move after its import. A file source refuses the move with an import error when the
 * file is no longer the one read (a new copy renamed over it, a writer still appending): that file
 * is left for the next sync and reported, and the sync goes on. Whether it moved.
 */
async function moved(report: SyncReport, unit: string, move: () => Promise<void>): Promise<boolean> {
  try {
    await move();
    return true;
  } catch (err) {
    if (!isImportError(err)) throw err;
    report.left.push({ unit, reason: safeText(err.message) });
    return false;
  }
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
