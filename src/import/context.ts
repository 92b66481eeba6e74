import type { SchoolConfig } from '../config/schema.ts';
import { academicYearOf, londonDate } from '../domain/attendance/dates.ts';
import { calendarFor } from '../triggers/calendar-for.ts';
import type { ImportContext } from './apply-unit.ts';

/** The import settings for a school on a given day (time is a parameter, never read here). */
export function importContextFor(
  school: SchoolConfig,
  now: Date,
  extra: {
    actor: string;
    source?: string;
    dryRun?: boolean;
    sha256?: string | null;
    writePace?: { chunkMarks: number; pauseRatio: number };
    /** The school's `retention.leaverDataDays` (`retentionFor`): an MIS leaving date further back is held. */
    leaverDataDays?: number;
  },
): ImportContext {
  const today = londonDate(now);
  const current = academicYearOf(today);
  const source = extra.source ?? school.mis.kind;
  return {
    schoolId: school.id,
    source,
    codeMap: school.attendance.codeMap,
    academicYears: new Set(school.attendance.academicYears ?? [current, current - 1]),
    today,
    actor: extra.actor,
    calendar: calendarFor(school, today),
    matchPupilsBy: source === 'ctf' ? 'upn' : 'mis',
    // Only where the CTF is the school's own MIS export does it add pupils (see `ctfAddsPupils`).
    ...(source === 'ctf' ? { ctfAddsPupils: school.mis.kind === 'ctf' } : {}),
    ...(extra.sha256 !== undefined ? { sha256: extra.sha256 } : {}),
    ...(extra.dryRun ? { dryRun: true } : {}),
    ...(extra.writePace ? { writePace: extra.writePace } : {}),
    ...(extra.leaverDataDays !== undefined ? { leaverDataDays: extra.leaverDataDays } : {}),
  };
}
