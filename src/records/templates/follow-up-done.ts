import { londonTime } from './london-time.ts';

/**
 * King's 2.4: "If follow-up actions are required, these should be logged and monitored on CPOMS".
 * The visit's outcome record logs each follow-up action; this record says one was done: which, from
 * which visit, what was done, by whom and when — so the safeguarding record shows it closed.
 */
export function renderFollowUpDone(f: {
  visitId: string;
  pupil: { misId: string; upn: string | null; name: string | null };
  action: string;
  owner: string;
  dueOn: string | null;
  doneBy: string;
  doneAt: Date;
  note: string;
}): { title: string; body: string } {
  const who = `${f.pupil.name ? `${f.pupil.name} ` : ''}(${f.pupil.misId}${f.pupil.upn ? `, UPN ${f.pupil.upn}` : ''})`;
  return {
    title: `Home visit follow-up done — ${f.pupil.misId}`,
    body: [
      `Follow-up from home visit ${f.visitId} for ${who} recorded done.`,
      `Action: ${f.action}`,
      `Owner: ${f.owner}${f.dueOn ? ` (due ${f.dueOn})` : ''}`,
      `Done: ${londonTime(f.doneAt)}, recorded by ${f.doneBy}`,
      '',
      'What was done:',
      ...f.note.split('\n').map((l) => `  ${l}`),
    ].join('\n'),
  };
}
