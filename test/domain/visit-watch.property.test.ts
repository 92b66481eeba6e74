import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, type LifecycleVisit } from '../../src/domain/visits/lifecycle.ts';
import { MAX_RETURN_AHEAD_MINUTES, returnTimeProblem } from '../../src/domain/visits/return-time.ts';
import { type VisitRules, visitRules } from '../../src/domain/visits/rules.ts';
import {
  checkInStillCounts,
  checkInTaken,
  dueVisitAlarms,
  nextVisitCheck,
  type WatchedVisit,
} from '../../src/domain/visits/watch.ts';

/**
 * Properties of the visit watcher's deadlines (src/domain/visits/watch.ts) over generated packs and
 * generated visits: with and without a check-in interval (the pack's, the visit's or none — most
 * packs watch a worker by the expected return alone), an arrival call or not, any graces, return
 * times anywhere in the 4-hour bound (short ones the clock passes at once), arrivals, check-ins and
 * running late in any order, and a fob or not. The expected deadlines come from a small event model
 * of what the policies say (below), not from the watcher's own arithmetic.
 *
 * The alarms are kept as the register keeps them: each due occurrence raised once (its dedup key),
 * standing until a step stands it down — as the lifecycle says (`decide`'s `clears`: a check-in the
 * missed check-in, running late the overdue alarm) — whoever takes it: the worker, their partner, or
 * the office recording an arrival or a check-in for them (`record-arrival`, `record-check-in`) — or,
 * for a fob check-in held by the fob without signal and delivered later (made before now), as the
 * watcher takes it (`checkInTaken`): standing down each missed check-in the model says it meets (the
 * arrival call's when made at or after it was due, the check-in clock's while it still counts), never
 * one whose deadline is still owed. "Something is due or
 * something will be" is true of any worker past a deadline whatever stands; what watches them is an
 * alarm standing for each deadline passed, and a deadline to come when none has.
 */

const MIN = 60_000;
/** The arrival call's alarm key for visit 7 (one per visit, as the call is owed once). */
const ARRIVAL = 'visit:7:arrival';
const D = Date.UTC(2026, 10, 23, 9, 0);
const LEAD = { id: '1', roles: ['visiting-staff'], positions: [] };
const PEOPLE = {
  lead: LEAD,
  partner: { id: '2', roles: ['visiting-staff'], positions: [] },
  office: { id: '3', roles: ['office'], positions: [] },
};
type Who = keyof typeof PEOPLE;
const whoArb = fc.constantFrom<Who>('lead', 'partner', 'office');

/** The visit as the lifecycle sees it while the worker is out (the fields its steps while out read). */
const outVisit = (arrivedAt: number | null): LifecycleVisit => ({
  status: 'departed',
  leadUserId: LEAD.id,
  partnerUserId: PEOPLE.partner.id,
  requestedBy: LEAD.id,
  departedAt: new Date(D),
  returnedAt: null,
  arrivedAt: arrivedAt === null ? null : new Date(arrivedAt),
  outcomeRecorded: false,
  childSeen: null,
  followUpDone: false,
  hasSafeWord: false,
  agreements: 0,
  doorWaitMinutes: null,
  parentSaidLate: false,
  commute: false,
  commuteApproved: false,
  outOfHoursApproved: false,
  dayPassed: false,
  plannedToday: true,
  recentlyBack: false,
  ownReturnTimeClosed: false,
});

const rulesArb: fc.Arbitrary<VisitRules> = fc
  .record({
    checkInMinutes: fc.option(fc.integer({ min: 5, max: 240 }), { nil: undefined, freq: 2 }),
    arrivalCheckInMinutes: fc.option(fc.integer({ min: 5, max: 240 }), { nil: undefined, freq: 2 }),
    checkInGraceMinutes: fc.integer({ min: 0, max: 60 }),
    overdueGraceMinutes: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 240 })),
  })
  .map((r) =>
    visitRules.parse(Object.fromEntries(Object.entries(r).filter(([, value]) => value !== undefined))),
  );

/** `by`: the worker, their partner, or the office recording it for them after speaking to them. */
type Event =
  | { kind: 'tick'; minutes: number }
  | { kind: 'arrive'; by: Who }
  | { kind: 'check-in'; by: Who }
  | { kind: 'running-late'; minutes: number; by: Who }
  | { kind: 'fob' }
  /**
   * A fob check-in held by the fob without signal and delivered now: pressed `ago` minutes before now,
   * or (`onTheRoad`, where the pack asks for an arrival call) `ago` minutes before that call was due.
   */
  | { kind: 'held-check-in'; ago: number; onTheRoad: boolean };

const eventArb: fc.Arbitrary<Event> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), minutes: fc.integer({ min: 1, max: 90 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('arrive' as const), by: whoArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('check-in' as const), by: whoArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('running-late' as const),
      minutes: fc.integer({ min: 1, max: MAX_RETURN_AHEAD_MINUTES }),
      by: whoArb,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fob' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('held-check-in' as const),
      ago: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 90 })),
      onTheRoad: fc.boolean(),
    }),
  },
);

const departureArb = fc.record({
  rules: rulesArb,
  /** The expected return given at departure: anywhere in the bound, often short. */
  returnIn: fc.oneof(fc.integer({ min: 1, max: 15 }), fc.integer({ min: 1, max: MAX_RETURN_AHEAD_MINUTES })),
  /** The visit's own interval (null: the pack's, if any). */
  every: fc.option(fc.integer({ min: 5, max: 240 }), { nil: null, freq: 2 }),
  fobSilentMinutes: fc.option(fc.integer({ min: 5, max: 120 }), { nil: null, freq: 2 }),
  events: fc.array(eventArb, { maxLength: 25 }),
});

/**
 * What the policies say a worker out is owed, kept as events happen: the overdue alarm at the
 * expected return plus the grace; until they say they have arrived (where the pack asks for that
 * call) the arrival call is due that long after leaving — a check-in before then is no arrival, and
 * leaves it due; one after it answers its alarm, as it answers a missed check-in; a check-in at most
 * every interval from the latest sign of life (the arrival or a check-in;
 * the departure to begin with), once they have arrived or checked in (before it, the arrival call
 * stands in for it).
 */
class Expected {
  readonly rules: VisitRules;
  readonly every: number | null;
  returnAt: number;
  arrivalPending: boolean;
  checkedIn = false;
  lastSign = D;
  fobHeard = D;
  constructor(rules: VisitRules, every: number | null, returnAt: number) {
    this.rules = rules;
    this.every = every;
    this.returnAt = returnAt;
    this.arrivalPending = rules.arrivalCheckInMinutes !== undefined;
  }
  overdueAt() {
    return this.returnAt + this.rules.overdueGraceMinutes * MIN;
  }
  arrivalAt(): number | null {
    if (!this.arrivalPending) return null;
    return D + (this.rules.arrivalCheckInMinutes! + this.rules.checkInGraceMinutes) * MIN;
  }
  checkInAt(): number | null {
    if (this.arrivalPending && !this.checkedIn) return null;
    const every = this.every ?? this.rules.checkInMinutes ?? null;
    return every === null ? null : this.lastSign + (every + this.rules.checkInGraceMinutes) * MIN;
  }
}

describe('the watch on a worker out (pure)', () => {
  it('a worker out is always watched: every deadline falls due exactly when the policy says, never early, never dropped', () => {
    let overdueSeen = 0;
    let overdueOnly = 0;
    let officeCheckInWhileOverdue = 0;
    let checkInSeen = 0;
    let heldOnTheRoad = 0;
    let heldAnswered = 0;
    let heldClockAnswered = 0;
    fc.assert(
      fc.property(departureArb, ({ rules, returnIn, every, fobSilentMinutes, events }) => {
        const exp = new Expected(rules, every, D + returnIn * MIN);
        let now = D;
        let arrivedAt: number | null = null;
        let lastCheckInAt: number | null = null;
        let fobLast: number | null = null;
        /** Alarms raised (by dedup key: each occurrence once) and those still standing, by key: their kind. */
        const raised = new Set<string>();
        const standing = new Map<string, string>();
        /**
         * A step of the worker's, their partner's or the office's (its own action for an arrival or a
         * check-in): the alarms the lifecycle says it stands down are resolved.
         */
        const step = (kind: 'arrive' | 'check-in' | 'running-late', by: Who) => {
          const action =
            by === 'office' && kind !== 'running-late'
              ? kind === 'arrive'
                ? 'record-arrival'
                : 'record-check-in'
              : kind;
          if (by === 'office' && kind === 'check-in' && [...standing.values()].includes('overdue_visit'))
            officeCheckInWhileOverdue++;
          const d = decide(action, outVisit(arrivedAt), PEOPLE[by], rules);
          expect(d.ok, `${by} ${action} refused while out`).toBe(true);
          if (!d.ok) return;
          for (const [key, type] of standing)
            if (d.effect.clears.includes(type as never)) standing.delete(key);
        };
        const visit = (): WatchedVisit => ({
          id: '7',
          status: 'departed',
          departedAt: new Date(D),
          returnedAt: null,
          arrivedAt: arrivedAt === null ? null : new Date(arrivedAt),
          expectedReturnAt: new Date(exp.returnAt),
          lastCheckInAt: lastCheckInAt === null ? null : new Date(lastCheckInAt),
          checkInMinutes: every,
          fob:
            fobSilentMinutes === null
              ? null
              : { lastEventAt: fobLast === null ? null : new Date(fobLast), silentMinutes: fobSilentMinutes },
        });
        const look = () => {
          const v = visit();
          const due = dueVisitAlarms(v, rules, new Date(now));
          const next = nextVisitCheck(v, rules, new Date(now));
          // The watcher's pass: each occurrence due and not raised before is raised, and stands.
          for (const d of due)
            if (!raised.has(d.dedupKey)) {
              raised.add(d.dedupKey);
              standing.set(d.dedupKey, d.type);
            }
          // No alarm stood down while its deadline is still owed: each due occurrence raised stands.
          for (const d of due)
            expect(standing.has(d.dedupKey), `${d.dedupKey} stood down while still owed`).toBe(true);
          // Always watched: past a deadline, an alarm of it stands; with none passed, one is to come.
          for (const d of due)
            expect(
              [...standing.values()],
              `${d.type} due since ${new Date(d.dueAt).toISOString()} with no alarm of it standing`,
            ).toContain(d.type);
          if (due.length === 0) {
            expect(next, 'a worker out with no deadline passed and none to come').not.toBeNull();
            expect(next!.getTime()).toBeGreaterThan(now);
          }
          // Overdue exactly from the expected return plus the grace — whatever else watches them.
          const overdue = due.filter((d) => d.type === 'overdue_visit');
          if (now >= exp.overdueAt()) {
            expect(
              overdue.map((d) => d.dueAt.getTime()),
              'overdue not raised',
            ).toEqual([exp.overdueAt()]);
            overdueSeen++;
            if (exp.checkInAt() === null && exp.arrivalAt() === null && fobSilentMinutes === null)
              overdueOnly++;
          } else {
            expect(overdue, 'overdue raised early').toEqual([]);
            expect(next, 'the overdue deadline is not the next check, nor anything before it').not.toBeNull();
            expect(next!.getTime()).toBeLessThanOrEqual(exp.overdueAt());
          }
          // The arrival call where the pack asks for one, and the check-in clock: each due exactly
          // when the model says, and nothing else of the kind.
          const missed = due.filter((d) => d.type === 'missed_check_in');
          const deadlines = [exp.arrivalAt(), exp.checkInAt()].filter((t) => t !== null);
          expect(
            missed.map((d) => d.dueAt.getTime()).sort((a, b) => a - b),
            'missed check-ins (or the arrival call) raised early, late, or with nothing to miss',
          ).toEqual(deadlines.filter((t) => now >= t).sort((a, b) => a - b));
          if (missed.length) checkInSeen++;
          for (const t of deadlines)
            if (now < t)
              expect(next?.getTime() ?? Infinity, 'a deadline to come not watched').toBeLessThanOrEqual(t);
          // The arrival call is due until an arrival is recorded or a check-in answers it once
          // missed: a check-in on the way there never stands in for it.
          const arrivalDue = due.some((d) => d.dedupKey === ARRIVAL);
          expect(arrivalDue).toBe(exp.arrivalAt() !== null && now >= exp.arrivalAt()!);
          // A silent fob: from its last event (or the departure), the school's set time.
          const silent = due.filter((d) => d.type === 'device_silent');
          if (fobSilentMinutes !== null && now >= exp.fobHeard + fobSilentMinutes * MIN)
            expect(silent.map((d) => d.dueAt.getTime())).toEqual([exp.fobHeard + fobSilentMinutes * MIN]);
          else expect(silent).toEqual([]);
          // The next check is in the future, and no later than the earliest deadline still to come.
          if (next !== null) expect(next.getTime()).toBeGreaterThan(now);
          // Each occurrence once: asking again (a second watcher) names the same alarms.
          expect(dueVisitAlarms(v, rules, new Date(now)).map((d) => d.dedupKey)).toEqual(
            due.map((d) => d.dedupKey),
          );
          expect(new Set(due.map((d) => d.dedupKey)).size).toBe(due.length);
          return due;
        };
        look();
        for (const e of events) {
          if (e.kind === 'tick') now += e.minutes * MIN;
          else if (e.kind === 'arrive' && arrivedAt === null) {
            step('arrive', e.by);
            arrivedAt = now;
            exp.arrivalPending = false;
            exp.lastSign = Math.max(exp.lastSign, now);
          } else if (e.kind === 'check-in') {
            step('check-in', e.by);
            lastCheckInAt = now;
            exp.checkedIn = true;
            exp.lastSign = now;
            // One at or after the arrival call's deadline answers its alarm, raised or not.
            if (exp.arrivalPending && now >= exp.arrivalAt()!) exp.arrivalPending = false;
          } else if (e.kind === 'running-late') {
            const before = look().find((d) => d.type === 'overdue_visit');
            const at = now + e.minutes * MIN;
            expect(returnTimeProblem(new Date(at), new Date(now))).toBeNull();
            step('running-late', e.by);
            exp.returnAt = at;
            // The new time re-arms the overdue alarm: a new occurrence, due at the new time.
            const after = dueVisitAlarms(visit(), rules, new Date(exp.overdueAt()));
            const again = after.find((d) => d.type === 'overdue_visit');
            expect(again?.dueAt.getTime()).toBe(exp.overdueAt());
            if (before && before.dueAt.getTime() !== again!.dueAt.getTime())
              expect(again!.dedupKey).not.toBe(before.dedupKey);
          } else if (e.kind === 'fob') {
            fobLast = now;
            exp.fobHeard = now;
          } else if (e.kind === 'held-check-in') {
            // Pressed before now (never before the departure: the watcher takes none earlier), taken now.
            const arrivalDueAt = rules.arrivalCheckInMinutes
              ? D + (rules.arrivalCheckInMinutes + rules.checkInGraceMinutes) * MIN
              : null;
            const pressed =
              e.onTheRoad && arrivalDueAt !== null ? arrivalDueAt - (e.ago + 1) * MIN : now - e.ago * MIN;
            const at = Math.max(D, Math.min(now, pressed));
            const everyNow = every ?? rules.checkInMinutes ?? null;
            const meetsClock = everyNow === null || at + (everyNow + rules.checkInGraceMinutes) * MIN > now;
            // The model's own word on it, from its times alone (never the watcher's arithmetic): it
            // counts while it meets the check-in clock; counting, it meets the arrival call's deadline
            // if made at or after it (before it, it is no arrival: the call is still owed), and the
            // check-in clock's passed deadline (the clock moves to it, past now).
            const arrivalWasOwed = exp.arrivalAt() !== null && now >= exp.arrivalAt()!;
            const clockWasOwed = exp.checkInAt() !== null && now >= exp.checkInAt()!;
            const meetsArrival = meetsClock && arrivalWasOwed && at >= exp.arrivalAt()!;
            const meetsCheckIn = meetsClock && clockWasOwed;
            const before = [...standing].filter(([, type]) => type === 'missed_check_in').map(([key]) => key);
            const taken = checkInTaken(visit(), new Date(at), rules, new Date(now));
            expect(taken.counts, 'a held check-in counts exactly while it meets the check-in clock').toBe(
              meetsClock,
            );
            // The watcher's pass over it (jobs/watch-visits.ts): the open missed check-ins it does not
            // say are still owed are resolved.
            if (taken.counts) {
              // All it leaves standing is the arrival call's alarm, for one made before that was due.
              for (const d of taken.stillOwed) expect(d.dedupKey).toBe(ARRIVAL);
              lastCheckInAt = Math.max(lastCheckInAt ?? at, at);
              const owed = new Set(taken.stillOwed.map((d) => d.dedupKey));
              for (const [key, type] of standing)
                if (type === 'missed_check_in' && !owed.has(key)) standing.delete(key);
              exp.checkedIn = true;
              exp.lastSign = Math.max(exp.lastSign, at);
              if (meetsArrival) exp.arrivalPending = false;
              // Counting, it starts or moves the check-in clock to a deadline still to come.
              expect(exp.checkInAt() === null || exp.checkInAt()! > now).toBe(true);
            }
            // Each missed check-in standing before it is one the model owed; after it, one it met is
            // answered (no longer standing), and one still owed stands.
            const made = `a held check-in made at +${(at - D) / MIN} min, taken at +${(now - D) / MIN} min`;
            for (const key of before) {
              const wasOwed = key === ARRIVAL ? arrivalWasOwed : clockWasOwed;
              const met = key === ARRIVAL ? meetsArrival : meetsCheckIn;
              expect(wasOwed, `${key} stood with nothing owed`).toBe(true);
              expect(
                standing.has(key),
                met ? `${made} met ${key}: it stands` : `${made} stood down ${key}, still owed`,
              ).toBe(!met);
              if (met && key === ARRIVAL) heldAnswered++;
              if (met && key !== ARRIVAL) heldClockAnswered++;
              if (!met && key === ARRIVAL && meetsClock) heldOnTheRoad++;
            }
          }
          look();
        }
      }),
      { numRuns: 1500 },
    );
    // The runs reached the deadlines (not vacuous), the overdue-only watch among them.
    expect(overdueSeen).toBeGreaterThan(200);
    expect(overdueOnly).toBeGreaterThan(20);
    expect(checkInSeen).toBeGreaterThan(200);
    // Held check-ins reached a standing arrival alarm: made on the road (it stands), and after it was
    // due (answered); and a standing missed check-in on the clock (answered).
    expect(heldOnTheRoad).toBeGreaterThan(3);
    expect(heldAnswered).toBeGreaterThan(3);
    expect(heldClockAnswered).toBeGreaterThan(3);
    // The office checked in for an overdue worker (whose alarm must stand), not only the worker.
    expect(officeCheckInWhileOverdue).toBeGreaterThan(20);
  });

  it('back safe ends the watch for good: nothing is owed or scheduled at any time after', () => {
    fc.assert(
      fc.property(
        departureArb,
        fc.integer({ min: 0, max: 600 }),
        fc.integer({ min: 0, max: 3 * 24 * 60 }),
        ({ rules, returnIn, every, fobSilentMinutes }, backAfter, later) => {
          const v: WatchedVisit = {
            id: '7',
            status: 'returned',
            departedAt: new Date(D),
            returnedAt: new Date(D + backAfter * MIN),
            arrivedAt: null,
            expectedReturnAt: new Date(D + returnIn * MIN),
            lastCheckInAt: null,
            checkInMinutes: every,
            fob: fobSilentMinutes === null ? null : { lastEventAt: null, silentMinutes: fobSilentMinutes },
          };
          const now = new Date(D + (backAfter + later) * MIN);
          expect(dueVisitAlarms(v, rules, now)).toEqual([]);
          expect(nextVisitCheck(v, rules, now)).toBeNull();
          // Not departed: nothing either.
          const notOut = { ...v, departedAt: null, returnedAt: null };
          expect(dueVisitAlarms(notOut, rules, now)).toEqual([]);
          expect(nextVisitCheck(notOut, rules, now)).toBeNull();
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a late-delivered check-in counts exactly when taking it would leave no missed check-in due now', () => {
    fc.assert(
      fc.property(
        rulesArb,
        fc.option(fc.integer({ min: 5, max: 240 }), { nil: null }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 300 }),
        (rules, visitEvery, atAfter, deliveredAfter) => {
          const departedAt = new Date(D);
          const at = new Date(D + atAfter * MIN);
          const now = new Date(at.getTime() + deliveredAfter * MIN);
          // The visit as it would be with the check-in taken (arrived: the arrival call is met).
          const v: WatchedVisit = {
            id: 'v',
            status: 'departed',
            departedAt,
            returnedAt: null,
            arrivedAt: departedAt,
            expectedReturnAt: null,
            lastCheckInAt: at,
            checkInMinutes: visitEvery,
          };
          const missedNow = dueVisitAlarms(v, rules, now).some((d) => d.type === 'missed_check_in');
          expect(checkInStillCounts(at, visitEvery, rules, now)).toBe(!missedNow);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a return time is accepted exactly within the 4-hour bound: in the future and at most 240 minutes on', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 0, 1) }),
        fc.integer({ min: -600 * 60, max: 600 * 60 }),
        (nowMs, seconds) => {
          const problem = returnTimeProblem(new Date(nowMs + seconds * 1000), new Date(nowMs));
          const allowed = seconds > 0 && seconds <= MAX_RETURN_AHEAD_MINUTES * 60;
          expect(problem === null, `${seconds} s ahead: ${problem}`).toBe(allowed);
          if (!allowed) expect(problem).toMatch(/expected a time after/);
        },
      ),
      { numRuns: 1000 },
    );
    expect(MAX_RETURN_AHEAD_MINUTES).toBe(240);
  });
});
