import { londonTime } from './london-time.ts';

/**
 * The correction to a visit outcome record that said "back: <time>" when that back safe is undone as
 * a mistake ("I am still out"): the record, perhaps already in CPOMS or Arbor, is put right beside it.
 */
export function renderStillOutCorrection(v: {
  visitId: string;
  pupilMisId: string;
  /** The back safe the outcome record gave as "back". */
  backAt: Date;
  /** When it was undone, and by whom. */
  at: Date;
  by: string;
}): { title: string; body: string } {
  return {
    title: `Home visit correction: still out after the back safe recorded — ${v.pupilMisId}`,
    body: [
      `Correction to the outcome record of home visit ${v.visitId} (${v.pupilMisId}).`,
      `It gives "back: ${londonTime(v.backAt)}": that back safe was a mistake — the staff were still out.`,
      `Undone at ${londonTime(v.at)} by ${v.by}; they were watched again from then.`,
      'When they were back safe is in the visit’s history in Doorstep.',
    ].join('\n'),
  };
}
