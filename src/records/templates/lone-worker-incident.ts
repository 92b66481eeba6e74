import { type DeliveryFacts, deliveryDetail, deliveryState } from '../../domain/escalation/delivery.ts';
import { RESOLUTION_REASONS } from '../../domain/escalation/resolution.ts';
import { londonTime } from './london-time.ts';

export interface IncidentRecord {
  alarmId: string;
  staff: string;
  /** Null for an alarm the visit watcher raised (overdue, missed check-in). */
  deviceId: string | null;
  type: string;
  raisedAt: Date;
  location?: { lat: number; lon: number; accuracyM?: number | null } | null;
  visitAddress?: string | null;
  timeline: { at: Date; event: string; by?: string | null }[];
  resolution: { reason: keyof typeof RESOLUTION_REASONS; by: string; at: Date; note?: string | null };
  pupils: { misId: string; upn: string | null }[];
  /** A TEST alarm (a fob drill): the record says so in its title and first line. */
  test?: boolean;
  /** Every notification of its ladder and how far it got (absent: not known). */
  notifications?: (DeliveryFacts & { step: number; at: Date })[];
}

/**
 * How far off a position may be, as it is, in the unit a reader takes in: "±12 m", "±1.5 km", "±150 km"
 * (a phone placed by its IP address or Wi-Fi) — never "±150000 m", and never rounded away. The
 * office board's alarm card says it in the same words (web/assets/words.js `accuracySaid`, which
 * cannot import this: a test holds the two to one table).
 */
export function accuracySaid(metres: number): string {
  if (metres < 1000) return `±${Math.round(metres)} m`;
  const km = metres / 1000;
  return `±${km < 10 ? Number(km.toFixed(1)) : Math.round(km).toLocaleString('en-GB')} km`;
}

/** The lone-worker incident record: the alarm's full timeline and how it was resolved. */
export function renderLoneWorkerIncident(i: IncidentRecord): { title: string; body: string } {
  const lines = [
    ...(i.test ? ['TEST ALARM: a fob drill raised to rehearse the ladder, not a real alarm.'] : []),
    `Lone-worker alarm ${i.alarmId}: ${i.type.replace(/_/g, ' ')} from ${i.staff}${i.deviceId ? ` (device ${i.deviceId})` : ''} at ${londonTime(i.raisedAt)}.`,
  ];
  if (i.visitAddress) lines.push(`On a home visit to: ${i.visitAddress}`);
  if (i.location) {
    lines.push(
      `Location: ${i.location.lat.toFixed(5)}, ${i.location.lon.toFixed(5)}${i.location.accuracyM ? ` (${accuracySaid(i.location.accuracyM)})` : ''}`,
    );
  }
  lines.push('', 'Timeline:');
  for (const t of [...i.timeline].sort((a, b) => a.at.getTime() - b.at.getTime())) {
    lines.push(`  ${londonTime(t.at)}  ${t.event}${t.by ? ` (${t.by})` : ''}`);
  }
  if (i.notifications?.length) {
    const failed = i.notifications.filter((n) => ['failed', 'partly-failed'].includes(deliveryState(n)));
    lines.push(
      '',
      failed.length
        ? `Notifications (${failed.length} of ${i.notifications.length} did not reach everyone):`
        : 'Notifications:',
    );
    for (const n of i.notifications)
      lines.push(`  ${londonTime(n.at)}  ladder step ${n.step + 1}: ${n.target} — ${deliveryDetail(n)}`);
  }
  lines.push(
    '',
    `Resolved ${londonTime(i.resolution.at)} by ${i.resolution.by} as ${RESOLUTION_REASONS[i.resolution.reason]}.`,
    ...(i.resolution.note ? [`Note: ${i.resolution.note}`] : []),
  );
  return {
    title: `${i.test ? 'TEST — ' : ''}Lone-worker incident: ${i.type.replace(/_/g, ' ')} — ${RESOLUTION_REASONS[i.resolution.reason]}`,
    body: lines.join('\n'),
  };
}
