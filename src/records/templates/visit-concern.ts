import { londonTime } from './london-time.ts';

/** A concern raised from a home visit at once ("Raise a concern now"), for the safeguarding record. */
export function renderVisitConcern(c: {
  visitId: string;
  pupil: { misId: string; upn: string | null; name: string | null };
  raisedBy: string;
  at: Date;
  address: string;
  concern: string;
}): { title: string; body: string } {
  const who = `${c.pupil.name ? `${c.pupil.name} ` : ''}(${c.pupil.misId}${c.pupil.upn ? `, UPN ${c.pupil.upn}` : ''})`;
  return {
    title: `Concern raised on home visit ${c.visitId} — ${c.pupil.misId}`,
    body: [
      `Concern raised on home visit ${c.visitId} for ${who}.`,
      `Raised by: ${c.raisedBy}, ${londonTime(c.at)}`,
      `Address: ${c.address}`,
      '',
      'Concern:',
      ...c.concern.split('\n').map((l) => `  ${l}`),
    ].join('\n'),
  };
}
