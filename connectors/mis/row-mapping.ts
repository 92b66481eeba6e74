import { isIsoDate, londonDate } from '../../src/domain/attendance/dates.ts';
import { readDestination } from './destination-words.ts';
import { malformed } from './errors.ts';
import type { Address, ContactRecord, MarkRecord, PupilFlags, PupilRecord, Where } from './types.ts';
import { upnOf } from './upn.ts';

/**
 * Export files from a data manager's own report (SIMS Report Designer XML, Arbor/SIMS CSV) name
 * their columns freely, so each school's config maps Doorstep's fields to column captions.
 * These are the defaults (SIMS-style captions). Matching ignores case and spacing.
 */
export const DEFAULT_PUPIL_COLUMNS = {
  misId: 'ID',
  upn: 'UPN',
  forename: 'Legal Forename',
  surname: 'Legal Surname',
  preferredName: 'Preferred Forename',
  dob: 'DOB',
  yearGroup: 'Year',
  addressLine1: 'Address Line 1',
  addressLine2: 'Address Line 2',
  town: 'Town',
  postcode: 'Postcode',
  cpPlan: 'CP Plan',
  cin: 'CIN',
  lac: 'In Care',
  senEhcp: 'EHCP',
  youngCarer: 'Young Carer',
  welfareConcern: 'Welfare Concern',
  contact1Name: 'Priority 1 Contact',
  contact1Relationship: 'Priority 1 Relationship',
  contact1Phone: 'Priority 1 Phone',
  contact1Email: 'Priority 1 Email',
  contact2Name: 'Priority 2 Contact',
  contact2Relationship: 'Priority 2 Relationship',
  contact2Phone: 'Priority 2 Phone',
  contact2Email: 'Priority 2 Email',
  /** Off roll: a pupil with a leaving date is marked as a leaver (and the destination kept). */
  leavingDate: 'Date of Leaving',
  destination: 'Destination',
} as const;

export const DEFAULT_MARK_COLUMNS = {
  pupilMisId: 'PersonID',
  date: 'AttendanceDate',
  session: 'SessionName',
  mark: 'AttendanceMark',
  minutesLate: 'MinsLate',
  /** Wide layout: one row per pupil and day, with the AM and PM marks in their own columns. */
  am: 'AM',
  pm: 'PM',
} as const;

export type PupilColumns = { -readonly [K in keyof typeof DEFAULT_PUPIL_COLUMNS]: string };
export type MarkColumns = { -readonly [K in keyof typeof DEFAULT_MARK_COLUMNS]: string };

const captionCache = new Map<string, string>();

/** Lower-cased, without spaces, `_`, `-` and `.`; cached, as the same few captions repeat per row. */
export function normaliseCaption(caption: string): string {
  let n = captionCache.get(caption);
  if (n === undefined) {
    n = caption.toLowerCase().replace(/[\s_\-.]+/g, '');
    if (captionCache.size < 10_000) captionCache.set(caption, n);
  }
  return n;
}

/** A record's values by normalised caption, as a reader holds them. */
export interface FieldLookup {
  get(caption: string): string | undefined;
  has(caption: string): boolean;
}

/**
 * One record's fields at a time, kept in the same places record after record: a file repeats the
 * same captions in every record, so a new record allocates nothing (`clear` starts the next one).
 * Bounded: past `MAX_CAPTIONS` distinct captions (no real export has them) it starts afresh.
 */
export class RecordFields implements FieldLookup {
  private static readonly MAX_CAPTIONS = 10_000;
  private index = new Map<string, number>();
  private values: string[] = [];
  private stamps: number[] = [];
  private record = 0;

  clear(): void {
    this.record++;
    if (this.index.size > RecordFields.MAX_CAPTIONS) {
      this.index = new Map();
      this.values = [];
      this.stamps = [];
    }
  }

  set(caption: string, text: string): void {
    let i = this.index.get(caption);
    if (i === undefined) {
      i = this.index.size;
      this.index.set(caption, i);
    }
    this.values[i] = text;
    this.stamps[i] = this.record;
  }

  get(caption: string): string | undefined {
    const i = this.index.get(caption);
    return i !== undefined && this.stamps[i] === this.record ? this.values[i] : undefined;
  }

  has(caption: string): boolean {
    return this.get(caption) !== undefined;
  }
}

/** A row as caption → text, looked up through a column map. */
export class Row {
  private readonly values: FieldLookup;
  readonly where: Where;

  /** `normalised`: `entries` holds captions a reader has already normalised, taken as it is. */
  constructor(
    entries: Iterable<[string, string]> | FieldLookup,
    where: Where,
    captions: 'raw' | 'normalised' = 'raw',
  ) {
    if (captions === 'normalised' && 'get' in entries) this.values = entries;
    else if (Symbol.iterator in entries) {
      const values = new Map<string, string>();
      for (const [k, v] of entries) values.set(normaliseCaption(k), v);
      this.values = values;
    } else throw new TypeError('Row: raw captions come as entries');
    this.where = where;
  }

  has(caption: string): boolean {
    return this.values.has(normaliseCaption(caption));
  }

  /** Trimmed text, or null when absent or empty. */
  get(caption: string): string | null {
    return this.getKey(normaliseCaption(caption));
  }

  require(caption: string, what: string): string {
    return this.requireKey(normaliseCaption(caption), caption, what);
  }

  /** `get` by a caption already normalised (`keysOf`). */
  getKey(key: string): string | null {
    const v = this.values.get(key);
    if (v === undefined) return null;
    const t = v.trim();
    return t === '' ? null : t;
  }

  hasKey(key: string): boolean {
    return this.values.has(key);
  }

  /** `require` by a caption already normalised; `caption` names it in the error. */
  requireKey(key: string, caption: string, what: string): string {
    const v = this.getKey(key);
    if (v === null) throw malformed(this.where, caption, `expected ${what}, got nothing`);
    return v;
  }
}

const TRUE = new Set(['y', 'yes', 'true', '1', 't']);
const FALSE = new Set(['n', 'no', 'false', '0', 'f']);

/**
 * A flag column (CP plan, in care, EHCP…): Yes/No, or — present and empty, how most reports show
 * "no" — false, clearing the flag (a CP plan that ended in the MIS). Absent: undefined (not carried,
 * the pupil keeps what Doorstep knew).
 */
export function parseFlag(row: Row, caption: string): boolean | undefined {
  const v = row.get(caption);
  if (v === null) return row.has(caption) ? false : undefined;
  const k = v.toLowerCase();
  if (TRUE.has(k)) return true;
  if (FALSE.has(k)) return false;
  throw malformed(row.where, caption, 'expected Yes/No, Y/N, True/False or 1/0');
}

const dateCache = new Map<string, string>();

/**
 * ISO `YYYY-MM-DD` (optionally with a time part) or UK `DD/MM/YYYY`. A time with a UTC offset
 * (`Z`, `+01:00`) is an instant: its day is the school's, in London (`2025-06-01T23:30:00Z` is
 * Monday 2 June there, not Sunday); a time without one is already the school's clock.
 */
export function parseDate(text: string, where: Where, field: string): string {
  const cached = dateCache.get(text);
  if (cached !== undefined) return cached;
  // A time after the date, with or without a leading zero on the hour (Excel writes `9:00`).
  const iso = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/.exec(
    text,
  );
  // A UK date, with the time Excel writes after it when the column is a date and time (`01/09/2025 09:00`).
  const uk = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?: \d{1,2}:\d{2}(?::\d{2})?)?$/.exec(text);
  let date = iso ? iso[1]! : uk ? `${uk[3]}-${uk[2]!.padStart(2, '0')}-${uk[1]!.padStart(2, '0')}` : null;
  if (!date || !isIsoDate(date)) throw malformed(where, field, 'expected a date as YYYY-MM-DD or DD/MM/YYYY');
  const offset = iso?.[3];
  if (offset) {
    const zone = offset === 'Z' ? 'Z' : `${offset.slice(0, 3)}:${offset.slice(-2)}`;
    const time = iso![2]!;
    const instant = new Date(`${date}T${time[1] === ':' ? `0${time}` : time}${zone}`);
    if (Number.isNaN(instant.getTime()))
      throw malformed(
        where,
        field,
        'expected a date as YYYY-MM-DD or DD/MM/YYYY (a time of day as HH:MM:SS)',
      );
    date = londonDate(instant);
  }
  // A school year has a few hundred distinct dates; remembering them saves most of the parsing.
  if (dateCache.size < 50_000) dateCache.set(text, date);
  return date;
}

export function parseSession(text: string, where: Where, field: string): 'AM' | 'PM' {
  const s = text.trim().toUpperCase();
  if (s === 'AM' || s === 'PM') return s;
  throw malformed(where, field, 'expected AM or PM');
}

export function parseMinutes(text: string | null, where: Where, field: string): number | null {
  if (text === null) return null;
  if (!/^\d{1,4}$/.test(text)) throw malformed(where, field, 'expected whole minutes');
  return Number(text);
}

/**
 * The pupil's fields the row carries: a column the export does not have is left out of the record
 * (the pupil keeps what Doorstep knew), and one it has but left empty is null (cleared). A
 * names-and-flags export must not wipe the addresses, dates of birth and UPNs a fuller one gave.
 */
function carried(row: Row, cols: PupilColumns) {
  const out: Partial<
    Pick<PupilRecord, 'upn' | 'unusable' | 'forename' | 'surname' | 'preferredName' | 'yearGroup'>
  > & {
    dob?: string | null;
    address?: Address | null;
  } = {};
  for (const key of ['forename', 'surname', 'preferredName', 'yearGroup'] as const)
    if (row.has(cols[key])) out[key] = row.get(cols[key]);
  if (row.has(cols.upn)) Object.assign(out, upnOf(row.get(cols.upn), cols.upn));
  if (row.has(cols.dob)) {
    const dob = row.get(cols.dob);
    out.dob = dob === null ? null : parseDate(dob, row.where, cols.dob);
  }
  // The address's parts likewise: a file with a postcode column only updates the postcode.
  const parts = {
    line1: cols.addressLine1,
    line2: cols.addressLine2,
    town: cols.town,
    postcode: cols.postcode,
  };
  const address: Address = {};
  for (const [part, col] of Object.entries(parts) as [keyof Address, string][])
    if (row.has(col)) address[part] = row.get(col);
  if (Object.keys(address).length > 0) out.address = address;
  return out;
}

/**
 * A leaving's destination as the row gives it (`readDestination`): a named one, one said to be
 * unknown, or none given — an empty cell, or one that says nothing of where the pupil went ("N/A",
 * "TBC", "-").
 */
function leavingOf(row: Row, cols: PupilColumns, on: string): NonNullable<PupilRecord['leaving']> {
  const destination = row.get(cols.destination);
  if (destination === null) return { on, destination: null };
  switch (readDestination(destination)) {
    case 'unknown':
      return { on, destination: null, noDestination: 'unknown' };
    case 'none':
      return { on, destination: null };
    case 'named':
      return { on, destination };
  }
}

export function rowToPupil(row: Row, cols: PupilColumns): PupilRecord {
  const misId = row.require(cols.misId, 'the pupil MIS id');
  const flags: PupilFlags = {};
  for (const key of ['cpPlan', 'cin', 'lac', 'senEhcp', 'youngCarer', 'welfareConcern'] as const) {
    const v = parseFlag(row, cols[key]);
    if (v !== undefined) flags[key] = v;
  }
  const contacts: ContactRecord[] = [];
  for (const n of [1, 2] as const) {
    const name = row.get(cols[`contact${n}Name`]);
    const phone = row.get(cols[`contact${n}Phone`]);
    const email = row.get(cols[`contact${n}Email`]);
    if (name || phone || email) {
      contacts.push({
        priority: n,
        name,
        relationship: row.get(cols[`contact${n}Relationship`]),
        phone,
        email,
      });
    }
  }
  const hasContactColumns = row.has(cols.contact1Name) || row.has(cols.contact1Phone);
  const leftOn = row.get(cols.leavingDate);
  return {
    misId,
    ...carried(row, cols),
    flags,
    ...(hasContactColumns ? { contacts } : {}),
    // The column there and empty: the export says the pupil is on roll.
    ...(leftOn === null
      ? row.has(cols.leavingDate)
        ? { onRoll: true as const }
        : {}
      : { leaving: leavingOf(row, cols, parseDate(leftOn, row.where, cols.leavingDate)) }),
    where: row.where,
  };
}

const columnKeys = new WeakMap<MarkColumns, MarkColumns>();

/** A column map's captions normalised, once per map (a file maps hundreds of thousands of rows). */
function keysOf(cols: MarkColumns): MarkColumns {
  let keys = columnKeys.get(cols);
  if (keys === undefined) {
    keys = Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, normaliseCaption(v)])) as MarkColumns;
    columnKeys.set(cols, keys);
  }
  return keys;
}

/** One mark per row (session column), or two (AM and PM columns). */
export function rowToMarks(row: Row, cols: MarkColumns): MarkRecord[] {
  const k = keysOf(cols);
  const pupilMisId = row.requireKey(k.pupilMisId, cols.pupilMisId, 'the pupil MIS id');
  const date = parseDate(row.requireKey(k.date, cols.date, 'a date'), row.where, cols.date);
  const minutesLate = parseMinutes(row.getKey(k.minutesLate), row.where, cols.minutesLate);
  if (row.hasKey(k.session) || row.hasKey(k.mark)) {
    const session = parseSession(
      row.requireKey(k.session, cols.session, 'AM or PM'),
      row.where,
      cols.session,
    );
    const mark = row.requireKey(k.mark, cols.mark, 'an attendance mark');
    return [{ pupilMisId, date, session, mark, minutesLate, where: row.where }];
  }
  const out: MarkRecord[] = [];
  for (const session of ['AM', 'PM'] as const) {
    const mark = row.getKey(session === 'AM' ? k.am : k.pm);
    if (mark !== null) out.push({ pupilMisId, date, session, mark, minutesLate: null, where: row.where });
  }
  return out;
}

/** Which kind of file a header row describes; an error names the columns that are missing. */
export function detectKind(
  has: (caption: string) => boolean,
  pupilCols: PupilColumns,
  markCols: MarkColumns,
  where: Where,
): 'pupils' | 'marks' {
  const long = [markCols.pupilMisId, markCols.date, markCols.session, markCols.mark];
  const wide = [markCols.pupilMisId, markCols.date, markCols.am, markCols.pm];
  if (long.every(has) || wide.every(has)) return 'marks';
  // A file with columns only a marks file has, but not all a marks file needs, is a marks file
  // captioned otherwise — never a pupils file (its marks would be taken as pupils, silently).
  const pupilCaptions = new Set(Object.values(pupilCols).map(normaliseCaption));
  const marksOnly = [markCols.date, markCols.session, markCols.mark, markCols.am, markCols.pm].filter(
    (c) => has(c) && !pupilCaptions.has(normaliseCaption(c)),
  );
  if (marksOnly.length > 0) {
    const missing = [long, wide]
      .map((cols) => cols.filter((c) => !has(c)))
      .sort((a, b) => a.length - b.length)[0]!;
    throw malformed(
      where,
      undefined,
      `this file has mark columns (${marksOnly.map((c) => `"${c}"`).join(', ')}) but no ${missing
        .map((c) => `"${c}"`)
        .join(
          ', ',
        )}: a marks file needs ${long.map((c) => `"${c}"`).join(', ')} (or "${markCols.am}"/"${markCols.pm}" per day); check the school's column map`,
    );
  }
  if (has(pupilCols.misId)) return 'pupils';
  throw malformed(
    where,
    undefined,
    `cannot tell what this file holds: expected a pupil column "${pupilCols.misId}", or mark columns ${long
      .map((c) => `"${c}"`)
      .join(', ')} (or "${markCols.am}"/"${markCols.pm}" per day); check the school's column map`,
  );
}
