import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfigFile } from '../config/load.ts';
import type { SchoolConfig } from '../config/schema.ts';
import { academicYearOf, londonDate } from '../domain/attendance/dates.ts';
import { doorstepError } from '../errors.ts';
import { calendarFor } from '../triggers/calendar-for.ts';

/**
 * `doorstep example-data --config config/doorstep.example.yaml`: `npm start`'s first step. Writes a
 * made-up pupil list and this academic year's marks (every school day from 1 September to yesterday,
 * by the school's calendar) as SIMS exports into the drop folder of the first `sims-xml` school, once
 * (a marker file beside them says it was done; delete it to write them again). The first sync imports
 * them, so a newcomer's board shows triggers: a pupil on a child protection plan absent yesterday, one
 * absent for the last four days, one missing Mondays and Fridays (persistent absence), one whose
 * reason for absence was never established. The names, addresses and numbers are invented.
 */
export async function exampleDataCommand(
  opts: { config: string },
  out: (line: string) => void,
  now = new Date(),
): Promise<number> {
  const config = loadConfigFile(opts.config);
  const school = config.schools.find((s) => s.mis.kind === 'sims-xml');
  if (!school)
    throw doorstepError('USAGE', `${opts.config}: example data needs a school with a sims-xml drop folder`);
  const drop = resolve((school.mis as { dropFolder: string }).dropFolder);
  const marker = join(drop, '..', `.example-data-${school.id}`);
  if (existsSync(marker)) {
    out(`example data: already written for ${school.id} (delete ${marker} to write it again)`);
    return 0;
  }
  const days = schoolDaysSoFar(school, now);
  mkdirSync(drop, { recursive: true });
  // The pupils first: the sync takes the older file first.
  const pupilsFile = join(drop, 'example-pupils.xml');
  const marksFile = join(drop, 'example-marks.xml');
  writeFileSync(pupilsFile, pupilsXml());
  writeFileSync(marksFile, marksXml(days));
  const t = now.getTime() / 1000;
  utimesSync(pupilsFile, t - 120, t - 120);
  utimesSync(marksFile, t - 60, t - 60);
  writeFileSync(marker, `${now.toISOString()}\n`);
  out(
    `example data: ${PUPILS.length} made-up pupils and ${days.length} school day(s) of marks for ${school.id} in ${drop} (the first sync imports them)`,
  );
  return 0;
}

/** This academic year's school days before today, by the school's calendar. */
export function schoolDaysSoFar(school: SchoolConfig, now: Date): string[] {
  const today = londonDate(now);
  const from = `${academicYearOf(today)}-09-01`;
  return calendarFor(school, today).days.filter((d) => d >= from && d < today);
}

const PUPILS = [
  { id: '9001', first: 'Ruby', last: 'Hartley', year: 'Year 4', cp: true, street: '12 Orchard Walk' },
  { id: '9002', first: 'Kofi', last: 'Mensah', year: 'Year 6', cp: false, street: '7 Beck Side' },
  { id: '9003', first: 'Ellie', last: 'Stroud', year: 'Year 3', cp: false, street: '40 Mill Green' },
  { id: '9004', first: 'Tomasz', last: 'Nowak', year: 'Year 5', cp: false, street: '3 Canal Row' },
  { id: '9005', first: 'Amira', last: 'Haddad', year: 'Year 2', cp: false, street: '19 Larch Close' },
  { id: '9006', first: 'Leo', last: 'Fairbairn', year: 'Year 1', cp: false, street: '88 Station Road' },
  { id: '9007', first: 'Isla', last: 'Morrow', year: 'Year 5', cp: false, street: '2 Quarry Hill' },
  { id: '9008', first: 'Noah', last: 'Achebe', year: 'Year 6', cp: false, street: '51 Kirk Lane' },
] as const;

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

/** Each pupil's mark for a day (`i` counts back: 0 is yesterday's school day). */
function markFor(id: string, date: string, back: number): string {
  const dow = new Date(`${date}T12:00:00Z`).getUTCDay();
  if (id === '9001' && back === 0) return 'N'; // on a CP plan: absent yesterday, no reason yet
  if (id === '9002' && back < 4) return 'O'; // absent, unauthorised, for the last four days
  if (id === '9003' && (dow === 1 || dow === 5)) return 'O'; // Mondays and Fridays: persistent absence
  if (id === '9004' && back >= 8 && back < 10) return 'N'; // never resolved, more than 5 school days on
  return '/';
}

function marksXml(days: readonly string[]): string {
  const rows: string[] = [];
  days.forEach((date, i) => {
    const back = days.length - 1 - i;
    for (const p of PUPILS) {
      const am = markFor(p.id, date, back);
      const pm = am === '/' ? '\\' : am;
      for (const [session, mark] of [
        ['AM', am],
        ['PM', pm],
      ] as const)
        rows.push(
          `  <SessionAttendance><PersonID>${p.id}</PersonID><AttendanceDate>${date}</AttendanceDate><SessionName>${session}</SessionName><AttendanceMark>${mark}</AttendanceMark><Comments/><MinsLate/></SessionAttendance>`,
        );
    }
  });
  return `<?xml version="1.0" encoding="utf-8"?>\n<SessionAttendances>\n${rows.join('\n')}\n</SessionAttendances>\n`;
}
