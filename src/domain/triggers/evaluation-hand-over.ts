/**
 * Where the job of one of an import's evaluation chunks stands: `untried` (queued, no try made yet),
 * `trying` (running, or waiting or delayed for a try after one), `finished` (it failed after its
 * tries, or completed), with when it did (`at`, absent when not known), or `lost` (no job has its id).
 */
export type JobStanding = { is: 'untried' | 'trying' | 'lost' } | { is: 'finished'; at?: Date };

/** What a sync does with an import's evaluation chunks not yet evaluated. */
export interface EvaluationHandOver {
  /** The chunks whose job is run again with its tries afresh, in the order given. */
  rerun: number[];
  /**
   * The chunks of `rerun` whose job was lost: its tries in the day went with it, so the day starts
   * again if one of them is queued again (not if another caller got there first).
   */
  restartDayWith: number[];
  /**
   * The evaluation is given up, on the condition that its day started by `startedBy` (a day before
   * the earliest failure past the day), re-checked where the give-up is written; nothing is run again.
   */
  giveUp: { startedBy: Date } | null;
}

/**
 * Decides, for an import's chunks not evaluated, from each chunk's job standing, the start of the
 * import's day of hand-overs (`retriedFrom`, null before the first) and the day's length (`dayMs`):
 *
 * - a job is judged by when it failed, not by when the sync looks: a finished job failed past the day
 *   if it finished `dayMs` or more after the day started;
 * - a job lost, or finished within the day (or before it started, or at a time not known, or with no
 *   day started), is run again — and a lost one starts the day again;
 * - a job still untried or trying is left alone, as is one that failed past the day;
 * - the evaluation is given up only when some job failed past the day and none is lost, untried or
 *   due to run again; then `startedBy` is a day before the earliest such failure.
 */
export function decideEvaluationHandOver(
  standings: ReadonlyMap<number, JobStanding>,
  retriedFrom: Date | null,
  dayMs: number,
): EvaluationHandOver {
  const failedPastDay = (job: JobStanding): Date | undefined =>
    job.is === 'finished' &&
    job.at !== undefined &&
    retriedFrom !== null &&
    job.at.getTime() - retriedFrom.getTime() >= dayMs
      ? job.at
      : undefined;
  const due = (job: JobStanding) => job.is === 'lost' || (job.is === 'finished' && !failedPastDay(job));
  const jobs = [...standings.values()];
  const pastDay = jobs.map(failedPastDay).filter((at): at is Date => at !== undefined);
  if (pastDay.length && !jobs.some((job) => due(job) || job.is === 'untried')) {
    const earliest = Math.min(...pastDay.map((at) => at.getTime()));
    return { rerun: [], restartDayWith: [], giveUp: { startedBy: new Date(earliest - dayMs) } };
  }
  const rerun: number[] = [];
  const restartDayWith: number[] = [];
  for (const [chunk, job] of standings) {
    if (!due(job)) continue;
    rerun.push(chunk);
    if (job.is === 'lost') restartDayWith.push(chunk);
  }
  return { rerun, restartDayWith, giveUp: null };
}
