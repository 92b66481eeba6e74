import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_MARK_COLUMNS, DEFAULT_PUPIL_COLUMNS } from '../../connectors/mis/row-mapping.ts';
import type { FileMisSettings } from '../../connectors/mis/settings.ts';
import { loadConfigFile } from '../config/load.ts';
import type { SchoolConfig } from '../config/schema.ts';
import { academicYearOf, londonDate } from '../domain/attendance/dates.ts';
import { doorstepError } from '../errors.ts';
import { calendarFor } from '../triggers/calendar-for.ts';

/**
 * `doorstep example-data --config config/doorstep.example.yaml`: `npm start`'s first step. For each
 * school whose MIS is a SIMS XML or CSV drop folder, writes a made-up pupil list and this academic
 * year's marks (every school day from 1 September to yesterday, by the school's calendar) into its
 * drop folder, in the school's own shape — SIMS exports, or CSVs with the school's column map and
 * encoding — once per school (a marker file beside the folder says it was done; delete it to write
 * them again). The first sync imports them, so a newcomer's board shows triggers at each school:
 * at Heath Lane (SIMS) a pupil on a child protection plan absent yesterday, one absent for the last
 * four days, one missing Mondays and Fridays (persistent absence), one whose reason for absence was
 * never established; at Hampton (CSV) one missing Mondays and Fridays, one absent ten school days
 * running, one whose reason was never established — a trigger card to ask for a visit from. The
 * names, addresses and numbers are invented.
 */
export async function exampleDataCommand(
  opts: { config: string },
  out: (line: string) => void,
  now = new Date(),
): Promise<number> {
  const config = loadConfigFile(opts.config);
  const schools = config.schools.filter((s) => s.mis.kind === 'sims-xml' || s.mis.kind === 'csv');
  if (schools.length === 0)
    throw doorstepError(
      'USAGE',
      `${opts.config}: example data needs a school with a sims-xml or csv drop folder`,
    );
  for (const school of schools) writeExampleData(school, out, now);
  return 0;
}

function writeExampleData(school: SchoolConfig, out: (line: string) => void, now: Date): void {
  const mis = school.mis as FileMisSettings;
  const drop = resolve(mis.dropFolder);
  const marker = join(drop, '..', `.example-data-${school.id}`);
  if (existsSync(marker)) {
    out(`example data: already written for ${school.id} (delete ${marker} to write it again)`);
    return;
  }
  const days = schoolDaysSoFar(school, now);
  const csv = mis.kind === 'csv';
  const pupils = csv ? CSV_PUPILS : PUPILS;
  const files = csv
    ? { pupils: 'example-pupils.csv', marks: 'example-marks.csv' }
    : { pupils: 'example-pupils.xml', marks: 'example-marks.xml' };
  mkdirSync(drop, { recursive: true });
  // The pupils first: the sync takes the older file first.
  const pupilsFile = join(drop, files.pupils);
  const marksFile = join(drop, files.marks);
  if (csv) {
    writeFileSync(pupilsFile, encoded(pupilsCsv(mis), mis.encoding));
    writeFileSync(marksFile, encoded(marksCsv(mis, days), mis.encoding));
  } else {
    writeFileSync(pupilsFile, pupilsXml());
    writeFileSync(marksFile, marksXml(days));
  }
  const t = now.getTime() / 1000;
  utimesSync(pupilsFile, t - 120, t - 120);
  utimesSync(marksFile, t - 60, t - 60);
  writeFileSync(marker, `${now.toISOString()}\n`);
  out(
    `example data: ${pupils.length} made-up pupils and ${days.length} school day(s) of marks for ${school.id} in ${drop} (the first sync imports them)`,
  );
}

/** This academic year's school days before today, by the school's calendar. */
export function schoolDaysSoFar(school: SchoolConfig, now: Date): string[] {
  const today = londonDate(now);
  const from = `${academicYearOf(today)}-09-01`;
  return calendarFor(school, today).days.filter((d) => d >= from && d < today);
}

/**
 * What a made-up pupil's marks show: absent yesterday (no reason yet), absent the last four school
 * days, absent the last ten, absent on Mondays and Fridays, an N never resolved, or present.
 */
type Pattern = 'absent-yesterday' | 'absent-4' | 'absent-10' | 'mon-fri' | 'n-unresolved' | 'present';

interface ExamplePupil {
  id: string;
  first: string;
  last: string;
  year: string;
  cp: boolean;
  street: string;
  pattern: Pattern;
}

const PUPILS: readonly ExamplePupil[] = [
  {
    id: '9001',
    first: 'Ruby',
    last: 'Hartley',
    year: 'Year 4',
    cp: true,
    street: '12 Orchard Walk',
    pattern: 'absent-yesterday',
  },
  {
    id: '9002',
    first: 'Kofi',
    last: 'Mensah',
    year: 'Year 6',
    cp: false,
    street: '7 Beck Side',
    pattern: 'absent-4',
  },
  {
    id: '9003',
    first: 'Ellie',
    last: 'Stroud',
    year: 'Year 3',
    cp: false,
    street: '40 Mill Green',
    pattern: 'mon-fri',
  },
  {
    id: '9004',
    first: 'Tomasz',
    last: 'Nowak',
    year: 'Year 5',
    cp: false,
    street: '3 Canal Row',
    pattern: 'n-unresolved',
  },
  {
    id: '9005',
    first: 'Amira',
    last: 'Haddad',
    year: 'Year 2',
    cp: false,
    street: '19 Larch Close',
    pattern: 'present',
  },
  {
    id: '9006',
    first: 'Leo',
    last: 'Fairbairn',
    year: 'Year 1',
    cp: false,
    street: '88 Station Road',
    pattern: 'present',
  },
  {
    id: '9007',
    first: 'Isla',
    last: 'Morrow',
    year: 'Year 5',
    cp: false,
    street: '2 Quarry Hill',
    pattern: 'present',
  },
  {
    id: '9008',
    first: 'Noah',
    last: 'Achebe',
    year: 'Year 6',
    cp: false,
    street: '51 Kirk Lane',
    pattern: 'present',
  },
];

/** An infant school's (Hampton's) made-up pupils: Reception to Year 2. */
const CSV_PUPILS: readonly ExamplePupil[] = [
  {
    id: '2101',
    first: 'Zoë',
    last: 'Ashworth',
    year: 'Year 2',
    cp: true,
    street: '6 Willow Court',
    pattern: 'mon-fri',
  },
  {
    id: '2102',
    first: 'Harvey',
    last: 'Lund',
    year: 'Year 1',
    cp: false,
    street: '23 Ferry Lane',
    pattern: 'absent-10',
  },
  {
    id: '2103',
    first: 'Maisie',
    last: 'Doyle',
    year: 'Year 1',
    cp: false,
    street: '14 Brook Terrace',
    pattern: 'n-unresolved',
  },
  {
    id: '2104',
    first: 'Ravi',
    last: 'Sandhu',
    year: 'Year 2',
    cp: false,
    street: '9 Elm Grove',
    pattern: 'present',
  },
  {
    id: '2105',
    first: 'Ffion',
    last: 'Price',
    year: 'Reception',
    cp: false,
    street: '31 Meadow View',
    pattern: 'present',
  },
  {
    id: '2106',
    first: 'Oskar',
    last: 'Lindqvist',
    year: 'Reception',
    cp: false,
    street: '5 Chapel Yard',
    pattern: 'present',
  },
];

function pupilsXml(): string {
  const records = PUPILS.map(
    (p, i) => `  <Record>
    <ID>${p.id}</ID>
    <UPN>X${String(900000000001 + i)}</UPN>
    <Legal_x0020_Forename>${p.first}</Legal_x0020_Forename>
    <Legal_x0020_Surname>${p.last}</Legal_x0020_Surname>
    <DOB>2016-0${(i % 9) + 1}-1${i % 9}</DOB>
    <Year>${p.year}</Year>
    <Address_x0020_Line_x0020_1>${p.street}</Address_x0020_Line_x0020_1>
    <Town>Exampleton</Town>
    <Postcode>EX1 ${i + 1}AB</Postcode>
    <CP_x0020_Plan>${p.cp ? 'Yes' : 'No'}</CP_x0020_Plan>
    <CIN>No</CIN>
    <In_x0020_Care>No</In_x0020_Care>
    <EHCP>No</EHCP>
    <Young_x0020_Carer>No</Young_x0020_Carer>
    <Welfare_x0020_Concern>No</Welfare_x0020_Concern>
    <Priority_x0020_1_x0020_Contact>Parent of ${p.first}</Priority_x0020_1_x0020_Contact>
    <Priority_x0020_1_x0020_Relationship>Mother</Priority_x0020_1_x0020_Relationship>
    <Priority_x0020_1_x0020_Phone>07700 9000${String(10 + i)}</Priority_x0020_1_x0020_Phone>
    <Priority_x0020_1_x0020_Email/>
  </Record>`,
  );
  return `<?xml version="1.0" encoding="utf-8"?>\n<SuperStarReport>\n${records.join('\n')}\n</SuperStarReport>\n`;
}

/** A pupil's mark for a day (`back` counts back: 0 is yesterday's school day). */
function markFor(p: ExamplePupil, date: string, back: number): string {
  const dow = new Date(`${date}T12:00:00Z`).getUTCDay();
  switch (p.pattern) {
    case 'absent-yesterday': // on a CP plan: absent yesterday, no reason yet
      return back === 0 ? 'N' : '/';
    case 'absent-4': // absent, unauthorised, for the last four days
      return back < 4 ? 'O' : '/';
    case 'absent-10': // absent, unauthorised, for the last ten: the local authority is told
      return back < 10 ? 'O' : '/';
    case 'mon-fri': // Mondays and Fridays: persistent absence
      return dow === 1 || dow === 5 ? 'O' : '/';
    case 'n-unresolved': // never resolved, more than 5 school days on
      return back >= 8 && back < 10 ? 'N' : '/';
    default:
      return '/';
  }
}

/** Each pupil's AM and PM marks, day by day (`/` and `\` present; an absence both sessions). */
function eachMark(
  pupils: readonly ExamplePupil[],
  days: readonly string[],
  f: (p: ExamplePupil, date: string, am: string, pm: string) => void,
): void {
  days.forEach((date, i) => {
    const back = days.length - 1 - i;
    for (const p of pupils) {
      const am = markFor(p, date, back);
      f(p, date, am, am === '/' ? '\\' : am);
    }
  });
}

function marksXml(days: readonly string[]): string {
  const rows: string[] = [];
  eachMark(PUPILS, days, (p, date, am, pm) => {
    for (const [session, mark] of [
      ['AM', am],
      ['PM', pm],
    ] as const)
      rows.push(
        `  <SessionAttendance><PersonID>${p.id}</PersonID><AttendanceDate>${date}</AttendanceDate><SessionName>${session}</SessionName><AttendanceMark>${mark}</AttendanceMark><Comments/><MinsLate/></SessionAttendance>`,
      );
  });
  return `<?xml version="1.0" encoding="utf-8"?>\n<SessionAttendances>\n${rows.join('\n')}\n</SessionAttendances>\n`;
}

/** A CSV cell: quoted when it holds a comma, a quote or a line break. */
function cell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

function csvText(rows: readonly (readonly string[])[]): string {
  return `${rows.map((r) => r.map(cell).join(',')).join('\r\n')}\r\n`;
}

/** `2026-11-30` as Excel writes a UK date: `30/11/2026`. */
function ukDate(iso: string): string {
  const [y, m, d] = iso.split('-');
  return `${d}/${m}/${y}`;
}

/** The pupils report as the school's CSV has it: its column map's captions over the defaults. */
function pupilsCsv(mis: FileMisSettings): string {
  const c = { ...DEFAULT_PUPIL_COLUMNS, ...mis.columns.pupils };
  const yn = (b: boolean) => (b ? 'Yes' : 'No');
  const header = [
    c.misId,
    c.upn,
    c.forename,
    c.surname,
    c.dob,
    c.yearGroup,
    c.addressLine1,
    c.town,
    c.postcode,
    c.cpPlan,
    c.cin,
    c.lac,
    c.senEhcp,
    c.youngCarer,
    c.welfareConcern,
    c.contact1Name,
    c.contact1Relationship,
    c.contact1Phone,
  ];
  const rows = CSV_PUPILS.map((p, i) => {
    // An infant school: Reception born 2021/22, Year 1 2020/21, Year 2 2019/20.
    const born = p.year === 'Year 2' ? 2019 : p.year === 'Year 1' ? 2020 : 2021;
    return [
      p.id,
      `Y${String(800000000001 + i)}`,
      p.first,
      p.last,
      `${String(10 + i)}/${String((i % 3) + 10)}/${born}`,
      p.year,
      p.street,
      'Exampleton',
      `EX2 ${i + 1}CD`,
      yn(p.cp),
      'No',
      'No',
      'No',
      'No',
      'No',
      `Parent of ${p.first}`,
      'Father',
      `07700 9001${String(10 + i)}`,
    ];
  });
  return csvText([header, ...rows]);
}

/** The marks as the school's CSV has them: one row per pupil and day, AM and PM in their own columns. */
function marksCsv(mis: FileMisSettings, days: readonly string[]): string {
  const c = { ...DEFAULT_MARK_COLUMNS, ...mis.columns.marks };
  const rows: string[][] = [[c.pupilMisId, c.date, c.am, c.pm]];
  eachMark(CSV_PUPILS, days, (p, date, am, pm) => rows.push([p.id, ukDate(date), am, pm]));
  return csvText(rows);
}

/** The text in the school's encoding: Windows-1252 as an Excel "CSV" export writes it. */
function encoded(text: string, encoding: 'utf-8' | 'windows-1252'): Buffer {
  // The made-up names keep to Latin-1, where Windows-1252 and Latin-1 agree (é, ë, ö).
  return encoding === 'windows-1252' ? Buffer.from(text, 'latin1') : Buffer.from(text, 'utf8');
}
