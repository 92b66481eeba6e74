/**
 * How long a school's broker has been quiet, and whether that is past the school's threshold
 * (`fobs.brokerSilenceSeconds`). Nothing received yet counts as silent: a feed that has never
 * delivered anything is not known to work. Pure: `now` is a parameter.
 */
export interface BrokerSilence {
  /** When the ingest role last received a message from the broker (ISO), or null. */
  lastEventAt: string | null;
  /** Whole seconds since then at `now` (never negative), or null. */
  secondsAgo: number | null;
  thresholdSeconds: number;
  /** Past the threshold, or nothing yet: the board shows it red. */
  silent: boolean;
}

export function brokerSilence(lastEventAt: Date | null, now: Date, thresholdSeconds: number): BrokerSilence {
  if (!lastEventAt) return { lastEventAt: null, secondsAgo: null, thresholdSeconds, silent: true };
  const secondsAgo = Math.max(0, Math.floor((now.getTime() - lastEventAt.getTime()) / 1000));
  return {
    lastEventAt: lastEventAt.toISOString(),
    secondsAgo,
    thresholdSeconds,
    silent: secondsAgo > thresholdSeconds,
  };
}
