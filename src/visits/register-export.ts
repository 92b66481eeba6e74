import { stringify } from 'csv-stringify/sync';
import writeXlsxFile from 'write-excel-file/node';
import { londonDate, londonMinutes } from '../domain/attendance/dates.ts';
import type { RegisterLine } from '../store/visit-register.ts';
import { WITHHELD_DETAIL } from './pupil-details-for.ts';

/**
 * The visit register as the school's home-visit spreadsheet (Heath Lane: "log their home visits …
 * through the home visit spreadsheet"): one line per visit with the columns such a sheet has, as
 * CSV (csv-stringify) or XLSX (write-excel-file). Formula-safe: a text cell that a spreadsheet would
 * read as a formula (starting = + - @, a tab or a carriage return) is written with a leading
 * apostrophe (OWASP "CSV injection"), in both formats, so a pupil's name or a typed concern can
 * never run in the office's Excel.
 */
export const REGISTER_COLUMNS = [
  'Visit',
  'Date',
  'Pupil',
  'MIS id',
  'Address',
  'Reason',
  'Risk',
  'Requested by',
  'Authorised by',
  'Staff',
  'Departed',
  'Back',
  'Status',
  'Outcome',
  'Spoke to',
  'Concerns',
  'Follow-up',
] as const;

export function formulaSafe(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

const hhmm = (d: Date) => {
  const m = londonMinutes(d);
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
};
/** A time on the visit's own day as HH:MM; on another day with its date (Europe/London). */
const when = (d: Date | null, day: string) =>
  d ? (londonDate(d) === day ? hhmm(d) : `${londonDate(d)} ${hhmm(d)}`) : '';

function outcomeText(l: RegisterLine): string {
  if (l.status === 'cancelled') return `cancelled${l.cancelReason ? `: ${l.cancelReason}` : ''}`;
  const o = l.outcome;
  if (!o) return l.returnedAt ? 'no outcome recorded yet' : '';
  if (o.childSeen) return 'child seen';
  return o.noOneHome ? 'no one home: child not seen' : 'child not seen';
}

/**
 * Spoke to, Concerns, Follow-up; each says it is withheld where the outcome's details are withheld
 * from the person exporting (`outcomeFor`) — an empty cell would say there were none.
 */
function details(l: RegisterLine): [string, string, string] {
  const o = l.outcome;
  if (o?.detailsWithheld) return [WITHHELD_DETAIL, WITHHELD_DETAIL, WITHHELD_DETAIL];
  return [
    o?.spokeTo ?? '',
    (o?.concerns ?? []).join('; '),
    (o?.followUp ?? []).map((f) => `${f.action} (${f.by}${f.due ? `, by ${f.due}` : ''})`).join('; '),
  ];
}

/** The sheet's rows (header first), every cell text, formula-safe. */
export function registerRows(lines: readonly RegisterLine[]): string[][] {
  return [
    [...REGISTER_COLUMNS],
    ...lines.map((l) =>
      [
        l.id,
        l.plannedFor,
        l.pupil,
        l.pupilMisId,
        l.address,
        l.reason,
        l.risk,
        l.requestedBy,
        l.authorisedBy ?? '',
        [l.lead, l.partner].filter(Boolean).join(' and '),
        when(l.departedAt, l.plannedFor),
        when(l.returnedAt, l.plannedFor),
        l.status,
        outcomeText(l),
        ...details(l),
      ].map(formulaSafe),
    ),
  ];
}

export function registerCsv(lines: readonly RegisterLine[]): string {
  // A byte-order mark so Excel reads the file as UTF-8 (names with accents stay whole).
  return `\uFEFF${stringify(registerRows(lines), { eof: true, record_delimiter: 'windows' })}`;
}

export async function registerXlsx(lines: readonly RegisterLine[]): Promise<Buffer> {
  const rows = registerRows(lines);
  return writeXlsxFile(
    rows.map((r, i) =>
      r.map((value) => ({ value, type: String, ...(i === 0 ? { fontWeight: 'bold' as const } : {}) })),
    ),
    { sheet: 'Home visits', stickyRowsCount: 1, columns: REGISTER_COLUMNS.map(() => ({ width: 18 })) },
  ).toBuffer();
}
