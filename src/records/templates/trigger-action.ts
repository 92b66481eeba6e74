import { ACTION_DONE_TEXT } from '../../domain/triggers/actions.ts';
import type { Action } from '../../domain/triggers/rules.ts';
import { londonTime } from './london-time.ts';

/**
 * A trigger's action recorded done — the phone call home made, the attendance meeting held, the local
 * authority told: which trigger (its note went to the same record when it was raised), what was done,
 * on which day, by whom — so the pupil's safeguarding record shows the recommendation acted on.
 */
export function renderTriggerAction(a: {
  episodeId: string;
  pupil: { misId: string; upn: string | null; name: string | null };
  trigger: string;
  openedOn: string;
  action: Action;
  doneOn: string;
  doneBy: string;
  recordedAt: Date;
  note: string;
}): { title: string; body: string } {
  const who = `${a.pupil.name ? `${a.pupil.name} ` : ''}(${a.pupil.misId}${a.pupil.upn ? `, UPN ${a.pupil.upn}` : ''})`;
  return {
    title: `${ACTION_DONE_TEXT[a.action]} — pupil ${a.pupil.misId}`,
    body: [
      `${ACTION_DONE_TEXT[a.action]} for ${who} on ${a.doneOn}.`,
      `Trigger: ${a.trigger} (raised ${a.openedOn}, Doorstep trigger ${a.episodeId})`,
      `Recorded by ${a.doneBy}, ${londonTime(a.recordedAt)}`,
      '',
      'What was done:',
      ...a.note.split('\n').map((l) => `  ${l}`),
    ].join('\n'),
  };
}
