import { addDays } from './dates.ts';

/**
 * Why a leaving date looks wrong: before the last day the pupil attended (`latestMark`, a present or
 * approved-activity mark: they were in school after it — absence marks after a leaving date are what
 * an off-roll backdated to the last attendance leaves, and say nothing against it), or so long ago that the next nightly purge erases the pupil — marks, triggers, visits and
 * their outcomes — which cannot be undone. A mistyped year (2016 for 2026) is both. Empty: no doubt.
 * Asked of a date typed at the CLI and of one an MIS sends alike.
 */
export function leavingDateDoubts(
  leftOn: string,
  o: { latestMark: string | null; today: string; leaverDataDays: number },
): string[] {
  const doubts: string[] = [];
  if (o.latestMark && leftOn < o.latestMark) doubts.push(`they attended on ${o.latestMark}, after that date`);
  // The purge erases a leaver once left_on is leaverDataDays behind its run: tonight's (after midnight) counts.
  if (leftOn <= addDays(o.today, 1 - o.leaverDataDays))
    doubts.push(
      `that is more than leaverDataDays (${o.leaverDataDays} days) ago, so tonight's purge erases the pupil and everything about them, which cannot be undone`,
    );
  return doubts;
}
