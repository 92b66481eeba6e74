import type { Readable } from 'node:stream';
import { CODES, WITHDRAWN, WITHDRAWN_FROM } from '../../../src/domain/attendance/codes.ts';
import { addDays, isIsoDate } from '../../../src/domain/attendance/dates.ts';
import { doorstepError } from '../../../src/errors.ts';
import { BatchBuffer } from '../batches.ts';
import { malformed } from '../errors.ts';
import { parseDate } from '../row-mapping.ts';
import { safeText } from '../safe-text.ts';
import type { MarkRecord, MisBatch, PupilRecord, Where } from '../types.ts';
import { UPN_EXPECTED, UPN_PATTERN } from '../upn.ts';
import { child, childrenNamed, childText, streamXmlElements, type XmlNode } from '../xml-events.ts';

export const SUPPORTED_CTF_VERSIONS = /^(24|25)\.\d+$/;

/** Characters that mean "no mark for this session" in an AttendanceMarks string. */
const NO_MARK = new Set(['-', ' ', '#']);
/**
 * One-character marks that are the first half of a two-character code: undecodable in a
 * one-character slot on a day from 2024-08-19. Before it they were the old single-character codes
 * (J1 and Y1–Y7 did not exist): taken as read, and the import rejects that row (a code from before
 * the 2024 code set), never the file.
 */
const AMBIGUOUS: Record<string, string> = {
  J: 'J could be the withdrawn J or the first character of J1',
  Y: 'Y could be the withdrawn Y or the first character of Y1–Y7',
};

/**
 * Decodes one `AttendSessions` block: two characters per calendar day from `AttendanceStartDate`,
 * the AM mark then the PM mark. A session that is `#`, `-` or a space has no mark (school not in
 * session, or pupil not on roll). Two-character statutory codes (C1, C2, J1, Y1–Y7) cannot fit a
 * one-character slot; a character that could be the start of one is refused, never guessed — on a
 * day from 2024-08-19; before it, J and Y were codes of their own (withdrawn since), passed on as H is.
 */
export function decodeAttendanceMarks(
  pupilMisId: string,
  startDate: string,
  marks: string,
  where: Where,
): MarkRecord[] {
  if (marks.length % 2 !== 0) {
    throw malformed(
      where,
      'AttendanceMarks',
      `expected two characters per day, got an odd length (${marks.length})`,
    );
  }
  const out: MarkRecord[] = [];
  for (let i = 0; i < marks.length; i++) {
    const ch = marks[i]!;
    if (NO_MARK.has(ch)) continue;
    const date = addDays(startDate, Math.floor(i / 2));
    const session = i % 2 === 0 ? 'AM' : 'PM';
    if (AMBIGUOUS[ch] && date >= WITHDRAWN_FROM) {
      throw malformed(
        where,
        'AttendanceMarks',
        `cannot decode "${ch}" for ${date} ${session} unambiguously: ${AMBIGUOUS[ch]}`,
      );
    }
    if (!CODES.has(ch) && !WITHDRAWN.has(ch)) {
      throw malformed(
        where,
        'AttendanceMarks',
        `unknown mark "${ch}" for ${date} ${session} (position ${i + 1})`,
      );
    }
    out.push({ pupilMisId, date, session, mark: ch, minutesLate: null, where });
  }
  return out;
}

/**
 * The one `name` element of `node`. Twice (two UPNs or dates of birth in a pupil, two Attendance
 * blocks in a pupil, two AttendSessions blocks or LEA / Estab in a YearData, two start dates or mark
 * strings in an AttendSessions block): which the school meant cannot be told, and the first would
 * silently win — the pupil under one UPN, the marks on one date, a second block's marks dropped,
 * another school's sessions taken as this school's — so the file is refused at the second, as the
 * SIMS reader refuses a field given twice. (A pupil's years are several YearData, one AttendSessions
 * each: read one by one.)
 */
function only(node: XmlNode, name: string, where: Where): XmlNode | undefined {
  const found = childrenNamed(node, name);
  if (found.length > 1)
    throw malformed(
      { ...where, line: found[1]!.line },
      name,
      'the field appears twice in this record: expected it once',
    );
  return found[0];
}

/** `only`'s text, trimmed; null when absent or empty (as `childText`). */
function onlyText(node: XmlNode, name: string, where: Where): string | null {
  return only(node, name, where)?.text.trim() || null;
}

/** A school as a CTF's header names it (Header/SourceSchool or Header/DestSchool). */
type HeaderSchool = { lea?: string; estab?: string; urn?: string; name?: string };

/**
 * Whether two header schools are one: every identifier both give agrees, and they share at least
 * one (URN, or LEA and Estab). Two that cannot be compared are not taken to be one.
 */
function sameSchool(a: HeaderSchool, b: HeaderSchool): boolean {
  let compared = false;
  if (a.urn && b.urn) {
    if (a.urn !== b.urn) return false;
    compared = true;
  }
  if (a.lea && a.estab && b.lea && b.estab) {
    if (a.lea !== b.lea || a.estab !== b.estab) return false;
    compared = true;
  }
  return compared;
}

/** A header school as a rejection names it: its name (when given), LEA, Estab and URN — never more. */
function named(school: HeaderSchool): string {
  const ids = [
    school.lea ? `LEA ${safeText(school.lea.slice(0, 10))}` : '',
    school.estab ? `Estab ${safeText(school.estab.slice(0, 10))}` : '',
    school.urn ? `URN ${safeText(school.urn.slice(0, 20))}` : '',
  ].filter(Boolean);
  const name = school.name ? safeText(school.name.slice(0, 100)) : '';
  if (!ids.length) return name || 'the school that made the file';
  return name ? `${name} (${ids.join(' ')})` : `the school ${ids.join(' ')}`;
}

/**
 * Whose attendance a CTF carries, decided from its header before its first pupil:
 * - `own`: the file is this school's (its SourceSchool is this school, by URN where the school gives
 *   one; else a file not made for another school), so its sessions are this school's marks;
 * - `transfer`: a file made by one school for another (its DestSchool is not its SourceSchool), read
 *   where the school gives no URN to tell which end it is: its sessions are the source school's,
 *   recorded before the pupil joined, so none is taken — only the pupil's details.
 */
type Whose = { own: true; source: HeaderSchool } | { own: false; source: HeaderSchool; dest: HeaderSchool };

/** How many sessions a marks string holds a mark for (`NO_MARK` characters are none). */
function sessionsIn(marks: string): number {
  let n = 0;
  for (const ch of marks) if (!NO_MARK.has(ch)) n++;
  return n;
}

const sessionsWord = (n: number) => `${n} session${n === 1 ? '' : 's'}`;

function pupilFrom(
  node: XmlNode,
  unit: string,
  n: number,
  whose: Whose,
): { pupil: PupilRecord; marks: MarkRecord[] } {
  const { source } = whose;
  const where: Where = { unit, line: node.line, record: n };
  const upn = onlyText(node, 'UPN', where);
  // The UPN is the pupil's id in a CTF: without one that is a UPN, the pupil cannot be told.
  if (!upn || !UPN_PATTERN.test(upn)) throw malformed(where, 'UPN', `expected ${UPN_EXPECTED}`);
  const dobNode = only(node, 'DOB', where);
  const dob = dobNode?.text.trim() || null;
  // A CTF carries no address (it is kept as it was), and an element it leaves out keeps its field too.
  const given = (name: string) => (child(node, name) ? { value: childText(node, name) } : undefined);
  const pupil: PupilRecord = {
    misId: upn,
    upn,
    ...(given('Forename') ? { forename: given('Forename')!.value } : {}),
    ...(given('Surname') ? { surname: given('Surname')!.value } : {}),
    ...(given('PreferredForename') ? { preferredName: given('PreferredForename')!.value } : {}),
    ...(dobNode ? { dob: dob ? parseDate(dob, where, 'DOB') : null } : {}),
    ...(given('NCyearActual') ? { yearGroup: given('NCyearActual')!.value } : {}),
    where,
  };
  const marks: MarkRecord[] = [];
  // One Attendance block a pupil, one AttendSessions block a YearData (DfE CTF specification): a
  // second is refused at its line, never its marks dropped (read with the first only, they were).
  const attendance = only(node, 'Attendance', where);
  for (const year of attendance ? childrenNamed(attendance, 'YearData') : []) {
    const sessions = only(year, 'AttendSessions', { ...where, line: year.line });
    if (!sessions) continue;
    const yLine = { ...where, line: year.line };
    const lea = onlyText(year, 'LEA', yLine) ?? undefined;
    const estab = onlyText(year, 'Estab', yLine) ?? undefined;
    const leftOut = (field: string, expected: string) => {
      const raw = only(sessions, 'AttendanceMarks', { ...where, line: sessions.line })?.text ?? '';
      const count = sessionsIn(unwrapMarks(raw));
      if (count === 0) return;
      pupil.unusable ??= [];
      pupil.unusable.push({
        field: `Attendance/YearData (line ${year.line}, ${sessionsWord(count)}${field})`,
        expected,
      });
    };
    // A transfer file made for another school (read where the school gives no URN): its sessions,
    // whichever school a YearData names or none, were recorded before the pupil joined this school.
    // The pupil's details are taken; their absences would count in this school's visit triggers.
    if (!whose.own) {
      // Where they were recorded: the school the YearData names, else (none, or the source) the source.
      const elsewhere = (lea && lea !== source.lea) || (estab && estab !== source.estab);
      const at = elsewhere ? named({ ...(lea ? { lea } : {}), ...(estab ? { estab } : {}) }) : named(source);
      leftOut(
        '',
        `this school's own sessions — these were recorded at ${at} before the pupil joined: the file is a transfer ${named(source)} made for ${named(whose.dest)}, so the pupil's details are taken and their sessions left out (if the file is this school's own export, set the school's urn to have its sessions taken)`,
      );
      continue;
    }
    // A pupil who joined from another school carries that school's sessions too (the YearData names
    // its LEA and Estab): its absences are not this school's, so they are left out and said so. A
    // YearData naming a school the file's header gives no LEA and Estab to compare with cannot be
    // told to be this school's: left out too.
    if (lea && estab && (!source.lea || !source.estab || lea !== source.lea || estab !== source.estab)) {
      leftOut(
        `, LEA ${safeText(lea.slice(0, 10))} Estab ${safeText(estab.slice(0, 10))}`,
        source.lea && source.estab
          ? `the sessions of the school that made the file (LEA ${safeText(source.lea.slice(0, 10))} Estab ${safeText(source.estab.slice(0, 10))}); another school's sessions are not this school's marks`
          : "the sessions of the school that made the file, whose LEA and Estab the file's Header/SourceSchool does not give; sessions that cannot be told to be this school's are not taken as its marks",
      );
      continue;
    }
    const yWhere = { ...where, line: sessions.line };
    const start = onlyText(sessions, 'AttendanceStartDate', yWhere);
    if (!start || !isIsoDate(start))
      throw malformed(yWhere, 'AttendanceStartDate', 'expected a date as YYYY-MM-DD');
    const raw = only(sessions, 'AttendanceMarks', yWhere)?.text ?? '';
    const marksText = unwrapMarks(raw);
    marks.push(...decodeAttendanceMarks(upn, start, marksText, yWhere));
  }
  return { pupil, marks };
}

/**
 * A marks string wrapped over lines: each line break goes, with the indentation the wrapped lines
 * share after it — a space is a session without a mark, so indentation kept would move every later
 * mark to another day — while spaces beyond it (or on lines where one line is not indented at all)
 * are sessions, kept. The closing line (only indentation before the end tag) holds no marks.
 */
function unwrapMarks(raw: string): string {
  const lines = raw.replace(/\t/g, '').split(/\r\n|\r|\n/);
  if (lines.length === 1) return raw.replace(/\t/g, '');
  const wrapped = lines.slice(1);
  // The end tag on a line of its own: that line is layout.
  if (wrapped.at(-1)!.trim() === '') wrapped.pop();
  // The indentation every wrapped line has is layout; spaces beyond it are sessions. (A single wrapped
  // line that starts with spaces cannot be told from an indented one: read as indented, the common case.)
  const written = wrapped.filter((l) => l.trim() !== '');
  const indent = written.length ? Math.min(...written.map((l) => l.length - l.trimStart().length)) : 0;
  return lines[0]! + wrapped.map((l) => l.slice(indent)).join('');
}

/** Where a CTF names the school it was made by (DfE CTF specification: Header/SourceSchool). */
const SOURCE_URN = 'CTfile/Header/SourceSchool/URN';
/** The rest of the header's schools read: the source's LEA, Estab and name, the destination's ids. */
const HEADER_SCHOOLS: Record<string, { school: 'source' | 'dest'; field: keyof HeaderSchool }> = {
  'CTfile/Header/SourceSchool/LEA': { school: 'source', field: 'lea' },
  'CTfile/Header/SourceSchool/Estab': { school: 'source', field: 'estab' },
  'CTfile/Header/SourceSchool/SchoolName': { school: 'source', field: 'name' },
  'CTfile/Header/DestSchool/LEA': { school: 'dest', field: 'lea' },
  'CTfile/Header/DestSchool/Estab': { school: 'dest', field: 'estab' },
  'CTfile/Header/DestSchool/URN': { school: 'dest', field: 'urn' },
};

/**
 * The elements of a `Pupil` this reader reads the text of (and only these are kept: a pupil's other
 * elements, however many or long, are read past).
 */
const PUPIL_FIELDS = [
  'UPN',
  'DOB',
  'Forename',
  'Surname',
  'PreferredForename',
  'NCyearActual',
  'Attendance/YearData/LEA',
  'Attendance/YearData/Estab',
  'Attendance/YearData/AttendSessions/AttendanceStartDate',
  'Attendance/YearData/AttendSessions/AttendanceMarks',
] as const;

/** A SIMS XML document's root, dropped where CTFs are read: named, with where it belongs. */
const SIMS_ROOT =
  "this is a SIMS XML file: import it with --format sims-xml (or drop it where the school's mis.kind is sims-xml)";

/**
 * Streams a DfE Common Transfer File (CTF 24 or 25): pupils and their attendance mark strings.
 * CTF identifies pupils by UPN only, so pupils and marks carry the UPN as their id and are matched
 * to the school's pupils by UPN (see the import pipeline).
 */
export async function* readCtf(
  input: Readable,
  options: {
    unit: string;
    onBytes?: (n: number) => void;
    /** The school's `mis.encoding`: how a file with no byte-order mark or declaration is decoded. */
    encoding?: string;
    /**
     * The importing school's URN: a file from another school (Header/SourceSchool/URN) is refused,
     * and the school's own gives its sessions whatever its destination. Without it, a file made for
     * another school (Header/DestSchool) is a transfer: its pupils' details only (`Whose`).
     */
    urn?: string;
  },
): AsyncGenerator<MisBatch> {
  const { unit } = options;
  let version: string | undefined;
  const out = new BatchBuffer();
  let n = 0;
  let sourceUrn: string | undefined;
  const source: HeaderSchool = {};
  const dest: HeaderSchool = {};
  /** Whose the file's attendance is: decided at its first pupil, the header read by then. */
  let whose: Whose | undefined;
  for await (const item of streamXmlElements(input, unit, {
    root: 'CTfile',
    path: 'CTfile/CTFpupilData/Pupil',
    fields: PUPIL_FIELDS,
    keep: ['CTfile/Header/CTFversion', SOURCE_URN, ...Object.keys(HEADER_SCHOOLS)],
    otherRoots: { SuperStarReport: SIMS_ROOT, SessionAttendances: SIMS_ROOT },
    ...(options.onBytes ? { onBytes: options.onBytes } : {}),
    ...(options.encoding ? { encoding: options.encoding } : {}),
  })) {
    if ('header' in item && item.header === SOURCE_URN) {
      // Its pupils and their marks are the source school's: imported into another school they would
      // be its pupils, and that school's absences would raise this school's visits.
      sourceUrn = item.text?.trim() || undefined;
      if (sourceUrn) source.urn = sourceUrn;
      if (options.urn && item.text && item.text !== options.urn)
        throw doorstepError(
          'IMPORT_REFUSED',
          `${unit}: this CTF comes from the school with URN ${safeText(item.text.slice(0, 20))} (Header/SourceSchool/URN), not this school (URN ${options.urn}): another school's file is never imported here — check the folder it was dropped in`,
        );
      continue;
    }
    if ('header' in item && HEADER_SCHOOLS[item.header]) {
      const { school, field } = HEADER_SCHOOLS[item.header]!;
      const value = item.text?.trim() || undefined;
      const into = school === 'source' ? source : dest;
      if (value) into[field] = value;
      else delete into[field];
      continue;
    }
    if ('header' in item) {
      version = item.text;
      if (!SUPPORTED_CTF_VERSIONS.test(version)) {
        throw malformed({ unit }, 'Header/CTFversion', `expected CTF version 24.x or 25.x, got "${version}"`);
      }
      continue;
    }
    // A school that gives its URN takes only files that say whose they are: one whose header names
    // no source school (an empty or missing URN) could be any school's pupils.
    if (options.urn && !sourceUrn)
      throw doorstepError(
        'IMPORT_REFUSED',
        `${unit}: this CTF names no source school (Header/SourceSchool/URN is empty or missing), so it cannot be told to be this school's (URN ${options.urn}): export it again from the school's MIS`,
      );
    if (!version)
      throw malformed(
        { unit, line: item.node.line },
        'Header/CTFversion',
        'expected the header before the pupils',
      );
    // The school's own file (its URN, checked above), or where the school gives none, a file not made
    // for another school: one whose DestSchool is a school other than its SourceSchool is a transfer,
    // and which end of it this school is cannot be told — its sessions are the source school's.
    whose ??=
      options.urn || !(dest.lea || dest.estab || dest.urn) || sameSchool(source, dest)
        ? { own: true, source }
        : { own: false, source, dest };
    const r = pupilFrom(item.node, unit, ++n, whose);
    out.pupils.push(r.pupil);
    out.marks.push(...r.marks);
    yield* out.drain();
  }
  if (!version) throw malformed({ unit }, 'Header/CTFversion', 'expected a CTF header with its version');
  yield* out.drain(true);
}
