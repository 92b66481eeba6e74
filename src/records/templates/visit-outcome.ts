import { londonTime } from './london-time.ts';

export interface VisitOutcome {
  visitId: string;
  pupils: { misId: string; upn: string | null; name?: string | null }[];
  /** Who went (names as the school knows them). */
  visitedBy: string[];
  address: string;
  departedAt: Date;
  /** Back safe; null when the outcome was recorded while the worker was still out (at the door). */
  returnedAt: Date | null;
  /** When the outcome was recorded. */
  recordedAt: Date;
  /** Who recorded it: one who went, or not (the office, for a worker who phoned it in). */
  recordedBy: string;
  childSeen: boolean;
  noOneHome: boolean;
  /** No one home: whether the staff said they left a "sorry you weren't in" slip (never assumed). */
  slipLeft?: boolean;
  /** Who the staff spoke to, e.g. "mother". */
  spokeTo?: string | null;
  agreements: string[];
  concerns: string[];
  followUp: { action: string; by: string; due?: string | null }[];
  reason: string;
}

/** The visit outcome record: who visited, when, whether the child was seen, agreements, concerns, follow-up. */
export function renderVisitOutcome(v: VisitOutcome): { title: string; body: string } {
  const who = v.pupils
    .map((p) => `${p.name ? `${p.name} ` : ''}(${p.misId}${p.upn ? `, UPN ${p.upn}` : ''})`)
    .join(', ');
  const seen = v.noOneHome ? 'no one was home' : v.childSeen ? 'child seen' : 'child NOT seen';
  const lines = [
    `Home visit ${v.visitId} for ${who}.`,
    `Reason: ${v.reason}`,
    `Visited by: ${v.visitedBy.join(' and ')}`,
    `Address: ${v.address}`,
    `Left school: ${londonTime(v.departedAt)}; back: ${v.returnedAt ? londonTime(v.returnedAt) : 'still out when this outcome was recorded'}`,
    `Recorded: ${londonTime(v.recordedAt)} by ${v.recordedBy}`,
    `Outcome: ${seen}${v.spokeTo ? `; spoke to ${v.spokeTo}` : ''}${v.noOneHome ? (v.slipLeft ? '; a "sorry you weren\'t in" slip was left' : '; no slip recorded as left') : ''}.`,
    '',
    'Agreements:',
    ...(v.agreements.length ? v.agreements.map((a) => `  - ${a}`) : ['  none recorded']),
    '',
    'Concerns:',
    ...(v.concerns.length ? v.concerns.map((c) => `  - ${c}`) : ['  none recorded']),
    '',
    'Follow-up:',
    ...(v.followUp.length
      ? v.followUp.map((f) => `  - ${f.action} — ${f.by}${f.due ? `, by ${f.due}` : ''}`)
      : ['  none']),
  ];
  return {
    title: `Home visit outcome: ${seen} — ${v.pupils.map((p) => p.misId).join(', ')}`,
    body: lines.join('\n'),
  };
}
