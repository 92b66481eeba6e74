import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { addDays, weekday } from '../../src/domain/attendance/dates.ts';
import { rng } from '../../test/helpers/rng.ts';

/** School days of an English school year: Mon–Fri from 2024-09-02, skipping the usual holidays. */
export function schoolDays(count = 190): string[] {
  const holidays: [string, string][] = [
    ['2024-10-28', '2024-11-01'],
    ['2024-12-23', '2025-01-03'],
    ['2025-02-17', '2025-02-21'],
    ['2025-04-07', '2025-04-21'],
    ['2025-05-26', '2025-05-30'],
  ];
  const days: string[] = [];
  for (let d = '2024-09-02'; days.length < count; d = addDays(d, 1)) {
    const wd = weekday(d);
    if (wd === 0 || wd === 6) continue;
    if (holidays.some(([a, b]) => d >= a && d <= b)) continue;
    days.push(d);
  }
  return days;
}

/**
 * Realistic absence: most pupils attend ~96%, one in ten is persistently absent (~80%), one in a
 * hundred severely (~45%); absences come in runs of 1–5 days with illness, unexplained (N later
 * O), holiday (G) and lateness; a few approved activities.
 */
export function* pupilMarks(
  pupil: number,
  days: string[],
  random: () => number,
): Generator<[string, 'AM' | 'PM', string]> {
  const r = random();
  const rate = r < 0.01 ? 0.45 : r < 0.1 ? 0.8 : 0.96;
  let runLeft = 0;
  let runCode = 'I';
  for (const day of days) {
    if (runLeft === 0 && random() > rate + (1 - rate) * 0.6) {
      runLeft = 1 + Math.floor(random() * 5);
      const k = random();
      runCode = k < 0.5 ? 'I' : k < 0.7 ? 'N' : k < 0.8 ? 'O' : k < 0.9 ? 'G' : 'M';
    }
    if (runLeft > 0) {
      runLeft--;
      yield [day, 'AM', runCode];
      yield [day, 'PM', runCode];
      continue;
    }
    const k = random();
    yield [day, 'AM', k < 0.03 ? 'L' : k < 0.035 ? 'U' : k < 0.04 ? 'V' : '/'];
    yield [day, 'PM', k < 0.045 ? 'B' : '\\'];
  }
  void pupil;
}

/** Writes a SIMS session-attendance XML export; returns the number of marks. */
export async function writeSessionXml(
  path: string,
  pupils: number,
  days: string[],
  seed = 42,
): Promise<number> {
  const random = rng(seed);
  const out = createWriteStream(path);
  let n = 0;
  let buf = '<?xml version="1.0" encoding="utf-8"?>\n<SessionAttendances>\n';
  for (let p = 1; p <= pupils; p++) {
    for (const [date, session, code] of pupilMarks(p, days, random)) {
      buf += `  <SessionAttendance><PersonID>${100000 + p}</PersonID><AttendanceDate>${date}</AttendanceDate><SessionName>${session}</SessionName><AttendanceMark>${code}</AttendanceMark><Comments/><MinsLate/></SessionAttendance>\n`;
      n++;
      if (buf.length > 1 << 20) {
        if (!out.write(buf)) await once(out, 'drain');
        buf = '';
      }
    }
  }
  out.write(`${buf}</SessionAttendances>\n`);
  out.end();
  await once(out, 'finish');
  return n;
}
