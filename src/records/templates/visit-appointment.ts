import { londonTime } from './london-time.ts';

/**
 * Thames View 2.7: the appointment record of a home visit — its time and location with the pupil's
 * name — written when the visit is booked, again (numbered) when the time or address changes, and
 * once more when it is cancelled.
 */
export function renderVisitAppointment(a: {
  visitId: string;
  kind: 'booked' | 'changed' | 'cancelled';
  /** The record's number for this visit (1 for the first). */
  n: number;
  pupil: { misId: string; upn: string | null; name: string | null };
  at: Date;
  address: string;
  visitingStaff: string[];
  reason: string;
  /** Why it was cancelled (a cancellation record only). */
  cancelReason?: string | null;
  /** What the previous record said, for a change. */
  previous?: { at: Date | null; address: string } | null;
}): { title: string; body: string } {
  const who = `${a.pupil.name ? `${a.pupil.name} ` : ''}(${a.pupil.misId}${a.pupil.upn ? `, UPN ${a.pupil.upn}` : ''})`;
  const head = {
    booked: 'Home visit appointment',
    changed: 'Home visit appointment CHANGED',
    cancelled: 'Home visit appointment CANCELLED',
  }[a.kind];
  const lines = [
    `${head} (visit ${a.visitId}, record ${a.n}) for ${who}.`,
    `Time: ${londonTime(a.at)}`,
    `Location: ${a.address}`,
    `Reason: ${a.reason}`,
    `Staff: ${a.visitingStaff.length ? a.visitingStaff.join(' and ') : 'not yet named'}`,
  ];
  if (a.kind === 'changed' && a.previous)
    lines.push(
      '',
      `Previously: ${a.previous.at ? londonTime(a.previous.at) : 'no time'} at ${a.previous.address}`,
    );
  if (a.kind === 'cancelled') lines.push('', `Cancelled: ${a.cancelReason ?? 'no reason given'}`);
  return { title: `${head} — ${a.pupil.misId}`, body: lines.join('\n') };
}
