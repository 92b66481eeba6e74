/** One way a school's ladders fail to reach people, found from its config alone (nothing is sent). */
export interface ReachabilityProblem {
  /** The ladder: `alarm`, `sos`, `overdue-visit`, …; a time variant's as `weekend.alarm`, `outOfHours.sos`, … */
  ladder: string;
  /** 1-based; null for the ladder as a whole or the school's channels. */
  level: number | null;
  target: string | null;
  /**
   * `reaches-no-one` (the notification will fail), `some-unreachable`, `no-person`, `repeats-board-only`
   * (the level that repeats until the alarm is resolved tells no person), `no-reports` or
   * `replies-unverifiable` (texts ask for a reply, and no inboundUrl says what URL the provider signs),
   * `late-first-person` (out of school hours, when nobody watches the board, a ladder tells its first
   * person only after some minutes: ./out-of-hours-reach.ts).
   */
  kind:
    | 'reaches-no-one'
    | 'some-unreachable'
    | 'no-person'
    | 'repeats-board-only'
    | 'no-reports'
    | 'replies-unverifiable'
    | 'seen-by-wearer'
    | 'late-first-person';
  message: string;
}
