/**
 * Where a mark lives when a month's marks are kept together: one array per column for the calendar
 * month, two sessions a day (`slotOf`: morning then afternoon), 62 places whatever the month's length.
 * Dates are ISO (YYYY-MM-DD), already checked. Pure.
 */
export const SLOTS_PER_MONTH = 62;

/** The month a date is in, as its first day: 2025-03-14 → 2025-03-01. */
export function monthOf(date: string): string {
  return `${date.slice(0, 7)}-01`;
}

/** A session's place in its month's arrays, from 0 (the 1st's morning) to 61 (the 31st's afternoon). */
export function slotOf(date: string, session: string): number {
  const day = (date.charCodeAt(8) - 48) * 10 + (date.charCodeAt(9) - 48);
  return (day - 1) * 2 + (session === 'PM' ? 1 : 0);
}
