import { describeWhere, malformed } from '../../connectors/mis/errors.ts';
import {
  describeExceeded,
  FIELD_LIMITS,
  fitPupilToLimits,
  markExceeds,
} from '../../connectors/mis/field-limits.ts';
import { safeText } from '../../connectors/mis/safe-text.ts';
import type { ImportUnit, MarkRecord, NoDestination, PupilRecord } from '../../connectors/mis/types.ts';
import { UPN_PATTERN } from '../../connectors/mis/upn.ts';
import { RETENTION_DEFAULTS } from '../config/sections/retention.ts';
import { countedOnce } from '../core/counted-once.ts';
import {
  beforeCodeSetReason,
  type Category,
  type LocalCodeMap,
  resolveCode,
} from '../domain/attendance/codes.ts';
import { academicYearOf, isIsoDate } from '../domain/attendance/dates.ts';
import { leavingDateDoubts } from '../domain/attendance/leaving-date-doubts.ts';
import type { SchoolCalendar } from '../domain/calendar.ts';
import { DoorstepError, doorstepError } from '../errors.ts';
import {
  type AppliedMarks,
  applyMarks,
  conflictingMarks,
  conflictingPupils,
  createStaging,
  indexStagedGroups,
  leaverStanding,
  MarkColumns,
  markLeavers,
  matchStagedByUpn,
  returnToRoll,
  type StagedAt,
  stagedMarkCount,
  stageMarks,
  stagePupils,
  stageRejectedMarks,
  takeStagedNewcomers,
  takeUnknownPupilMarks,
  upsertPupils,
} from '../store/attendance.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db, Queryable } from '../store/db.ts';
import { HELD_UPN_PREFIX, type HeldMark, holdMarks, releaseHeldMarks } from '../store/held-marks.ts';
import { finishImport, insertImport, type RepeatMayTake, setCursor } from '../store/imports.ts';
import { type MarkSource, noteMarkSources, removeMarksOfRecords } from '../store/mark-records.ts';
import { isValueRefused, sqlState } from '../store/sql-errors.ts';
import { flushWalNow } from '../store/wal-flush.ts';
import {
  type CalendarProblem,
  CalendarProblems,
  type RegisterClosure,
  RegisterClosures,
} from './calendar-problems.ts';
import { type Cause, type RejectionCause, RejectionCauses } from './rejection-causes.ts';
import { UnitKeys } from './unit-keys.ts';

export interface ImportContext {
  schoolId: string;
  /** sims-xml | ctf | csv | arbor | wonde */
  source: string;
  codeMap: LocalCodeMap;
  /** Academic years (named by their starting year) whose marks are accepted. */
  academicYears: ReadonlySet<number>;
  /** Today in Europe/London; marks dated after it are rejected. */
  today: string;
  /**
   * The school's `retention.leaverDataDays`: a leaver whose leaving date is further back is erased by
   * that night's purge, so such a date from the MIS is held, not taken (`leavingDateDoubts`). Absent:
   * the default period.
   */
  leaverDataDays?: number;
  /** Who is importing: `system:sync`, `user:…`, `cli`. */
  actor: string;
  /** CTF identifies pupils by UPN only. */
  matchPupilsBy?: 'mis' | 'upn';
  /**
   * A CTF adds the pupils no pupil has the UPN of (under the UPN as their id) only where it is the
   * school's own MIS export (`mis.kind: ctf`). Elsewhere such a pupil is not added — the school's MIS
   * export brings them under their MIS id, and a pupil added from the CTF would be a second one — and
   * their marks are held (`held_marks`, under `upn:<UPN>`) until it does (`releaseHeldUpns`).
   */
  ctfAddsPupils?: boolean;
  sha256?: string | null;
  /** The school's calendar: marks on days it says are closed are reported (and kept). */
  calendar?: SchoolCalendar;
  dryRun?: boolean;
  onRecords?: (n: number) => void;
  /**
   * How the marks are written (`imports` in the config): in groups of `chunkMarks` marks, pausing
   * `pauseRatio` × each group's own write time after it. Absent: groups of `GROUP_MARKS`, no pause.
   */
  writePace?: { chunkMarks: number; pauseRatio: number };
}

export interface Rejection {
  where: string;
  reason: string;
  /**
   * The MIS id of the pupil the refused row names, when it names one (never a UPN): what a pupil's
   * subject-access export and erasure find their entries by. Entries stored before it was kept have none.
   */
  pupil?: string;
}

/** Rejects a row: where it is, why, its cause; `pupil`, the MIS id of the pupil it names (default: the cause's pupil id). */
type Reject = (where: string, reason: string, cause: Cause, pupil?: string) => void;

export interface ImportSummary {
  importId: string | null;
  unit: string;
  status: 'applied' | 'dry-run';
  pupils: { inserted: number; updated: number; unchanged: number };
  /** `removed`: marks the MIS deleted (by record id), taken off their sessions. */
  marks: { inserted: number; updated: number; unchanged: number; corrected: number; removed: number };
  rejected: Rejection[];
  /** Every rejected row, counted by cause (with the first ids of each). */
  rejectedByCause: RejectionCause[];
  /** How many rows were rejected in all (`rejected` keeps the first 1,000). */
  rejectedRows: number;
  /** Marks stored on days the calendar says are closed: how many, and the first of them. */
  calendarProblems: { count: number; first: CalendarProblem[] };
  /** Days closed all day in the register (`#`, `Y4`) that the calendar has as school days: how many, the first of them. */
  registerClosures: { count: number; first: RegisterClosure[] };
  changedPupils: string[];
}

/**
 * Thrown inside the unit's transaction when a unit read with its marks applied as they came turns
 * out to repeat a session: the transaction is rolled back and the unit read again with every mark
 * staged, so each repeat is checked against every line that gave its session.
 */
class ReadAgainStaged extends Error {
  constructor() {
    super('read again with every mark staged');
  }
}

class DryRunDone extends Error {
  readonly summary: ImportSummary;
  constructor(summary: ImportSummary) {
    super('dry run');
    this.summary = summary;
  }
}

const MAX_REJECTIONS_KEPT = 1000;

/**
 * An id with a lone UTF-16 surrogate (possible in JSON from an API): PostgreSQL would store it with
 * U+FFFD, so two different ids here could be one there. Rejected, never merged.
 */
const BROKEN_ID_REASON =
  'field pupil id: not well-formed text (a lone UTF-16 surrogate); check the MIS record';
const BROKEN_ID: Cause = {
  cause: 'pupil id not well-formed text (a lone UTF-16 surrogate)',
  idKind: 'fields',
  id: 'pupilMisId',
};

/** Why a file's mark for a pupil not in the school's list was rejected (the file is not held). */
const UNKNOWN_PUPIL = "unknown pupil: not in the school's pupil list (import pupils first)";
const FUTURE_DATE = 'date in the future';

const OUTSIDE_YEARS = 'date outside the accepted academic years';

/** A code withdrawn in 2024 (H, J, Y) on a day before 2024-08-19, when it was legal: its row only. */
const BEFORE_CODE_SET =
  'a code from before the 2024 code set (H, J or Y before 2024-08-19): no 2024 code means the same (the row not applied)';

/** Why a mark dated outside the school's accepted academic years was rejected, naming them: `… (2024/25, 2025/26)`. */
function outsideYearsCause(academicYears: ReadonlySet<number>): string {
  return `${OUTSIDE_YEARS} (${[...academicYears].map((y) => `${y}/${(y + 1) % 100}`).join(', ')})`;
}

/**
 * The causes of rows of a file that the same file imported again later may apply: a file whose
 * import rejected such rows is not "already imported". Its pupils imported since, the day come
 * (`causes`); or the school's config fixed (`refusedYears`): a mark outside the accepted academic
 * years — the rejection sends the data manager to `attendance.academicYears` — is taken by a repeat
 * once a year it was refused for is among the school's years now (only then: the list rolled on
 * 1 September or reordered would apply the old file over later corrections).
 */
export function causesARepeatMayTake(ctx: Pick<ImportContext, 'academicYears'>): RepeatMayTake {
  return {
    causes: [UNKNOWN_PUPIL, FUTURE_DATE],
    refusedYears: { startsWith: `${OUTSIDE_YEARS} (`, accepted: [...ctx.academicYears] },
  };
}

/** Marks per group (one statement) when the import is not paced. */
export const GROUP_MARKS = 5_000;

/**
 * Applies one import unit (a whole file, or one API page) in ONE transaction: either every row is
 * applied (rows for unknown pupils, outside the accepted years, with a value over its field
 * limit — `FIELD_LIMITS` — or with a code withdrawn in 2024 on a day before 2024-08-19 are rejected
 * and reported), or — when the unit is malformed, holds an unknown code or a withdrawn one on a day
 * from 2024-08-19, or gives one session two different marks — nothing is, and a `refused` import
 * row records why.
 *
 * Idempotent: marks upsert on (school, pupil, date, session) and only a different code counts as a
 * change; a corrected mark replaces the old one and writes an audit entry with both.
 * Duplicate rows in one unit: identical ones count once; conflicting ones refuse the unit.
 *
 * Marks are applied while the unit is still being read: each group of marks (`GROUP_MARKS`, or the
 * paced `chunkMarks`) is validated and applied in one statement while the reader parses the next;
 * only the marks whose pupil is not (yet) in the school's list are staged, to be reported or applied
 * once the unit's pupils are in. A group is applied as it is read until the unit brings pupils
 * (whose marks must wait for them); from then on groups are staged and applied at the end, group by
 * group and paced the same. A unit that repeats a session (`UnitKeys`) is read again from its start
 * with every mark staged (`ReadAgainStaged`), so a conflict is found whichever groups its lines fell
 * in and both lines are named; its marks are applied at the end (the last line's mark of an
 * identical repeat). CTF units (pupils matched by UPN) are staged from the start. Whole or nothing
 * still holds: every group's statement is in the unit's one transaction.
 */
export async function applyImportUnit(db: Db, unit: ImportUnit, ctx: ImportContext): Promise<ImportSummary> {
  const startedAt = new Date();
  const importRow = {
    schoolId: ctx.schoolId,
    source: ctx.source,
    unit: unit.label,
    sha256: ctx.sha256 ?? null,
    startedAt,
  };
  // A unit read again counts its records once.
  const readings = countedOnce((n) => ctx.onRecords?.(n));
  let stageAll = ctx.matchPupilsBy === 'upn';
  try {
    for (;;) {
      try {
        return await applyOnce(stageAll, readings());
      } catch (err) {
        if (!(err instanceof ReadAgainStaged) || stageAll) throw err;
        stageAll = true;
      }
    }
  } catch (caught) {
    if (caught instanceof DryRunDone) return caught.summary;
    const err = isValueRefused(caught) ? valueRefused(unit.label, caught) : caught;
    if (!ctx.dryRun && err instanceof DoorstepError) {
      await insertImport(db, importRow, 'refused', safeText(err.message)).catch(() => {});
    }
    throw err;
  }

  async function applyOnce(stageAll: boolean, onRecords: (n: number) => void): Promise<ImportSummary> {
    return await db.transaction(async (tx) => {
      await createStaging(tx);
      const importId = await insertImport(tx, importRow, ctx.dryRun ? 'dry-run' : 'applied');
      const rejected: Rejection[] = [];
      let rejectedCount = 0;
      const causes = new RejectionCauses();
      const reject: Reject = (
        where,
        reason,
        cause,
        pupil = cause.idKind === 'pupils' ? cause.id : undefined,
      ) => {
        rejectedCount++;
        // A CTF unit's pupil ids are UPNs until matched: never kept as a cause's id (the data page).
        const { id, ...rest } = cause;
        causes.add(where, id !== undefined && isUpnId(id) ? rest : cause);
        const named = rejectionPupil(pupil);
        if (rejected.length < MAX_REJECTIONS_KEPT)
          rejected.push(named === undefined ? { where, reason } : { where, reason, pupil: named });
      };
      const closedDays = new CalendarProblems();
      const closures = new RegisterClosures();
      let pupilsSeen = 0;
      /**
       * A CTF's pupils not added unless matched (`ctfAddsPupils` off): the rows staged under each UPN,
       * so that a newcomer taken out is no longer counted among the pupils seen (never "unchanged").
       */
      const stagedRowsOf =
        ctx.matchPupilsBy === 'upn' && !ctx.ctfAddsPupils ? new Map<string, number>() : null;
      /** `where`: the row that gave the leaving date (a held one is reported there). */
      const leavers: {
        misId: string;
        leftOn: string;
        destination: string | null;
        /** Why no destination though the MIS said something (absent: it gave none). */
        noDestination?: NoDestination;
        where: string;
      }[] = [];
      /** Leavers from a list of every leaver the MIS has: one the school never had is passed over. */
      const fromFullList = new Set<string>();
      /** Leavers the MIS gave no date for (`LeaverRecord.undated`): dated the day they were read. */
      const undated = new Set<string>();
      const sources = new Map<string, MarkSource>();
      const removals: string[] = [];
      // An API unit (its cursor moves past every record it holds): marks that cannot apply yet are
      // kept (`held_marks`) and applied by a later sync, never lost.
      const holding = unit.holdsMarks === true;
      const held: HeldMark[] = [];
      /** The sessions this unit gave a mark (a held mark for one is older, and never applied). */
      const given: Pick<HeldMark, 'pupilMisId' | 'date' | 'session'>[] = [];
      const holdFuture = holding
        ? (m: MarkRecord) =>
            held.push({
              pupilMisId: m.pupilMisId,
              date: m.date,
              session: m.session,
              mark: m.mark,
              minutesLate: m.minutesLate ?? null,
              recordId: m.recordId ?? null,
              vendorCategory: m.vendorCategory ?? null,
              why: 'future-date',
            })
        : undefined;

      // Writes in flight while the next group is parsed: the database and the parser work at the
      // same time. Groups are applied one after another (each reads the months the one before
      // wrote); unpaced, the next group is read while one is applied; paced, one at a time with its
      // pause after it.
      const keys = new UnitKeys(ctx.academicYears);
      const groupMarks = ctx.writePace?.chunkMarks ?? GROUP_MARKS;
      const pauseRatio = ctx.writePace?.pauseRatio ?? 0;
      const applied: AppliedMarks[] = [];
      let asRead = !stageAll;
      let groupNo = 0;
      let firstStagedOnly: number | null = null;
      let appliedThenPupils = false;
      let appliedAsRead = false;
      let stagedMarks = 0;
      let group = new MarkColumns();
      /** The group's rows rejected for their mark: staged with it, for `refuseConflicts` to see. */
      let groupRejected = new MarkColumns();
      const writes: Promise<void>[] = [];
      const queued = pauseRatio > 0 ? 0 : 1;
      // Paced, after each group: its log flushed by the import itself (src/store/wal-flush.ts), so the
      // next alarm's commit does not wait for it, then the pause, `pauseRatio` × the group's time.
      const pause = async (started: number) => {
        await flushWalNow(db);
        await sleep((performance.now() - started) * pauseRatio);
      };
      const write = (w: Promise<void>) => {
        // A failed write must not wait for the parser to finish to be noticed.
        w.catch(() => {});
        writes.push(w);
        return w;
      };
      let lastApply: Promise<void> = Promise.resolve();
      const settle = async (keep: number) => {
        while (writes.length > keep) await writes.shift();
      };
      const send = () => {
        const g = group;
        const r = groupRejected;
        const no = groupNo++;
        group = new MarkColumns();
        groupRejected = new MarkColumns();
        stagedMarks += g.length;
        if (asRead) {
          appliedAsRead = true;
          // One group at a time: a group reads the months it touches after the one before wrote them.
          const before = lastApply;
          lastApply = write(
            (async () => {
              await before;
              const started = performance.now();
              applied.push(
                await applyMarks(tx, ctx.schoolId, importId, ctx.actor, { group: g, groupNo: no }),
              );
              if (pauseRatio > 0) await pause(started);
            })(),
          );
        } else {
          firstStagedOnly ??= no;
          write(stageMarks(tx, g, no));
          // Its rejected rows beside it. A group applied as read needs none kept: a later row for one of
          // their sessions is a repeat, and the unit is read again with every group staged.
          write(stageRejectedMarks(tx, r, no));
        }
      };
      try {
        for await (const batch of unit.batches()) {
          if (batch.kind === 'pupils') {
            await settle(0);
            // This unit's pupils are written at its end: marks from here on wait for them.
            if (asRead && groupNo > 0) appliedThenPupils = true;
            asRead = false;
            const within = batch.pupils.flatMap((given) => {
              const fit = fitPupilToLimits(given);
              if ('refused' in fit) {
                reject(
                  describeWhere(given.where),
                  describeExceeded(fit.refused),
                  tooLong(fit.refused.field),
                  given.misId,
                );
                return [];
              }
              const p = fit.pupil;
              if (!p.misId.isWellFormed()) {
                reject(describeWhere(p.where), BROKEN_ID_REASON, BROKEN_ID);
                return [];
              }
              // A field over its limit, or one the reader could not use, was left out; the rest of the
              // pupil is applied (and their marks with them).
              for (const over of fit.left)
                reject(
                  describeWhere(p.where),
                  `${describeExceeded(over)}; not taken (the rest of the pupil's record applied)`,
                  {
                    cause: `field ${over.field} over ${over.max} characters (not taken; the rest applied)`,
                    idKind: 'pupils',
                    id: p.misId,
                  },
                );
              for (const u of p.unusable ?? [])
                reject(
                  describeWhere(p.where),
                  `field ${u.field}: expected ${u.expected}; not taken (the rest of the pupil's record applied)`,
                  {
                    cause: `field ${u.field} not ${u.expected} (not taken; the rest applied)`,
                    idKind: 'pupils',
                    id: p.misId,
                  },
                );
              return [p];
            });
            pupilsSeen += within.length;
            if (stagedRowsOf)
              for (const p of within) stagedRowsOf.set(p.misId, (stagedRowsOf.get(p.misId) ?? 0) + 1);
            // A pupil the export gives a leaving date is also a leaver (after the unit's pupils are in).
            for (const p of within)
              if (p.leaving)
                leavers.push({
                  misId: p.misId,
                  leftOn: p.leaving.on,
                  destination: p.leaving.destination,
                  ...(p.leaving.noDestination ? { noDestination: p.leaving.noDestination } : {}),
                  where: describeWhere(p.where),
                });
            write(stagePupils(tx, within.map(stagedPupil)));
            onRecords(batch.pupils.length);
          } else if (batch.kind === 'leavers') {
            for (const l of batch.leavers) {
              if (l.unidentified) {
                reject(
                  describeWhere(l.where),
                  `field ${l.unidentified.field}: expected ${l.unidentified.expected}; no pupil is marked off roll for ${l.misId}`,
                  {
                    cause: `field ${l.unidentified.field} not ${l.unidentified.expected} (no pupil marked off roll)`,
                    idKind: 'pupils',
                    id: l.misId,
                  },
                );
              } else if (l.misId.length > FIELD_LIMITS.misId || !isIsoDate(l.leftOn)) {
                reject(describeWhere(l.where), 'a leaver needs an MIS id and a leaving date (YYYY-MM-DD)', {
                  cause: 'a leaver without an MIS id or a leaving date (YYYY-MM-DD)',
                });
              } else if ((l.destination?.length ?? 0) > FIELD_LIMITS['leaver.destination']) {
                reject(
                  describeWhere(l.where),
                  `field destination: expected at most ${FIELD_LIMITS['leaver.destination']} characters`,
                  tooLong('destination'),
                );
              } else {
                leavers.push({
                  misId: l.misId,
                  leftOn: l.leftOn,
                  destination: l.destination ?? null,
                  ...(l.noDestination ? { noDestination: l.noDestination } : {}),
                  where: describeWhere(l.where),
                });
                if (l.fromFullList) fromFullList.add(l.misId);
                if (l.undated) undated.add(l.misId);
              }
            }
            onRecords(batch.leavers.length);
          } else if (batch.kind === 'removals') {
            for (const r of batch.removals) {
              if (r.recordId.length === 0 || r.recordId.length > FIELD_LIMITS['mark.recordId'])
                reject(
                  describeWhere(r.where),
                  `a deleted mark's record id: expected 1 to ${FIELD_LIMITS['mark.recordId']} characters`,
                  tooLong('recordId'),
                );
              else removals.push(r.recordId);
            }
            onRecords(batch.removals.length);
          } else {
            for (const m of batch.marks) {
              const before = group.length;
              addMark(group, groupRejected, m, ctx, reject, closedDays, closures, keys, holdFuture);
              if (holding && group.length > before)
                given.push({ pupilMisId: m.pupilMisId, date: m.date, session: m.session });
              // The MIS's record that gave an accepted mark (the last one for its session).
              if (m.recordId !== undefined && group.length > before)
                sources.set(`${m.pupilMisId}\u0000${m.date}\u0000${m.session}`, {
                  pupil: m.pupilMisId,
                  date: m.date,
                  session: m.session,
                  recordId: m.recordId,
                });
              if (keys.repeats > 0) {
                // A group applied as read staged only its unknown pupils' marks: a repeat's earlier
                // line may be among the others, so the unit is read again with every mark staged.
                // None applied as read yet: this group and the rest are simply staged.
                if (appliedAsRead) {
                  await settle(0);
                  throw new ReadAgainStaged();
                }
                asRead = false;
              }
              if (group.length >= groupMarks) {
                await settle(queued);
                send();
              }
            }
            onRecords(batch.marks.length);
          }
        }
      } catch (err) {
        // Refused while writes were in flight: none may outlive the transaction (its rollback, and a
        // connection handed on to another import), so they end before the error leaves.
        await Promise.allSettled(writes);
        throw err;
      }
      await settle(0);
      send();
      await settle(0);

      /** A CTF's pupils no pupil has the UPN of, not added (`ctfAddsPupils`): by UPN, where their record is. */
      const newcomers = new Map<string, { line: number; marks: number }>();
      if (ctx.matchPupilsBy === 'upn') {
        const { ambiguous, matched } = await matchStagedByUpn(tx, ctx.schoolId);
        // Marks on closed days were noted while the file was read, under their UPN: the data page
        // lists them under the pupil's MIS id (the UPN is kept to the few who need it).
        closedDays.renamePupils(matched);
        closures.renamePupils(matched);
        if (ambiguous.length > 0) {
          // The UPN itself is not said (the message is logged, kept on the import and in the
          // quarantine note): the MIS ids find it. A pupil an earlier CTF added has the UPN as its id.
          const shown = (a: { upn: string; misIds: string[] }) =>
            `${a.misIds.length === 2 ? 'two' : a.misIds.length} pupils share a UPN: ${listed(
              a.misIds.map((id) =>
                id === a.upn ? 'a pupil an earlier CTF added (known by the UPN only)' : `MIS id ${id}`,
              ),
            )}`;
          throw doorstepError(
            'IMPORT_REFUSED',
            `${unit.label}: ${shown(ambiguous[0]!)}; a CTF names pupils by UPN only, so its records cannot be matched — give each pupil their own UPN in the MIS`,
            { details: ambiguous.map(shown) },
          );
        }
        // Two marks for one session are refused before any pupil's marks are set aside below.
        await refuseConflicts(tx, unit.label);
        if (!ctx.ctfAddsPupils)
          for (const n of await takeStagedNewcomers(tx, ctx.schoolId)) {
            newcomers.set(n.upn, { line: n.line, marks: 0 });
            // Not added: neither inserted nor unchanged (every row of theirs, a repeat's too, is gone).
            pupilsSeen -= stagedRowsOf?.get(n.upn) ?? 1;
          }
      }
      // One pupil given two different records refuses the unit (both lines named, or an API's
      // records); identical repeats count once.
      const pupilRepeats = await conflictingPupils(tx);
      if (pupilRepeats.conflicts.length > 0) {
        const c = pupilRepeats.conflicts[0]!;
        throw doorstepError(
          'IMPORT_REFUSED',
          `${unit.label}: ${pupilNamed(c.mis_id)} has different records on ${rowsAt(c.at, listed)}; one pupil can have only one record — correct the export`,
          {
            details: pupilRepeats.conflicts.map(
              (k) => `${pupilNamed(k.mis_id)}: ${rowsAt(k.at, (items) => items.join(', '))}`,
            ),
          },
        );
      }
      pupilsSeen -= pupilRepeats.repeats;
      const pupils = await upsertPupils(tx, ctx.schoolId);
      // Leavers the unit lists as on roll are back (before this unit's own leavers are marked).
      const returned = await returnToRoll(tx, ctx.schoolId);
      for (const r of returned)
        await appendAudit(tx, {
          actor: ctx.actor,
          action: 'pupil.returned-to-roll',
          schoolId: ctx.schoolId,
          entityType: 'pupil',
          entityId: r.misId,
          before: { leftOn: r.leftOn, leftTo: r.leftTo },
          after: { leftOn: null, source: ctx.source },
        });
      // A leaving date a person confirmed by hand is undone too (the MIS's on roll wins: kept off roll
      // wrongly, a pupil gets no visit triggers), never silently: the data manager is told which date,
      // at the record that has them on roll (its line in a file, its record from an API).
      for (const r of returned)
        if (r.confirmed)
          reject(
            r.place,
            `${pupilNamed(r.misId)} is on roll in the MIS: back on roll, the leaving date ${r.leftOn} confirmed with doorstep subject left --yes cleared — if they left, enter the Date of Leaving in the MIS`,
            {
              cause:
                'on roll in the MIS: a leaving date confirmed by hand cleared, the pupil back on roll (enter the Date of Leaving in the MIS if they left)',
              idKind: 'pupils',
              id: r.misId,
            },
          );
      // (One the unit also changed otherwise is counted once.)
      pupils.updated = Math.min(pupilsSeen - pupils.inserted, pupils.updated + returned.length);
      // Leavers are marked off-roll after this unit's pupils are in, and never deleted — but not on a
      // leaving date the CLI would doubt (before the pupil's own last mark, or so far back that
      // tonight's purge erases them: a Date of Leaving of 2016 for 2026): held, the pupil left on
      // roll, and reported for the data manager to correct in the MIS (or confirm with
      // `doorstep subject left --yes`). A date the MIS sends again unchanged was taken already. A
      // date a person confirmed with `--yes` is kept over a different one from the MIS (`markLeavers`),
      // the two reported for the data manager to resolve, until a person records the date again or
      // the MIS sends the same one.
      const standing = await leaverStanding(
        tx,
        ctx.schoolId,
        leavers.map((l) => l.misId),
      );
      const taken: ((typeof leavers)[number] & { replaces: boolean })[] = [];
      for (const l of leavers) {
        const now = standing.get(l.misId);
        if (!now || now.leftOn === l.leftOn) {
          taken.push({ ...l, replaces: false });
          continue;
        }
        // A leaver the MIS gave no date for (Wonde's lists, Arbor's deletions: dated the day read)
        // has no date to disagree with: the confirmed one is kept quietly — reported, it could never
        // be resolved by a Date of Leaving in the MIS.
        if (now.confirmed && undated.has(l.misId)) continue;
        if (now.confirmed) {
          reject(
            l.where,
            `leaver ${pupilNamed(l.misId)}: leaving date ${l.leftOn} not taken: the leaving date ${now.leftOn} confirmed with doorstep subject left --yes is kept — correct the Date of Leaving in the MIS, or record the right date with doorstep subject left`,
            {
              cause:
                'leaving date differs from one confirmed by hand: the confirmed date kept (correct the MIS, or record the right date with doorstep subject left)',
              idKind: 'pupils',
              id: l.misId,
            },
          );
          continue;
        }
        const doubts = leavingDateDoubts(l.leftOn, {
          latestMark: now.latestMark,
          today: ctx.today,
          leaverDataDays: ctx.leaverDataDays ?? RETENTION_DEFAULTS.leaverDataDays,
        });
        if (doubts.length === 0) {
          // A stored date before the pupil's own last mark was a doubtful one: the MIS's correction wins.
          taken.push({
            ...l,
            replaces: now.leftOn !== null && now.latestMark !== null && now.leftOn < now.latestMark,
          });
          continue;
        }
        reject(
          l.where,
          `leaver ${pupilNamed(l.misId)}: leaving date ${l.leftOn} held, not marked off roll: ${doubts.join('; ')} — check the Date of Leaving in the MIS (a year mistyped?), or confirm it with doorstep subject left --yes`,
          {
            cause:
              'leaving date doubtful: held, not marked off roll (before their last mark, or erased at once by the purge; check the MIS)',
            idKind: 'pupils',
            id: l.misId,
          },
        );
      }
      const left = await markLeavers(tx, ctx.schoolId, taken);
      // A leaver the school never had is reported at the row that named them (the first, if several).
      const leaverAt = new Map<string, string>();
      for (const l of taken) if (!leaverAt.has(l.misId)) leaverAt.set(l.misId, l.where);
      for (const id of left.unknown) {
        if (fromFullList.has(id)) continue;
        reject(
          leaverAt.get(id) ?? unit.label,
          `leaver ${id}: not in the school's pupil list (nothing to mark off-roll)`,
          {
            cause: "leaver not in the school's pupil list (nothing to mark off-roll)",
            idKind: 'pupils',
            id,
          },
        );
      }
      pupils.updated += left.marked.length;
      pupilsSeen += left.marked.length;
      const unknownPupils = new Set<string>();
      const unknown = await takeUnknownPupilMarks(tx, ctx.schoolId);
      const unknownMarks = unknown.length;
      for (const r of unknown) {
        unknownPupils.add(r.pupil_mis_id);
        // A CTF's pupil not added (`ctfAddsPupils`): held under the UPN, reported once per pupil below.
        const newcomer = newcomers.get(r.pupil_mis_id);
        if (newcomer) {
          newcomer.marks++;
          held.push({
            pupilMisId: `${HELD_UPN_PREFIX}${r.pupil_mis_id}`,
            date: r.date,
            session: r.session,
            mark: r.local_code ?? r.code,
            minutesLate: r.minutes_late,
            recordId: null,
            vendorCategory: null,
            why: 'unknown-pupil',
          });
          continue;
        }
        // An API sync's mark for a pupil not imported yet (created in the MIS after the students were
        // read): kept, and applied once the pupil arrives — the cursor moves past its record.
        if (holding)
          held.push({
            pupilMisId: r.pupil_mis_id,
            date: r.date,
            session: r.session,
            mark: r.local_code ?? r.code,
            minutesLate: r.minutes_late,
            recordId: sources.get(`${r.pupil_mis_id}\u0000${r.date}\u0000${r.session}`)?.recordId ?? null,
            vendorCategory: null,
            why: 'unknown-pupil',
          });
        // Where its row is: a file's line (and record), an API's record — an API has no lines.
        reject(
          describeWhere({
            unit: unit.label,
            ...(r.line !== null ? { line: r.line } : {}),
            ...(r.record !== null ? { record: r.record } : {}),
          }),
          holding
            ? `unknown pupil ${r.pupil_mis_id}: not in the school's pupil list — the mark is kept for 30 days and applied once the pupil is imported`
            : `unknown pupil ${r.pupil_mis_id}: not in the school's pupil list (import pupils first)`,
          {
            cause: holding
              ? "unknown pupil: not in the school's pupil list (the mark kept, and applied once the pupil is imported)"
              : UNKNOWN_PUPIL,
            idKind: 'pupils',
            id: r.pupil_mis_id,
          },
        );
      }
      // Said once per pupil, by where their record is: never by their UPN.
      for (const [, n] of newcomers)
        reject(
          describeWhere({ unit: unit.label, line: n.line }),
          `a pupil none of the school's pupils has the UPN of: not added from a CTF (the school's MIS export brings them, under their MIS id)${
            n.marks > 0
              ? ` — their ${n.marks} mark${n.marks === 1 ? ' is' : 's are'} kept for 30 days and applied once it does`
              : ''
          }`,
          {
            cause:
              "pupil not in the school's MIS export yet: not added from a CTF (their marks kept, and applied once the MIS export lists them)",
          },
        );
      if (newcomers.size > 0) await holdMarks(tx, ctx.schoolId, ctx.source, held, ctx.today, importId);
      // A record the MIS deleted takes its held mark with it, and a session given a mark now (applied,
      // or held again) its older one; the rest are kept for a later sync.
      if (holding) {
        await releaseHeldMarks(tx, ctx.schoolId, ctx.source, { recordIds: removals, sessions: given });
        await holdMarks(tx, ctx.schoolId, ctx.source, held, ctx.today, importId);
      }
      // The groups not applied as they were read: all of them again when this unit's pupils came
      // after some were (applying a mark twice changes nothing the second time), else from the first.
      const repeats = keys.repeats > 0 || ctx.matchPupilsBy === 'upn';
      // The unit repeats a pupil × date × session: identical repeats count once, different ones refuse it.
      if (repeats) await refuseConflicts(tx, unit.label);
      // One group at a time, paced as while reading: a CTF or a file with a repeat writes no faster.
      const lateFrom = appliedThenPupils ? 0 : firstStagedOnly;
      if (lateFrom !== null) {
        await indexStagedGroups(tx);
        for (let g = lateFrom; g < groupNo; g++) {
          const started = performance.now();
          applied.push(
            await applyMarks(tx, ctx.schoolId, importId, ctx.actor, { stagedGroup: g, dedupe: repeats }),
          );
          if (pauseRatio > 0) await pause(started);
        }
      }
      const sessions = repeats ? await stagedMarkCount(tx, true) : stagedMarks - unknownMarks;
      // Which record gave each mark, then the marks of records the MIS deleted (after this unit's
      // own marks: a record created and deleted since the last sync leaves none).
      await noteMarkSources(tx, ctx.schoolId, [...sources.values()]);
      const gone = await removeMarksOfRecords(tx, ctx.schoolId, ctx.actor, importId, removals);
      const marks = {
        inserted: sum(applied, (a) => a.inserted),
        updated: sum(applied, (a) => a.updated),
        corrected: sum(applied, (a) => a.corrected),
        removed: gone.removed,
        changedPupils: [
          ...new Set([...applied.flatMap((a) => a.changedPupils), ...gone.changedPupils]),
        ].sort(),
      };
      if (rejectedCount > rejected.length) {
        rejected.push({ where: unit.label, reason: `${rejectedCount - rejected.length} more rows rejected` });
      }
      const calendarProblems = closedDays.stored(unknownPupils);
      const registerClosures = closures.stored(unknownPupils);
      // Pupils newly off roll are handed to trigger evaluation too (a pack may ask for a CME check),
      // and those whose flags changed (a CP plan begun: a vulnerable pupil's absence is a visit now).
      const changedPupils = [
        ...new Set([
          ...marks.changedPupils,
          ...left.marked,
          ...returned.map((r) => r.misId),
          ...pupils.flagsChanged,
        ]),
      ];

      const summary: ImportSummary = {
        importId: ctx.dryRun ? null : importId,
        unit: unit.label,
        status: ctx.dryRun ? 'dry-run' : 'applied',
        pupils: {
          inserted: pupils.inserted,
          updated: pupils.updated,
          unchanged: pupilsSeen - pupils.inserted - pupils.updated,
        },
        marks: {
          inserted: marks.inserted,
          updated: marks.updated,
          unchanged: sessions - marks.inserted - marks.updated,
          corrected: marks.corrected,
          removed: marks.removed,
        },
        rejected,
        rejectedByCause: causes.list(),
        rejectedRows: causes.total(),
        calendarProblems,
        registerClosures,
        changedPupils,
      };
      if (ctx.dryRun) throw new DryRunDone(summary);
      await finishImport(tx, importId, {
        pupilsInserted: pupils.inserted,
        pupilsUpdated: pupils.updated,
        marksInserted: marks.inserted,
        // A mark the MIS deleted is a changed mark too.
        marksUpdated: marks.updated + marks.removed,
        marksUnchanged: summary.marks.unchanged,
        rejected,
        rejectedByCause: summary.rejectedByCause,
        calendarProblems,
        registerClosures,
        changedPupils,
      });
      const cursor = unit.cursorAfter?.();
      if (cursor !== undefined) await setCursor(tx, ctx.schoolId, ctx.source, cursor);
      return summary;
    });
  }
}

/** What a data exception most likely was in an export, by SQLSTATE (PostgreSQL's appendix A). */
const VALUE_REFUSALS: Record<string, string> = {
  '22P05': 'a NUL character, which text cannot hold',
  '22021': 'a NUL character or text that is not valid UTF-8',
  '22001': 'a value longer than its column',
  '22003': 'a number out of range',
  '22007': 'a date or time that cannot be read',
  '22008': 'a date or time out of range',
};

/**
 * A value the database refused (SQLSTATE class 22) fails the same way at every try: the unit is
 * refused like a malformed one, recorded and quarantined, never retried. The database's own message
 * can quote the value (personal data), so only its SQLSTATE is named, and it is not kept as the cause.
 */
function valueRefused(label: string, err: unknown): DoorstepError {
  const state = sqlState(err) ?? '22000';
  const what = VALUE_REFUSALS[state] ?? 'a value it cannot store';
  return doorstepError(
    'IMPORT_REFUSED',
    `${label}: the database refused a value in it (SQLSTATE ${state}: ${what}); nothing of it is applied — check the export`,
  );
}

async function refuseConflicts(tx: Queryable, label: string): Promise<void> {
  const conflicts = await conflictingMarks(tx);
  if (conflicts.length === 0) return;
  const c = conflicts[0]!;
  throw doorstepError(
    'IMPORT_REFUSED',
    `${label}: ${pupilNamed(c.pupil_mis_id)} has different marks for ${c.date} ${c.session} on ${rowsAt(c.at, listed)}; one session can have only one mark — correct the export`,
    {
      details: conflicts.map(
        (k) =>
          `${pupilNamed(k.pupil_mis_id)} ${k.date} ${k.session}: ${rowsAt(k.at, (items) => items.join(', '))}`,
      ),
    },
  );
}

/**
 * Where a unit's rows that repeat one another are: `lines 3 and 5` in a file; `records 3 and 5` from
 * an API, which has no lines (its page is in the unit's name) — never a line it does not have; and
 * `line 1 (record 3) and line 1 (record 5)` for rows on one line (an XML file's records may all be on
 * one), so each row is told apart.
 */
function rowsAt(at: readonly StagedAt[], join: (items: string[]) => string): string {
  const lines = at.map((p) => p.line);
  if (lines.every((l) => l !== null) && new Set(lines).size === lines.length)
    return `lines ${join(lines.map(String))}`;
  if (lines.every((l) => l === null) && at.every((p) => p.record !== null))
    return `records ${join(at.map((p) => String(p.record)))}`;
  return join(
    at.map((p) =>
      p.line !== null
        ? `line ${p.line}${p.record !== null ? ` (record ${p.record})` : ''}`
        : p.record !== null
          ? `record ${p.record}`
          : 'a row without a number',
    ),
  );
}

function addMark(
  out: MarkColumns,
  /**
   * Rows rejected for their mark once their date was taken (a code from before the 2024 code set, a
   * meaning the MIS differs on): no mark applied, but the unit gave the session one, and a unit that
   * gives it another is refused for the two (both lines named) — never the other applied alone.
   */
  rejectedOut: MarkColumns,
  m: MarkRecord,
  ctx: ImportContext,
  reject: Reject,
  closedDays: CalendarProblems,
  closures: RegisterClosures,
  keys: UnitKeys,
  /** An API unit's mark that cannot apply yet is kept to apply later (its cursor moves past it). */
  hold?: (m: MarkRecord) => void,
): void {
  // A row the reader found no mark in (a Wonde row with no code): rejected alone, the rest applied.
  if (m.unreadable) {
    reject(
      describeWhere(m.where),
      `field ${m.unreadable.field}: expected ${m.unreadable.expected}; the row is not applied (the rest are)`,
      {
        cause: `field ${m.unreadable.field} not ${m.unreadable.expected} (the row not applied)`,
        idKind: 'pupils',
        id: m.pupilMisId,
      },
    );
    return;
  }
  const over = markExceeds(m);
  if (over) {
    reject(describeWhere(m.where), describeExceeded(over), tooLong(over.field), m.pupilMisId);
    return;
  }
  if (!m.pupilMisId.isWellFormed()) {
    reject(describeWhere(m.where), BROKEN_ID_REASON, BROKEN_ID);
    return;
  }
  const resolved = resolveCode(m.mark, m.date, ctx.codeMap);
  // Its date first: a row not taken for its date (a year not accepted, a day not come) is rejected
  // alone whatever its code says — a first sync's old years hold codes legal then (H before
  // 2024-08-19), and refusing the unit for them kept an API sync on that page for ever.
  if (m.date > ctx.today) {
    // Kept only up to the end of the next academic year (a planned absence entered in July for
    // September); a date beyond that is a wrong one (2099), refused rather than kept for ever.
    if (hold && academicYearOf(m.date) <= Math.max(...ctx.academicYears) + 1) {
      // Kept to be applied: its code must resolve now, as if it applied today.
      if (!resolved.ok) throw malformed(m.where, 'mark', resolved.reason);
      if (meaningDiffers(m, resolved, reject)) return;
      hold(m);
      reject(
        describeWhere(m.where),
        `date ${m.date} is in the future: kept, and applied at the first sync on or after it`,
        {
          cause: 'date in the future (kept, and applied when the day comes)',
          idKind: 'dates',
          id: m.date,
        },
        m.pupilMisId,
      );
      return;
    }
    reject(
      describeWhere(m.where),
      `date ${m.date} is in the future`,
      { cause: FUTURE_DATE, idKind: 'dates', id: m.date },
      m.pupilMisId,
    );
    return;
  }
  if (!ctx.academicYears.has(academicYearOf(m.date))) {
    const years = [...ctx.academicYears].map((y) => `${y}/${(y + 1) % 100}`).join(', ');
    reject(
      describeWhere(m.where),
      `date ${m.date} is outside the accepted academic years (${years})`,
      {
        cause: outsideYearsCause(ctx.academicYears),
        idKind: 'dates',
        id: m.date,
        year: academicYearOf(m.date),
      },
      m.pupilMisId,
    );
    return;
  }
  if (!resolved.ok) {
    // A code withdrawn in 2024 on a day before 2024-08-19, when it was legal: what the MIS holds is
    // right, but no 2024 code means the same with certainty (H is not C; J was an approved activity,
    // J1 is an absence; Y is one of seven). The row is rejected and said, the rest applied.
    if (resolved.beforeCodeSet) {
      const code = safeText(m.mark.trim());
      reject(
        describeWhere(m.where),
        `${beforeCodeSetReason(code, `${m.date} ${m.session}`)} (the rest are applied)`,
        { cause: BEFORE_CODE_SET, idKind: 'marks', id: code },
        m.pupilMisId,
      );
      givenRejected(rejectedOut, m, keys);
      return;
    }
    // An unknown code, or a withdrawn one on a day it was withdrawn for, is a mapping problem for
    // the data manager: refuse the unit, never guess.
    throw malformed(m.where, 'mark', resolved.reason);
  }
  if (meaningDiffers(m, resolved, reject)) {
    givenRejected(rejectedOut, m, keys);
    return;
  }
  // '#' (planned whole-school closure) and 'Y4' (site unexpectedly closed) agree with a closed day,
  // and on one of the calendar's school days may say it misses a closure; any other mark on a closed
  // day is reported. (A year no term covers is judged only on weekends and closures: nothing there is
  // a school day the calendar vouches for.)
  if (resolved.code === '#' || resolved.code === 'Y4') {
    if (ctx.calendar?.isSchoolDay(m.date)) closures.add(m.pupilMisId, m.date, m.session, resolved.code);
  } else {
    const closed = ctx.calendar?.whyClosed(m.date);
    if (closed)
      closedDays.add({
        where: describeWhere(m.where),
        pupil: m.pupilMisId,
        date: m.date,
        session: m.session,
        code: resolved.code,
        closed: closed.kind,
        ...(closed.note ? { note: safeText(closed.note) } : {}),
      });
  }
  keys.add(m.pupilMisId, m.date, m.session);
  out.push(
    m.where.line ?? null,
    m.where.record ?? null,
    m.pupilMisId,
    m.date,
    m.session,
    resolved.code,
    resolved.category,
    resolved.localCode,
    m.minutesLate ?? null,
  );
}

/** A row rejected for its mark: its session noted as given (`addMark`'s `rejectedOut`). */
function givenRejected(out: MarkColumns, m: MarkRecord, keys: UnitKeys): void {
  keys.add(m.pupilMisId, m.date, m.session);
  out.push(
    m.where.line ?? null,
    m.where.record ?? null,
    m.pupilMisId,
    m.date,
    m.session,
    m.mark.trim(),
    m.vendorCategory ?? '',
    null,
    m.minutesLate ?? null,
  );
}

/**
 * The MIS means one thing by the mark, the DfE table (or the school's code map) another: reported to
 * the data manager (true: the row rejected), the stored mark kept as it was rather than either
 * meaning picked.
 */
function meaningDiffers(m: MarkRecord, resolved: { category: Category }, reject: Reject): boolean {
  if (!m.vendorCategory || m.vendorCategory === resolved.category) return false;
  reject(
    describeWhere(m.where),
    `mark ${safeText(m.mark)}: the MIS counts it as ${m.vendorCategory.replace(/_/g, ' ')} but the DfE code table (with the school's code map) says ${resolved.category.replace(/_/g, ' ')}; check the mark's setup in the MIS or the code map`,
    {
      cause:
        "the MIS's meaning of a mark differs from the DfE code table's (check the mark's setup or the code map)",
      idKind: 'marks',
      id: safeText(m.mark),
    },
    m.pupilMisId,
  );
  return true;
}

function stagedPupil(p: PupilRecord) {
  const { where, misId, ...data } = p;
  return {
    line: where.line ?? null,
    record: where.record ?? null,
    place: describeWhere(where),
    misId,
    data: data as Record<string, unknown>,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sum<T>(items: readonly T[], of: (t: T) => number): number {
  let n = 0;
  for (const t of items) n += of(t);
  return n;
}

/**
 * A pupil id that is a UPN: a CTF's pupils are named by UPN until matched to the school's pupils, and
 * a pupil a CTF added has the UPN as its id. A UPN is never said in a message (logged, and kept on the
 * import and in the quarantine note) nor kept as a rejection's id; no MIS's own ids look like one.
 */
function isUpnId(id: string): boolean {
  return UPN_PATTERN.test(id);
}

/**
 * The pupil a rejection is kept as naming: an MIS id that is well-formed, within its limit and no
 * UPN (a CTF's unmatched pupils are named by UPN: never kept), else none.
 */
function rejectionPupil(id: string | undefined): string | undefined {
  if (id === undefined || id.length === 0 || id.length > FIELD_LIMITS.misId) return undefined;
  return id.isWellFormed() && !isUpnId(id) ? id : undefined;
}

/** "pupil 1001", or — for an id that is a UPN (`isUpnId`) — a pupil known by their UPN only, unnamed. */
export function pupilNamed(id: string): string {
  return isUpnId(id) ? 'a pupil known by their UPN only' : `pupil ${id}`;
}

/** "a", "a and b", "a, b and c". */
function listed(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** A field over its limit: one cause per field. */
function tooLong(field: string): Cause {
  return { cause: `field ${field} longer than its limit`, idKind: 'fields', id: field };
}
