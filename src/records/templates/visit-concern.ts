import { londonTime } from './london-time.ts';

/**
 * A concern raised from a home visit at once ("Raise a concern now"), for the safeguarding record —
 * about the child, or (`incident`) an incident of aggression, violence or threat towards the staff,
 * which the record calls an incident, as the notice does, never a concern about the child.
 */
export function renderVisitConcern(c: {
  visitId: string;
  pupil: { misId: string; upn: string | null; name: string | null };
  raisedBy: string;
  at: Date;
  address: string;
  concern: string;
  incident?: boolean;
}): { title: string; body: string } {
  const who = `${c.pupil.name ? `${c.pupil.name} ` : ''}(${c.pupil.misId}${c.pupil.upn ? `, UPN ${c.pupil.upn}` : ''})`;
  const what = c.incident ? 'Incident of aggression, violence or threat towards staff' : 'Concern raised';
  return {
    title: `${what} on home visit ${c.visitId} — ${c.pupil.misId}`,
    body: [
      `${what} on home visit ${c.visitId} for ${who}.`,
      `${c.incident ? 'Reported' : 'Raised'} by: ${c.raisedBy}, ${londonTime(c.at)}`,
      `Address: ${c.address}`,
      '',
      c.incident ? 'What happened:' : 'Concern:',
      ...c.concern.split('\n').map((l) => `  ${l}`),
    ].join('\n'),
  };
}
