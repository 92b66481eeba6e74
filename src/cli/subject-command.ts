import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { holdsRole } from '../auth/scope.ts';
import { schoolOf } from '../config/school-of.ts';
import { retentionFor } from '../config/sections/retention.ts';
import { isIsoDate, londonDate } from '../domain/attendance/dates.ts';
import { leavingDateDoubts } from '../domain/attendance/leaving-date-doubts.ts';
import { doorstepError } from '../errors.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db } from '../store/db.ts';
import {
  CORRECTABLE,
  correctField,
  exportSubject,
  resolveSubject,
  staffOfOtherSchools,
} from '../store/subject.ts';
import { erasePupilAudited } from '../store/subject-erase.ts';
import { latestMarkOf } from '../store/subject-left.ts';
import type { SubjectKind } from '../store/subject-sections.ts';
import { userByUsername } from '../store/users.ts';
import { type CommandDeps, localDeps } from './command-deps.ts';
import { subjectHtml } from './subject-page.ts';

export interface SubjectOptions {
  config: string;
  school: string;
  pupil?: string;
  staff?: string;
  /** export: the folder the JSON and HTML files go to. */
  out?: string;
  /** correct: the field and its new value ('' clears it). */
  field?: string;
  value?: string;
  /** left: the date the pupil left. */
  on?: string;
  /** correct, left, erase: the admin account doing it (username). */
  by?: string;
  /** erase: confirmation; left: confirms a leaving date before the pupil's last mark, or one that erases them at once. */
  yes?: boolean;
}

/** An enabled admin account that covers the school: the actor for the audit. */
async function adminActor(db: Db, by: string | undefined, schoolId: string): Promise<string> {
  if (!by) throw doorstepError('USAGE', '--by: the username of the admin making the change (for the audit)');
  const u = await userByUsername(db, by);
  if (!u || u.disabled || !holdsRole(u, 'admin') || (u.schools.length > 0 && !u.schools.includes(schoolId)))
    throw doorstepError('USAGE', `--by: "${by}" is not an enabled admin of ${schoolId}`);
  return `user:${u.id}`;
}

/** Writes a file only its owner can read (it holds personal data), refusing to overwrite one. */
async function writePrivate(path: string, text: string): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
}

/**
 * `doorstep subject export|correct|left|erase`: subject access (everything held about one pupil or
 * member of staff, as JSON and a readable HTML page), rectification of one field and the date a pupil
 * left (audited, by a named admin), and erasure of a pupil. Output names tables and counts only.
 */
export async function subjectCommand(
  action: string,
  opts: SubjectOptions,
  out: (line: string) => void,
  deps?: CommandDeps,
  now: () => Date = () => new Date(),
): Promise<number> {
  if (!['export', 'correct', 'left', 'erase'].includes(action))
    throw doorstepError('USAGE', `expected export, correct, left or erase, got "${action}"`);
  if ((opts.pupil === undefined) === (opts.staff === undefined))
    throw doorstepError('USAGE', 'give one of --pupil ID or --staff ID');
  const kind: SubjectKind = opts.pupil !== undefined ? 'pupil' : 'staff';
  if (kind === 'staff' && (action === 'erase' || action === 'left'))
    throw doorstepError('USAGE', `${action} is for pupils (--pupil ID)`);
  const d = deps ?? localDeps(opts.config);
  const { config } = d;
  const school = schoolOf(config, opts.school, '--school');
  return d.withStore(async (db) => {
    const id = (opts.pupil ?? opts.staff)!;
    const ref = { kind, schoolId: school.id, id };
    const subject = await resolveSubject(db, ref);
    if (!subject) {
      // Another school's member of staff is that school's to export or correct, not this one's.
      if (kind === 'staff' && (await staffOfOtherSchools(db, ref)))
        throw doorstepError(
          'NOT_FOUND',
          `no staff "${id}" held for ${school.id}: that account does not work at ${school.id} (refused; an admin of their own school can do this with its --school)`,
        );
      throw doorstepError('NOT_FOUND', `no ${kind} "${id}" held for ${school.id}`);
    }
    // Every action by a named admin of the school, audited: an export discloses everything held.
    const actor = await adminActor(db, opts.by, school.id);
    if (action === 'export') {
      const x = await exportSubject(db, subject, now());
      const base = join(
        opts.out ?? '.',
        `doorstep-${school.id}-${kind}-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`,
      );
      await writePrivate(`${base}.json`, `${JSON.stringify(x, null, 2)}\n`);
      await writePrivate(`${base}.html`, subjectHtml(x));
      await appendAudit(db, {
        actor,
        action: 'subject.exported',
        schoolId: school.id,
        entityType: kind === 'pupil' ? 'pupil' : 'user',
        entityId: id,
        // Counts only: what was disclosed, not its values.
        after: { rows: Object.fromEntries(x.sections.map((s) => [s.table, s.rows.length])) },
      });
      for (const s of x.sections) out(`  ${s.table.padEnd(24)} ${s.rows.length}`);
      out(`wrote ${base}.json and ${base}.html (readable by you only; audited as subject.exported)`);
      return 0;
    }
    if (subject.key === '') throw doorstepError('USAGE', `staff "${id}" has no account to correct`);
    if (action === 'erase') {
      if (!opts.yes)
        throw doorstepError('USAGE', `erasing pupil ${id} cannot be undone: add --yes to confirm`);
      const removed = await erasePupilAudited(db, school.id, id, actor);
      for (const [table, n] of Object.entries(removed)) out(`  ${table.padEnd(24)} ${n}`);
      out(`${school.id}: pupil ${id} erased (audited as subject.erased)`);
      return 0;
    }
    let field = opts.field;
    let value = opts.value;
    if (action === 'left') {
      if (!opts.on || !isIsoDate(opts.on))
        throw doorstepError('USAGE', '--on: the date the pupil left, YYYY-MM-DD');
      field = 'leftOn';
      value = opts.on;
    }
    const fields = Object.keys(CORRECTABLE[kind]);
    if (!field || !fields.includes(field))
      throw doorstepError('USAGE', `--field: one of ${fields.join(', ')}`);
    if (value === undefined) throw doorstepError('USAGE', '--value: the corrected value ("" clears it)');
    if (field === 'dob' && value !== '' && !isIsoDate(value))
      throw doorstepError('USAGE', '--value: a date of birth as YYYY-MM-DD');
    if (field === 'leftOn' && value !== '' && !isIsoDate(value))
      throw doorstepError('USAGE', '--value: the date the pupil left, YYYY-MM-DD');
    // A doubtful leaving date confirmed with --yes is recorded as confirmed: the MIS's different date
    // does not replace it on the next sync (reported there for the data manager to resolve).
    let confirmed = false;
    if (field === 'leftOn' && value) {
      const doubts = leavingDateDoubts(value, {
        latestMark: await latestMarkOf(db, school.id, id),
        today: londonDate(now()),
        leaverDataDays: retentionFor(config.retention, school.id).leaverDataDays,
      });
      const asked = `pupil ${id} left on ${value}? ${doubts.join('; ')}`;
      if (doubts.length && !opts.yes)
        throw doorstepError('USAGE', `${asked}. Check the date (a year mistyped?), or add --yes to confirm`);
      // Confirmed: taken, but never silently — the admin sees what they confirmed.
      if (doubts.length) out(`warning: ${asked} (confirmed with --yes)`);
      confirmed = doubts.length > 0;
    }
    const changed = await correctField(db, subject, field, value === '' ? null : value, actor, confirmed);
    out(changed ? `${school.id}: ${kind} ${id}: ${field} corrected (audited)` : `${school.id}: already so`);
    if (confirmed)
      out(
        `${school.id}: pupil ${id}: ${value} kept over a different leaving date from the MIS (each sync reports the two) until recorded again here, or the MIS has the same date; the MIS having them on roll still puts them back on roll`,
      );
    return 0;
  });
}
