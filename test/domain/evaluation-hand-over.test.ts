import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decideEvaluationHandOver,
  type JobStanding,
} from '../../src/domain/triggers/evaluation-hand-over.ts';

const DAY = 24 * 60 * 60_000;
const FROM = new Date('2026-03-02T08:00:00Z');
const at = (msAfterFrom: number) => new Date(FROM.getTime() + msAfterFrom);

const untried: JobStanding = { is: 'untried' };
const trying: JobStanding = { is: 'trying' };
const lost: JobStanding = { is: 'lost' };
const finished = (msAfterFrom?: number): JobStanding =>
  msAfterFrom === undefined ? { is: 'finished' } : { is: 'finished', at: at(msAfterFrom) };

const chunks = (...standings: JobStanding[]) => new Map(standings.map((s, n) => [n, s] as const));

describe('decideEvaluationHandOver: the rules', () => {
  it.each([
    ['nothing to do while every job is waiting or running', [untried, trying], FROM, [], [], null],
    ['a lost job is run again and starts the day again', [lost, trying], FROM, [0], [0], null],
    ['a lost job is run again before any day started', [lost], null, [0], [0], null],
    ['a job failed within the day is run again', [finished(DAY - 1)], FROM, [0], [], null],
    ['a job failed before the day started is run again', [finished(-5)], FROM, [0], [], null],
    ['a job finished at a time not known is run again', [finished()], FROM, [0], [], null],
    ['a job finished with no day started is run again', [finished(3 * DAY)], null, [0], [], null],
    ['a job failed exactly a day after the start gives up', [finished(DAY)], FROM, [], [], DAY],
    [
      'a job failed past the day with others running gives up',
      [finished(DAY + 7), trying],
      FROM,
      [],
      [],
      DAY + 7,
    ],
    [
      'give-up counts from the earliest failure past the day',
      [finished(3 * DAY), finished(DAY + 9)],
      FROM,
      [],
      [],
      DAY + 9,
    ],
    ['no give-up while a job is untried', [finished(2 * DAY), untried], FROM, [], [], null],
    [
      'no give-up while a job is lost; only the lost one runs',
      [finished(2 * DAY), lost],
      FROM,
      [1],
      [1],
      null,
    ],
    [
      'no give-up while a job is due; only the due one runs',
      [finished(2 * DAY), finished(10)],
      FROM,
      [1],
      [],
      null,
    ],
    [
      'several due jobs run again in order',
      [finished(10), trying, lost, finished()],
      FROM,
      [0, 2, 3],
      [2],
      null,
    ],
  ] as const)('%s', (_name, standings, retriedFrom, rerun, restartDayWith, giveUpAt) => {
    expect(decideEvaluationHandOver(chunks(...standings), retriedFrom, DAY)).toEqual({
      rerun,
      restartDayWith,
      giveUp: giveUpAt === null ? null : { startedBy: at(giveUpAt - DAY) },
    });
  });

  it('keeps the chunk numbers it was given', () => {
    const standing = new Map<number, JobStanding>([
      [4, trying],
      [7, lost],
      [12, finished(1)],
    ]);
    expect(decideEvaluationHandOver(standing, FROM, DAY)).toEqual({
      rerun: [7, 12],
      restartDayWith: [7],
      giveUp: null,
    });
  });

  it('with no chunks, does nothing', () => {
    expect(decideEvaluationHandOver(new Map(), FROM, DAY)).toEqual({
      rerun: [],
      restartDayWith: [],
      giveUp: null,
    });
  });
});

// Failure times clustered around the day's edges (just before, at and just after the start and the
// end of the day), and anywhere within a few days.
const offsetArb = fc.oneof(
  fc.constantFrom(-1, 0, 1, DAY - 1, DAY, DAY + 1),
  fc.integer({ min: -2 * DAY, max: 3 * DAY }),
);
const standingArb: fc.Arbitrary<JobStanding> = fc.oneof(
  fc.constant(untried),
  fc.constant(trying),
  fc.constant(lost),
  fc.option(offsetArb, { nil: undefined }).map(finished),
);
const caseArb = fc.record({
  standings: fc
    .uniqueArray(fc.integer({ min: 0, max: 40 }), { minLength: 0, maxLength: 6 })
    .chain((ns) =>
      fc
        .array(standingArb, { minLength: ns.length, maxLength: ns.length })
        .map((ss) => new Map(ns.map((n, i) => [n, ss[i]!] as const))),
    ),
  retriedFrom: fc.option(fc.constant(FROM), { nil: null }),
});

// Boundary cases are a few in each hundred: enough runs that a rule off at an edge is found every time.
const RUNS = { numRuns: 2000 };

/** Failed a day or more after the day started, judged here from the standing's own fields. */
const pastDay = (job: JobStanding, retriedFrom: Date | null) =>
  job.is === 'finished' &&
  job.at !== undefined &&
  retriedFrom !== null &&
  job.at.getTime() >= retriedFrom.getTime() + DAY;

describe('decideEvaluationHandOver: properties', () => {
  it('never gives up while any chunk is lost, untried or due to run again', () => {
    fc.assert(
      fc.property(caseArb, ({ standings, retriedFrom }) => {
        const decision = decideEvaluationHandOver(standings, retriedFrom, DAY);
        const blocking = [...standings.values()].some(
          (job) =>
            job.is === 'lost' ||
            job.is === 'untried' ||
            (job.is === 'finished' && !pastDay(job, retriedFrom)),
        );
        if (blocking) expect(decision.giveUp).toBeNull();
        if (decision.giveUp) expect(decision.rerun).toEqual([]);
      }),
      RUNS,
    );
  });

  it('never reruns a trying or untried chunk, and reruns exactly the lost ones and those failed within the day', () => {
    fc.assert(
      fc.property(caseArb, ({ standings, retriedFrom }) => {
        const decision = decideEvaluationHandOver(standings, retriedFrom, DAY);
        for (const chunk of decision.rerun)
          expect(['trying', 'untried']).not.toContain(standings.get(chunk)!.is);
        if (decision.giveUp) return;
        const due = [...standings]
          .filter(([, job]) => job.is === 'lost' || (job.is === 'finished' && !pastDay(job, retriedFrom)))
          .map(([chunk]) => chunk);
        expect(decision.rerun).toEqual(due);
        expect(decision.restartDayWith).toEqual(due.filter((chunk) => standings.get(chunk)!.is === 'lost'));
      }),
      RUNS,
    );
  });

  it('gives up only if some chunk failed a day or more after the window start, the window having started a day before the earliest', () => {
    fc.assert(
      fc.property(caseArb, ({ standings, retriedFrom }) => {
        const decision = decideEvaluationHandOver(standings, retriedFrom, DAY);
        const failures = [...standings.values()]
          .filter((job) => pastDay(job, retriedFrom))
          .map((job) => (job as { at: Date }).at.getTime());
        const onlyRunningOrPast = [...standings.values()].every(
          (job) => job.is === 'trying' || pastDay(job, retriedFrom),
        );
        // Given up exactly when some job failed past the day and every other is running or did too.
        expect(decision.giveUp !== null).toBe(failures.length > 0 && onlyRunningOrPast);
        if (decision.giveUp) {
          expect(decision.giveUp.startedBy.getTime()).toBe(Math.min(...failures) - DAY);
          expect(decision.giveUp.startedBy.getTime()).toBeGreaterThanOrEqual(retriedFrom!.getTime());
          expect(decision.restartDayWith).toEqual([]);
        }
      }),
      RUNS,
    );
  });
});
