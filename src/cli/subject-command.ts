import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { holdsRole } from '../auth/scope.ts';
import { schoolOf } from '../config/school-of.ts';
import { retentionFor } from '../config/sections/retention.ts';
import { isIsoDate, londonDate } from '../domain/attendance/dates.ts';
import { leavingDateDoubts } from '../domain/attendance/leaving-date-doubts.ts';
import { doorstepError } from '../errors.ts';
import { type ExportSettings, type KeptDropFile, keptDropFilesHolding } from '../import/drop-retention.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db } from '../store/db.ts';
import {
  CORRECTABLE,
  correctField,
  exportSubject,
  resolveSubject,
  staffOfOtherSchools,
} from '../store/subject.ts';
import { erasedReference, erasePupilAudited, erasureAudited, pupilIds } from '../store/subject-erase.ts';
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
  /** erase: what becomes of the drop folder's kept MIS files that hold the pupil (`keep`, the default, or `delete`). */
  dropFiles?: string;
  /**
   * erase, of a pupil erased already, with `--drop-files delete`: the erasure's reference
   * (`erased:…`, printed by the erase; its `subject.erased` audit entry's), which the audit must hold.
   */
  erasure?: string;
}

/** Where a school's MIS exports are dropped (a SIMS XML, CTF or CSV school), as the purge finds it. */
const dropFolderOf = (school: { mis: unknown }): string | undefined =>
  (school.mis as { dropFolder?: string }).dropFolder;

/** What the school's exports hold where: its encoding and column map (a drop-folder school's). */
const exportSettingsOf = (school: { mis: unknown }): ExportSettings => {
  const mis = school.mis as ExportSettings;
  return {
    ...(mis.encoding ? { encoding: mis.encoding } : {}),
    ...(mis.columns ? { columns: mis.columns } : {}),
  };
};

/** The drop folder's kept files named, one a line, as `processed/YYYY-MM-DD/name`. */
const named = (files: KeptDropFile[]) => files.map((f) => `    ${f.where}/${f.name}`);

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
  if (opts.dropFiles !== undefined && (action !== 'erase' || !['keep', 'delete'].includes(opts.dropFiles)))
    throw doorstepError('USAGE', '--drop-files: keep or delete, with erase');
  if (opts.erasure !== undefined && opts.dropFiles !== 'delete')
    throw doorstepError('USAGE', '--erasure: with erase --drop-files delete, for a pupil erased already');
  const d = deps ?? localDeps(opts.config);
  const { config } = d;
  const school = schoolOf(config, opts.school, '--school');
  return d.withStore(async (db) => {
    const id = (opts.pupil ?? opts.staff)!;
    const ref = { kind, schoolId: school.id, id };
    const subject = await resolveSubject(db, ref);
    if (!subject && action === 'erase' && kind === 'pupil' && opts.dropFiles !== undefined) {
      // Erased already: the drop folder's kept files are still looked for — by the MIS id alone, the
      // UPN having gone with the erasure — and deleted only for an erasure the audit holds.
      const actor = await adminActor(db, opts.by, school.id);
      const root = dropFolderOf(school);
      if (!root)
        throw doorstepError('USAGE', `--drop-files: ${school.id} has no drop folder (its MIS is not one)`);
      const remove = opts.dropFiles === 'delete';
      if (remove) {
        // The audit names an erased pupil by the erasure's reference only, never their id (a CTF
        // school's is the UPN): that the id typed is one erased is known only from the reference the
        // erasure printed. Without it a mistyped id (`12`) would delete files about living pupils.
        if (!opts.erasure)
          throw doorstepError(
            'USAGE',
            `pupil ${id} is not held at ${school.id}, and the audit names no erased pupil by their id: to delete the kept MIS files of a pupil erased earlier, add --erasure with the reference their erasure printed (erased:…; its subject.erased audit entry's) — refused, nothing deleted`,
          );
        if (!(await erasureAudited(db, school.id, opts.erasure)))
          throw doorstepError(
            'USAGE',
            `--erasure: the audit trail has no erasure ${opts.erasure} at ${school.id} (subject.erased): refused, nothing deleted`,
          );
        if (!opts.yes)
          throw doorstepError('USAGE', 'deleting MIS files cannot be undone: add --yes to confirm');
      }
      out(
        `${school.id}: pupil ${id} is not held (erased already?): the drop folder is searched by their MIS id only`,
      );
      await eraseDropFiles(
        db,
        root,
        [id],
        remove,
        {
          actor,
          reference: opts.erasure ?? erasedReference(),
          school,
          dropFileDays: retentionFor(config.retention, school.id).dropFileDays,
          erasedEarlier: true,
        },
        out,
      );
      return 0;
    }
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
      // The MIS's own files the drop folder keeps that hold the pupil: named (whole exports, with other
      // pupils in them — for the DPO to take the pupil's lines from, never copied whole into the export).
      const root = kind === 'pupil' ? dropFolderOf(school) : undefined;
      const kept = root
        ? await keptDropFilesHolding(root, await pupilIds(db, school.id, id), {
            mis: exportSettingsOf(school),
          })
        : [];
      const dropFiles = kept.filter((f) => f.holds === 'holds');
      const mayHold = kept.filter((f) => f.holds === 'may hold');
      const listed = {
        ...x,
        dropFiles: dropFiles.map((f) => `${f.where}/${f.name}`),
        ...(mayHold.length ? { dropFilesMayHold: mayHold.map((f) => `${f.where}/${f.name}`) } : {}),
      };
      await writePrivate(`${base}.json`, `${JSON.stringify(root ? listed : x, null, 2)}\n`);
      await writePrivate(`${base}.html`, subjectHtml(x));
      await appendAudit(db, {
        actor,
        action: 'subject.exported',
        schoolId: school.id,
        entityType: kind === 'pupil' ? 'pupil' : 'user',
        entityId: id,
        // Counts only: what was disclosed, not its values.
        after: {
          rows: Object.fromEntries(x.sections.map((s) => [s.table, s.rows.length])),
          ...(root ? { dropFiles: dropFiles.length } : {}),
        },
      });
      for (const s of x.sections) out(`  ${s.table.padEnd(24)} ${s.rows.length}`);
      if (dropFiles.length) {
        out(
          `  the drop folder keeps ${dropFiles.length} MIS file(s) holding this pupil (whole exports with other pupils in them: named in dropFiles, not copied):`,
        );
        for (const l of named(dropFiles)) out(l);
      }
      if (mayHold.length) {
        out(
          `  and ${mayHold.length} that may hold them (not readable as the school's exports, the id standing in them: named in dropFilesMayHold, for you to look at):`,
        );
        for (const l of named(mayHold)) out(l);
      }
      out(`wrote ${base}.json and ${base}.html (readable by you only; audited as subject.exported)`);
      return 0;
    }
    if (subject.key === '') throw doorstepError('USAGE', `staff "${id}" has no account to correct`);
    if (action === 'erase') {
      // A pupil held again (the MIS brought them back since an erasure) is erased again only when asked.
      if (opts.erasure !== undefined)
        throw doorstepError(
          'USAGE',
          `--erasure: pupil ${id} is held at ${school.id} (not erased, or brought back by the MIS since): erase them without it`,
        );
      if (!opts.yes)
        throw doorstepError('USAGE', `erasing pupil ${id} cannot be undone: add --yes to confirm`);
      // Their ids as the MIS's files hold them, read before the erasure takes them.
      const ids = await pupilIds(db, school.id, id);
      const reference = erasedReference();
      const removed = await erasePupilAudited(db, school.id, id, actor, now(), reference);
      for (const [table, n] of Object.entries(removed)) out(`  ${table.padEnd(24)} ${n}`);
      out(`${school.id}: pupil ${id} erased (audited as subject.erased, reference ${reference})`);
      const root = dropFolderOf(school);
      if (root)
        await eraseDropFiles(
          db,
          root,
          ids,
          opts.dropFiles === 'delete',
          {
            actor,
            reference,
            school,
            dropFileDays: retentionFor(config.retention, school.id).dropFileDays,
            erasedEarlier: false,
          },
          out,
        );
      out(
        `${school.id}: the next MIS sync brings pupil ${id} back while the MIS still holds them: remove or mark them as left there too`,
      );
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

/**
 * After an erasure: the drop folder's kept MIS files (`processed/YYYY-MM-DD/`, `quarantine/`) that still
 * hold the pupil's MIS id or UPN where the file's format keeps a pupil's id — whole exports with every
 * other pupil in them, kept `dropFileDays` to re-import or to show what the MIS sent. Named; with
 * `remove` (`--drop-files delete`) deleted, audited as `subject.drop-files-deleted` by the erasure's
 * reference (how many, never which pupil). A file that only may hold them (not readable as the
 * school's export, the id standing in its text) is named, never deleted. `erasedEarlier`: the pupil
 * was not held, so the id typed is not known to be theirs: every file only "may hold" them.
 */
async function eraseDropFiles(
  db: Db,
  root: string,
  ids: string[],
  remove: boolean,
  by: {
    actor: string;
    reference: string;
    school: { id: string; mis: unknown };
    dropFileDays: number;
    erasedEarlier: boolean;
  },
  out: (line: string) => void,
): Promise<void> {
  const found = await keptDropFilesHolding(root, ids, { remove, mis: exportSettingsOf(by.school) });
  const school = by.school.id;
  const holding = found.filter((f) => f.holds === 'holds');
  const mayHold = found.filter((f) => f.holds === 'may hold');
  const who = by.erasedEarlier ? `pupil ${ids[0]}` : 'the pupil';
  if (!found.length) {
    out(`${school}: no MIS file kept in the drop folder holds ${who}`);
    return;
  }
  if (remove && holding.length) {
    await appendAudit(db, {
      actor: by.actor,
      action: 'subject.drop-files-deleted',
      schoolId: school,
      entityType: 'pupil',
      entityId: by.reference,
      after: { files: holding.length },
    });
    out(
      `${school}: deleted ${holding.length} MIS file(s) kept in the drop folder that held ${who} (audited):`,
    );
    for (const l of named(holding)) out(l);
  } else if (holding.length) {
    const verb = by.erasedEarlier ? 'may hold' : 'still hold';
    const again = by.erasedEarlier
      ? `doorstep subject erase --school ${school} --pupil ${ids[0]} --drop-files delete --erasure <the reference their erasure printed> --yes`
      : `doorstep subject erase --school ${school} --pupil ${ids[0]} --drop-files delete --erasure ${by.reference} --yes`;
    out(
      `${school}: ${holding.length} MIS file(s) kept in the drop folder ${verb} ${who} (whole exports, with other pupils): kept until the purge removes them, dropFileDays (${by.dropFileDays} days) after they were filed; to delete them now: ${again}`,
    );
    for (const l of named(holding)) out(l);
  }
  if (mayHold.length) {
    out(
      `${school}: ${mayHold.length} MIS file(s) kept in the drop folder may hold ${who} (not readable as the school's exports — a refused file, a refusal's note — with the id standing in them): not deleted; look at them, and delete by hand any that does, or let the purge remove them after dropFileDays (${by.dropFileDays} days):`,
    );
    for (const l of named(mayHold)) out(l);
  }
}
