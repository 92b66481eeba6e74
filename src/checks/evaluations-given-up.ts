import { londonClock, londonDate } from '../domain/attendance/dates.ts';
import type { EvaluationGivenUp } from '../store/imports.ts';

/** How long the data page says an import's trigger evaluation was given up (as long as failed jobs are kept). */
export const GIVEN_UP_SHOWN_MS = 7 * 24 * 60 * 60_000;

/**
 * What the data page says of an import whose trigger evaluation was given up (after a day of
 * hand-overs): its pupils wait for the nightly all-pupil run at `nightlyAt`. No command evaluates one
 * import again, so it says what does and where to look.
 */
export function evaluationGivenUpSaid(g: EvaluationGivenUp, nightlyAt: string): string {
  return `Trigger evaluation for import ${g.importId} (${g.unit}) was given up at ${londonDate(g.givenUpAt)} ${londonClock(g.givenUpAt)} after a day of tries: no doorstep command evaluates one import again, so its pupils are evaluated by the nightly run at ${nightlyAt}. If that cannot wait, the server's log says why it failed (import ${g.importId}).`;
}
