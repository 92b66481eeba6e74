import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { sha256File } from '../../connectors/mis/drop-folder/folder.ts';
import { FILE_FORMATS, type FileFormat, fileUnit } from '../../connectors/mis/file-unit.ts';
import { enqueueEvaluation } from '../../jobs/sync-attendance.ts';
import type { DoorstepConfig, SchoolConfig } from '../config/schema.ts';
import { schoolOf } from '../config/school-of.ts';
import { retentionFor } from '../config/sections/retention.ts';
import { doorstepError } from '../errors.ts';
import { applyImportUnit, type ImportSummary } from '../import/apply-unit.ts';
import { importContextFor } from '../import/context.ts';
import { type CommandDeps, localDeps } from './command-deps.ts';
import { withProducerIfReachable } from './queue-handover.ts';

export interface ImportOptions {
  config: string;
  school?: string;
  format?: string;
  dryRun?: boolean;
}

/** What the statutory codes for the school not meeting say (attendance.md). */
const CLOSURE_WORDS: Record<string, string> = {
  '#': 'planned whole-school closure',
  Y4: 'whole site unexpectedly closed',
};

export function formatSummary(schoolId: string, s: ImportSummary): string[] {
  const lines = [
    `${schoolId}: ${s.unit} ${s.status === 'dry-run' ? 'checked (dry run: nothing was changed)' : `applied (import ${s.importId})`}`,
    `  pupils: ${s.pupils.inserted} inserted, ${s.pupils.updated} updated, ${s.pupils.unchanged} unchanged`,
    `  marks:  ${s.marks.inserted} inserted, ${s.marks.updated} updated, ${s.marks.unchanged} unchanged (${s.marks.corrected} correction(s) audited)${s.marks.removed ? `, ${s.marks.removed} removed (deleted in the MIS)` : ''}`,
    `  rejected rows: ${s.rejectedRows}`,
  ];
  // One line per cause (most rows first), with its first ids and where it first happened.
  for (const c of s.rejectedByCause) {
    const ids = c.idKind
      ? `, ${c.ids} ${c.ids === 1 ? c.idKind.replace(/s$/, '') : c.idKind}: ${c.first.join(', ')}${c.ids > c.first.length ? ', …' : ''}`
      : '';
    lines.push(`    ${c.cause}: ${c.rows} ${c.rows === 1 ? 'row' : 'rows'}${ids} (first at ${c.firstAt})`);
  }
  const closed = s.calendarProblems;
  if (closed.count > 0) {
    lines.push(
      `  marks on days the calendar says are closed: ${closed.count} (kept; the trigger rules ignore them until the calendar or the MIS is corrected)`,
    );
    for (const p of closed.first.slice(0, 20)) {
      lines.push(
        `    ${p.where}: pupil ${p.pupil} ${p.date} ${p.session} ${p.closed}${p.note ? ` (${p.note})` : ''}`,
      );
    }
    if (closed.count > 20) lines.push(`    … ${closed.count - 20} more (see the data page)`);
  }
  const shut = s.registerClosures;
  if (shut.count > 0) {
    lines.push(
      `  days the register has closed all day that the calendar has as school days: ${shut.count} (the trigger rules already count them as closed; if the school was closed, add them to calendar.closures; if only a few pupils' marks say so, correct those marks in the MIS)`,
    );
    for (const c of shut.first.slice(0, 20))
      lines.push(
        `    ${c.date}: ${c.codes.map((x) => `${x} (${CLOSURE_WORDS[x] ?? 'closed'})`).join(', ')} on ${c.marks} ${c.marks === 1 ? 'mark' : 'marks'} of ${c.pupils} ${c.pupils === 1 ? 'pupil' : 'pupils'}`,
      );
    if (shut.count > 20) lines.push(`    … ${shut.count - 20} more (see the data page)`);
  }
  return lines;
}

function pickSchool(config: DoorstepConfig, id: string | undefined): SchoolConfig {
  const schools = config.schools;
  if (id) return schoolOf(config, id, '--school');
  if (schools.length === 1) return schools[0]!;
  throw doorstepError(
    'USAGE',
    `--school is required: the config has ${schools.length} schools (${schools.map((x) => x.id).join(', ')})`,
  );
}

/**
 * `doorstep import FILE`: one file as one transaction. Prints a summary; exits 5 when the file is
 * refused (nothing changed). The changed pupils are handed to trigger evaluation when Redis answers;
 * otherwise the next scheduled sync hands them over.
 */
export async function importCommand(
  file: string,
  opts: ImportOptions,
  out: (line: string) => void,
  deps: CommandDeps = localDeps(opts.config),
): Promise<number> {
  const { config } = deps;
  const school = pickSchool(config, opts.school);
  // The arguments first (a --format mistyped is said whatever the path), then the path itself.
  const given = opts.format === undefined ? undefined : givenFormat(opts.format);
  // Before anything opens it: a folder (a path ending in / from tab completion), a pipe or a device
  // is refused by name, as the drop folder refuses them — never opened (a pipe would wait for ever).
  const size = await stat(file).then(
    (s) => {
      if (!s.isFile())
        throw doorstepError(
          'USAGE',
          `${file} is not a file (a folder, pipe or device): give the export file itself`,
        );
      return s.size;
    },
    (err) => {
      throw doorstepError(
        'USAGE',
        `cannot read ${file} (${(err as { code?: string }).code ?? 'unreadable'})`,
      );
    },
  );
  const format = given ?? (await formatFor(file, school));
  const progress = deps.progress(size);
  return deps.withStore(async (db) => {
    const ctx = importContextFor(school, new Date(), {
      actor: 'cli:import',
      source: format,
      sha256: await sha256File(file),
      ...(opts.dryRun ? { dryRun: true } : {}),
      writePace: config.imports,
      leaverDataDays: retentionFor(config.retention, school.id).leaverDataDays,
    });
    let summary: ImportSummary;
    try {
      summary = await applyImportUnit(db, fileUnit(file, format, school, progress?.addBytes), {
        ...ctx,
        ...(progress ? { onRecords: progress.addRecords } : {}),
      });
    } finally {
      progress?.done();
    }
    for (const line of formatSummary(school.id, summary)) out(line);
    if (appliedNothing(summary)) {
      out(
        `  nothing ${summary.status === 'dry-run' ? 'would be' : 'was'} applied: every row was rejected (exit code ${NOTHING_APPLIED})`,
      );
      return NOTHING_APPLIED;
    }
    if (summary.importId && summary.changedPupils.length > 0) {
      const importId = summary.importId;
      const line = await withProducerIfReachable(
        config,
        async (producer) =>
          `queued for ${await enqueueEvaluation({ db, producer }, school.id, importId)} pupil(s) whose marks changed`,
        'the next sync hands it over',
      );
      out(`  trigger evaluation: ${line}`);
    }
    return 0;
  });
}

/** The exit code of an import whose every row was rejected (it is recorded, but changes nothing). */
export const NOTHING_APPLIED = 6;

function appliedNothing(s: ImportSummary): boolean {
  const changed = s.pupils.inserted + s.pupils.updated + s.marks.inserted + s.marks.updated + s.marks.removed;
  const kept = s.pupils.unchanged + s.marks.unchanged;
  return s.rejectedRows > 0 && changed === 0 && kept === 0;
}

/** The file's format: `--format`, else the school's MIS kind when it is a file source, else the extension. */
/** The format named by --format, or a usage error naming the ones there are. */
function givenFormat(given: string): FileFormat {
  if (!(FILE_FORMATS as readonly string[]).includes(given))
    throw doorstepError('USAGE', `--format: expected sims-xml, ctf or csv, got "${given}"`);
  return given as FileFormat;
}

/** The file's format when --format does not name it: a CTF by its root element, else the school's or the name's. */
async function formatFor(path: string, school: SchoolConfig | undefined): Promise<FileFormat> {
  // A CTF says so in its root element, whatever the school's drop folder usually takes.
  if (await isCtf(path)) return 'ctf';
  const kind = school?.mis.kind;
  if (kind === 'sims-xml' || kind === 'ctf' || kind === 'csv') return kind;
  if (/\.csv$/i.test(path)) return 'csv';
  if (/\.xml$/i.test(path)) return 'sims-xml';
  throw doorstepError(
    'USAGE',
    `cannot tell the format of ${basename(path)}: give --format sims-xml, ctf or csv`,
  );
}

/**
 * Whether the file's root element is `<CTfile>`: the first 4 KB, past the XML declaration, any
 * comments and processing instructions (a byte order mark allowed). A file that cannot be read is
 * left to the import, which says why.
 */
async function isCtf(path: string): Promise<boolean> {
  let head: string;
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(4096);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      head = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
  const rest = head.replace(/^\uFEFF/, '').replace(/^(\s*(<\?[\s\S]*?\?>|<!--[\s\S]*?-->))*\s*/, '');
  return /^<CTfile[\s>/]/.test(rest);
}
