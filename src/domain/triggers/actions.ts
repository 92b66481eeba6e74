import type { Action } from './rules.ts';

/**
 * What each recommended action is, and how it is done in Doorstep: the visit actions by asking for a
 * visit from the trigger (the visit register takes it from there); every other action by recording it
 * done — on which day, and what was done — which writes a record to the school's safeguarding system.
 */

/** The action in words, as the trigger note recommends it. */
export const ACTION_TEXT: Record<Action, string> = {
  'phone-call': 'a phone call home',
  'home-visit': 'a home visit',
  'la-notification': 'a notification to the local authority',
  'follow-up-visit': 'a follow-up visit',
  'removal-from-roll-review':
    'a review of whether the conditions for removal from roll are met (Doorstep never decides removal)',
  'attendance-meeting': 'an attendance meeting with the family',
  'missing-education-check':
    'a children-missing-education check: confirm the pupil is on roll at their destination, and tell the local authority if it is not known',
};

/** The action done, as its record's title and the board say it. */
export const ACTION_DONE_TEXT: Record<Action, string> = {
  'phone-call': 'Phone call home made',
  'home-visit': 'Home visit made',
  'la-notification': 'Local authority notified',
  'follow-up-visit': 'Follow-up visit made',
  'removal-from-roll-review': 'Removal-from-roll review done',
  'attendance-meeting': 'Attendance meeting held',
  'missing-education-check': 'Missing-education check done',
};

/** Actions done by a visit: asked for from the trigger (or by hand for its pupil), never recorded done by hand. */
export const VISIT_ACTIONS: readonly Action[] = ['home-visit', 'follow-up-visit'];
const BY_VISIT: ReadonlySet<string> = new Set<string>(VISIT_ACTIONS);

/** Whether a trigger's action is done by recording it (not by a visit). Unknown actions: by a visit (never hidden by a note). */
export function doneByRecording(action: string): action is Action {
  return action in ACTION_DONE_TEXT && !BY_VISIT.has(action);
}

/**
 * Why `doneOn` cannot be the day a trigger's action was done, or null: a real day, not after today
 * (London) and not before the trigger's first day (its evidence's, else the day it was raised).
 */
export function actionDayProblem(doneOn: string, firstDay: string, today: string): string | null {
  const d = new Date(`${doneOn}T00:00:00Z`);
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(doneOn) ||
    Number.isNaN(d.getTime()) ||
    d.toISOString().slice(0, 10) !== doneOn
  )
    return `expected a date YYYY-MM-DD, got "${doneOn.slice(0, 20)}"`;
  if (doneOn > today) return `${doneOn} is after today (${today}): record what was done once it is done`;
  if (doneOn < firstDay) return `${doneOn} is before the trigger's first day (${firstDay})`;
  return null;
}
