/**
 * When an alarm reached Doorstep, for the office's card, when that was well after the press it is
 * raised at (a fob out of signal that sent it later; the alarm's time is the fob's within
 * `ALARM_RAISED_LATE_MS`, src/domain/fob/trust.ts): "raised 10:02" alone would not say that the office
 * heard of it only at 10:09 — nor that the person has been waiting since before anyone knew.
 */

/** Less than this between the press and its arrival is the network: not worth a line. */
export const ARRIVED_LATE_MS = 60_000;

/** The arrival, when it is a minute or more after the press; else null. */
export function arrivedLate(raisedAt: Date, receivedAt: Date | null): Date | null {
  if (!receivedAt || Number.isNaN(receivedAt.getTime())) return null;
  return receivedAt.getTime() - raisedAt.getTime() >= ARRIVED_LATE_MS ? receivedAt : null;
}
