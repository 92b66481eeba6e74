import { londonDate, londonMinutes } from '../attendance/dates.ts';
import type { VisitRules } from './rules.ts';

/**
 * Thames View 2.7: "Appointment records must include the time and location along with the name of
 * the pupil on CPOMS". Pure: when a visit's appointment record is due, and what the next one is.
 */

/** The instant of a wall-clock time on a date in Europe/London; null for a time the clocks skip. */
export function londonInstant(date: string, hhmm: string): Date | null {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  const wall = Date.UTC(
    Number(date.slice(0, 4)),
    Number(date.slice(5, 7)) - 1,
    Number(date.slice(8, 10)),
    h,
    m,
  );
  // London is UTC or UTC+1: of the two candidates, the earlier that reads back as the wall time
  // (the first of an hour the clocks repeat in October).
  for (const offsetMinutes of [60, 0]) {
    const t = new Date(wall - offsetMinutes * 60_000);
    if (londonDate(t) === date && londonMinutes(t) === h * 60 + m) return t;
  }
  return null;
}

/**
 * Minutes the family has kept the worker waiting at the door, as Thames View counts them (3.4 "not
 * present at the arranged time … wait no longer than 20 minutes"; 3.5 "over 30 minutes late"): from
 * the arranged time when the visit has one — a worker early waits from then, one who came late has
 * been waiting since it — else from the arrival. Null before the arrival (nobody is at the door).
 */
export function doorWaitMinutes(
  arrivedAt: Date | null,
  appointmentAt: Date | null,
  now: Date,
): number | null {
  if (!arrivedAt) return null;
  const from = appointmentAt ?? arrivedAt;
  return Math.max(0, (now.getTime() - from.getTime()) / 60_000);
}

export interface AppointmentFacts {
  status: string;
  appointmentAt: Date | null;
  /** Appointment records already written for the visit. */
  recordsWritten: number;
}

export type AppointmentRecordKind = 'booked' | 'changed' | 'cancelled';

/**
 * Which appointment record a step of the visit calls for, if any: `booked` the first time the visit
 * is both booked (authorised, or needing no authorisation) and has its time; `changed` when the time
 * or address of a recorded appointment changes; `cancelled` when a visit whose appointment was
 * recorded is called off. Nothing for a pack that does not ask for appointment records.
 */
export function appointmentRecordFor(
  rules: Pick<VisitRules, 'appointmentRecords' | 'authorisation'>,
  v: AppointmentFacts,
  step: 'booked' | 'changed' | 'cancelled',
): AppointmentRecordKind | null {
  if (!rules.appointmentRecords) return null;
  if (step === 'cancelled') return v.recordsWritten > 0 ? 'cancelled' : null;
  if (!v.appointmentAt) return null;
  if (v.recordsWritten > 0) return step === 'changed' ? 'changed' : null;
  const booked = v.status === 'authorised' || (v.status === 'requested' && !rules.authorisation.required);
  return booked ? 'booked' : null;
}
