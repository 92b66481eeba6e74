/**
 * National attendance codes from 19 August 2024 (School Attendance (Pupil Registration) (England)
 * Regulations 2024, reg. 10; DfE "Working together to improve school attendance").
 * Pure data and lookups: no I/O.
 */
export type Category =
  | 'present'
  | 'approved_activity'
  | 'authorised_absence'
  | 'unauthorised_absence'
  | 'not_possible';

export interface CodeInfo {
  code: string;
  category: Category;
  meaning: string;
}

const TABLE: readonly CodeInfo[] = [
  { code: '/', category: 'present', meaning: 'present (AM)' },
  { code: '\\', category: 'present', meaning: 'present (PM)' },
  { code: 'L', category: 'present', meaning: 'late, arrived before the register closed' },
  {
    code: 'K',
    category: 'approved_activity',
    meaning: 'attending provision arranged by the local authority',
  },
  { code: 'V', category: 'approved_activity', meaning: 'attending an educational visit or trip' },
  { code: 'P', category: 'approved_activity', meaning: 'participating in an approved sporting activity' },
  { code: 'W', category: 'approved_activity', meaning: 'attending work experience' },
  { code: 'B', category: 'approved_activity', meaning: 'attending any other approved educational activity' },
  { code: 'C', category: 'authorised_absence', meaning: 'leave of absence for exceptional circumstances' },
  {
    code: 'C1',
    category: 'authorised_absence',
    meaning: 'leave for a regulated performance or employment abroad',
  },
  { code: 'C2', category: 'authorised_absence', meaning: 'leave for a part-time timetable' },
  { code: 'E', category: 'authorised_absence', meaning: 'suspended or excluded, no alternative provision' },
  { code: 'I', category: 'authorised_absence', meaning: 'illness' },
  { code: 'J1', category: 'authorised_absence', meaning: 'leave to attend an interview' },
  { code: 'M', category: 'authorised_absence', meaning: 'medical or dental appointment' },
  { code: 'R', category: 'authorised_absence', meaning: 'religious observance' },
  { code: 'S', category: 'authorised_absence', meaning: 'study leave' },
  { code: 'T', category: 'authorised_absence', meaning: 'mobile child: parent travelling for work' },
  { code: 'G', category: 'unauthorised_absence', meaning: 'holiday not agreed' },
  { code: 'N', category: 'unauthorised_absence', meaning: 'reason not yet established' },
  { code: 'O', category: 'unauthorised_absence', meaning: 'absent in other or unknown circumstances' },
  { code: 'U', category: 'unauthorised_absence', meaning: 'arrived after the register closed' },
  { code: 'D', category: 'not_possible', meaning: 'dual registered, at another school' },
  { code: 'X', category: 'not_possible', meaning: 'non-compulsory school age, not required to attend' },
  { code: 'Q', category: 'not_possible', meaning: 'unable to attend: lack of access arrangements' },
  { code: 'Y1', category: 'not_possible', meaning: 'unable to attend: transport not available' },
  { code: 'Y2', category: 'not_possible', meaning: 'unable to attend: widespread travel disruption' },
  { code: 'Y3', category: 'not_possible', meaning: 'unable to attend: part of the premises closed' },
  {
    code: 'Y4',
    category: 'not_possible',
    meaning: 'unable to attend: whole school site unexpectedly closed',
  },
  { code: 'Y5', category: 'not_possible', meaning: 'unable to attend: criminal justice detention' },
  { code: 'Y6', category: 'not_possible', meaning: 'unable to attend: public health guidance or law' },
  { code: 'Y7', category: 'not_possible', meaning: 'unable to attend: any other unavoidable cause' },
  { code: 'Z', category: 'not_possible', meaning: 'prospective pupil not yet on roll' },
  { code: '#', category: 'not_possible', meaning: 'planned whole-school closure' },
];

export const CODES: ReadonlyMap<string, CodeInfo> = new Map(TABLE.map((c) => [c.code, c]));

/** Codes withdrawn by the 2024 regulations; an error on marks dated from this day. */
export const WITHDRAWN_FROM = '2024-08-19';
export const WITHDRAWN: ReadonlyMap<string, string> = new Map([
  ['H', 'H (agreed holiday) was withdrawn on 2024-08-19; use C for exceptional leave'],
  ['J', 'J (interview) was withdrawn on 2024-08-19; use J1'],
  ['Y', 'Y (unable to attend) was withdrawn on 2024-08-19; use one of Y1–Y7'],
]);

export const ABSENCE_CATEGORIES: ReadonlySet<Category> = new Set([
  'authorised_absence',
  'unauthorised_absence',
]);

/**
 * Attendance as the DfE counts it: a session is attended when present or at an approved educational
 * activity; possible unless attendance was not required or not possible. One rule for the trigger
 * rules, the pupil page and (in SQL) the data page's overview.
 */
export const ATTENDED_CATEGORIES: ReadonlySet<Category> = new Set(['present', 'approved_activity']);
export const NOT_POSSIBLE_CATEGORY: Category = 'not_possible';

/** A school's local → statutory code map (SIMS 8 style multi-character codes, e.g. X01 → B). */
export type LocalCodeMap = Readonly<Record<string, string>>;

export type CodeResolution =
  | { ok: true; code: string; category: Category; localCode: string | null }
  /**
   * `beforeCodeSet`: a code withdrawn in 2024 on a date before 2024-08-19, when it was legal — no
   * mapping problem (the MIS holds what the law asked then), but no code of this table either: the
   * import rejects the row, never the unit, and never guesses its present-day code.
   */
  | { ok: false; reason: string; beforeCodeSet?: true };

/**
 * Resolves a mark as found in an export to its statutory code and category. Withdrawn codes (H, J,
 * Y) are refused on dates from 2024-08-19 — whatever the school's map says of them: one dated then
 * is an error to report, never mapped. Otherwise the local map is consulted first (a school may map
 * a local code onto a statutory one, an old H, J or Y among them for its marks from before
 * 2024-08-19); statutory codes pass through. A withdrawn code dated before 2024-08-19 that the map
 * does not name is said to be from before the 2024 code set (`beforeCodeSet`); anything else unknown
 * is refused — never guessed.
 */
export function resolveCode(
  raw: string,
  date: string,
  localMap: LocalCodeMap = NO_LOCAL_CODES,
): CodeResolution {
  // A code that resolves does so whatever the date: remembered per map (an import asks per mark).
  let known = resolvedCodes.get(localMap);
  const hit = known?.get(raw);
  if (hit) return hit;
  const r = resolveAnew(raw, date, localMap);
  // A withdrawn code the map names resolves only on dates before 2024-08-19: never remembered.
  if (r.ok && !WITHDRAWN.has(r.localCode ?? '')) {
    if (!known) {
      known = new Map();
      resolvedCodes.set(localMap, known);
    }
    if (known.size < 1000) known.set(raw, r);
  }
  return r;
}

const NO_LOCAL_CODES: LocalCodeMap = Object.freeze({});
const resolvedCodes = new WeakMap<LocalCodeMap, Map<string, CodeResolution & { ok: true }>>();

function resolveAnew(raw: string, date: string, localMap: LocalCodeMap): CodeResolution {
  const given = raw.trim();
  if (given === '') return { ok: false, reason: 'empty attendance mark' };
  const withdrawn = WITHDRAWN.get(given);
  // Checked before the map: a school's map entry for H, J or Y serves its history, not a mark dated
  // from the day they were withdrawn.
  if (withdrawn && date >= WITHDRAWN_FROM) return { ok: false, reason: `withdrawn code: ${withdrawn}` };
  const mapped = localMap[given];
  if (mapped !== undefined) {
    const info = CODES.get(mapped);
    if (!info)
      return {
        ok: false,
        reason: `local code "${given}" maps to "${mapped}", which is not a statutory code`,
      };
    return { ok: true, code: info.code, category: info.category, localCode: given };
  }
  const info = CODES.get(given);
  if (info) return { ok: true, code: info.code, category: info.category, localCode: null };
  if (withdrawn) return { ok: false, reason: beforeCodeSetReason(given, date), beforeCodeSet: true };
  return {
    ok: false,
    reason: `unknown attendance code "${given}" (not statutory and not in the school's code map)`,
  };
}

/**
 * Why a withdrawn code dated before 2024-08-19 is not taken. `when`: its date, or its date and
 * session (`2024-07-15 AM`) where the caller knows it — an AM and a PM mark then read apart.
 */
export function beforeCodeSetReason(code: string, when: string): string {
  return `code "${code}" on ${when} is from before the 2024 code set (legal then, withdrawn on ${WITHDRAWN_FROM}); no code of the 2024 table means the same with certainty, so it is not taken`;
}

/** Validates a configured code map: each target must be a statutory code. Returns problems. */
export function codeMapProblems(map: LocalCodeMap): string[] {
  return Object.entries(map)
    .filter(([, to]) => !CODES.has(to))
    .map(([from, to]) => `"${from}" maps to "${to}", which is not a statutory code`);
}
