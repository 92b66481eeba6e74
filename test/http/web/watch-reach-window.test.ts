import { describe, expect, it } from 'vitest';
import { ladderFor } from '../../../src/alarms/ladder-for.ts';
import { visitRulesLookup } from '../../../src/config/policy-packs.ts';
import { firstLevelOnlyOnBoard } from '../../../src/domain/escalation/delivery.ts';
import type { VisitRules } from '../../../src/domain/visits/rules.ts';
import {
  dueVisitAlarms,
  nextVisitCheck,
  VISIT_WATCH_EVERY_MS,
  VISIT_WATCH_SLACK_MS,
} from '../../../src/domain/visits/watch.ts';
import { catalog } from '../../../src/queue/catalog.ts';
import { visitWatch, WATCH_REACH_HORIZON_MS, watchNow } from '../../../src/visits/watch-reach.ts';
import { visitSchoolsConfig } from '../../helpers/visits.ts';

/**
 * The phone page's "who watches you" (`watchNow`) judges every alarm the watcher may still raise on
 * the ladder the watcher will raise it on: by the moment it raises it, which may be up to the slack
 * after the deadline, and past the overdue time by the check-ins and the silent fob it still watches.
 * Lime Hills: school day 08:00-17:00; out of hours its watch ladders first tell the board (and the
 * worker) alone. Monday 23 November 2026 (London on GMT).
 */
const config = visitSchoolsConfig(`    outOfHoursPhone: "07700 900123"
    escalationHours:
      schoolDay: "08:00-17:00"
      outOfHours: { alarm: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders] }] } }
`);
const lime = config.schools.find((s) => s.id === 'lime')!;
const rules: VisitRules = {
  ...visitRulesLookup(config)('lime'),
  checkInMinutes: 30,
  arrivalCheckInMinutes: undefined,
  overdueGraceMinutes: 0,
  checkInGraceMinutes: 0,
};
const at = (hhmmss: string) => new Date(`2026-11-23T${hhmmss}Z`);
/** A worker who left at 14:00 and arrived at 14:10. */
const out = (v: { expectedReturnAt: Date; lastCheckInAt: Date | null; fobDeviceId?: string | null }) => ({
  departedAt: at('14:00:00'),
  returnedAt: null,
  checkInMinutes: 30,
  arrivedAt: at('14:10:00'),
  fobDeviceId: null,
  ...v,
});
/** Whether the ladder the watcher raises an alarm of `type` on at `raisedAt` first tells the board alone. */
const raisedOnBoardAlone = (type: string, raisedAt: Date) =>
  firstLevelOnlyOnBoard(ladderFor(lime, type, raisedAt));

describe('the phone page judges the ladders of every alarm the watcher may still raise', () => {
  it('past the overdue time (the overdue alarm handled, the worker still out checking in): the next missed check-in', () => {
    // Back by 16:30: the overdue alarm at 16:30 is resolved by the office ("spoke to them") without a
    // new return time; the worker stays out and checks in at 16:45.
    const v = out({ expectedReturnAt: at('16:30:00'), lastCheckInAt: at('16:45:00') });
    const now = at('16:50:00');
    // The watcher's next alarm: the check-in missed at 17:15, on the out-of-hours ladder.
    const next = dueVisitAlarms({ id: 'v', status: 'departed', ...v }, rules, at('17:15:00'));
    expect(next.filter((d) => d.type === 'missed_check_in').map((d) => d.dueAt)).toEqual([at('17:15:00')]);
    expect(raisedOnBoardAlone('missed_check_in', at('17:15:00'))).toBe(true);
    // The page says so at 16:50 (it said "Watched until back safe.").
    expect(watchNow(lime, now, visitWatch(lime, rules, v, now)).watchOnlyOnBoard).toBe(true);
    // In the morning, the same watch is in school hours throughout.
    const morning = out({ expectedReturnAt: at('10:00:00'), lastCheckInAt: at('10:45:00') });
    const at1050 = at('10:50:00');
    expect(watchNow(lime, at1050, visitWatch(lime, rules, morning, at1050)).watchOnlyOnBoard).toBe(false);
  });

  it('after "I am still out" past the worker’s own bound (the return set to now, the check-in clock from now)', () => {
    const now = at('16:50:00');
    const v = out({ expectedReturnAt: now, lastCheckInAt: now });
    expect(nextVisitCheck({ id: 'v', status: 'departed', ...v }, rules, now)).toEqual(at('17:20:00'));
    expect(watchNow(lime, now, visitWatch(lime, rules, v, now)).watchOnlyOnBoard).toBe(true);
  });

  it('past the overdue time: as far as the next check-in and one more interval, plus the slack — and no farther', () => {
    const now = at('16:00:00');
    const watchAt = (lastCheckIn: string) =>
      watchNow(
        lime,
        now,
        visitWatch(
          lime,
          rules,
          out({ expectedReturnAt: at('15:00:00'), lastCheckInAt: at(lastCheckIn) }),
          now,
        ),
      ).watchOnlyOnBoard;
    // Last check-in 15:59: due 16:29, and checked in then, due 16:59 — raised by 17:01, out of hours.
    expect(watchAt('15:59:00')).toBe(true);
    // Last check-in 15:55: due 16:25, then 16:55 — raised by 16:57, in school hours.
    expect(watchAt('15:55:00')).toBe(false);
  });

  it('past the overdue time with a fob: its silence as if heard now, and one more silence after', () => {
    const fobbed = { ...lime, fobs: { ...lime.fobs, silentAlarmMinutes: 30 } };
    const noCheckIns = { ...rules, checkInMinutes: undefined };
    const v = {
      ...out({ expectedReturnAt: at('15:00:00'), lastCheckInAt: null, fobDeviceId: 'fob-1' }),
      checkInMinutes: null,
    };
    // 16:10: heard now, silent by 16:40; heard then, silent by 17:10 — out of hours.
    const t = at('16:10:00');
    expect(visitWatch(fobbed, noCheckIns, v, t)).toMatchObject({ checkIns: false, fobSilent: true });
    expect(raisedOnBoardAlone('device_silent', at('17:10:00'))).toBe(true);
    expect(watchNow(fobbed, t, visitWatch(fobbed, noCheckIns, v, t)).watchOnlyOnBoard).toBe(true);
    // 15:30: silent by 16:00, then by 16:30 — in school hours.
    const t2 = at('15:30:00');
    expect(watchNow(fobbed, t2, visitWatch(fobbed, noCheckIns, v, t2)).watchOnlyOnBoard).toBe(false);
  });

  it('an overdue return due 16:59:50 is raised at the watcher’s next run, 17:00:05, on the out-of-hours ladder: said so', () => {
    const now = at('16:00:00');
    const said = (overdueAt: string) =>
      watchNow(lime, now, { overdueAt: at(overdueAt), checkIns: false, fobSilent: false }).watchOnlyOnBoard;
    expect(raisedOnBoardAlone('overdue_visit', at('17:00:05'))).toBe(true);
    expect(said('16:59:50')).toBe(true);
    // Within the slack of 17:00 (a run missed): still said.
    expect(said('16:58:30')).toBe(true);
    // Raised by 16:59 at the latest: in school hours.
    expect(said('16:57:00')).toBe(false);
  });

  it('a missed check-in due just before the overdue time is judged with the slack too', () => {
    // Back by 16:59:30, checking in: a check-in due 16:59 is raised by 17:01.
    const now = at('16:40:00');
    expect(
      watchNow(lime, now, { overdueAt: at('16:58:30'), checkIns: true, fobSilent: false }).watchOnlyOnBoard,
    ).toBe(true);
  });

  it('the slack covers the watcher’s next run, a run missed and one hung until its timeout', () => {
    expect(VISIT_WATCH_SLACK_MS).toBeGreaterThanOrEqual(
      3 * VISIT_WATCH_EVERY_MS + catalog.jobs['watch-visits'].timeoutMs,
    );
  });

  it('stays bounded: the longest window the config allows is within the horizon', () => {
    // A check-in every 240 minutes plus 60 of grace, last at the departure, 4 h overdue: the widest.
    const wide: VisitRules = { ...rules, checkInMinutes: 240, checkInGraceMinutes: 60 };
    const now = new Date('2026-03-29T00:00:00Z'); // the clocks go forward
    const v = {
      departedAt: now,
      returnedAt: null,
      expectedReturnAt: new Date(now.getTime() - 60_000),
      checkInMinutes: 240,
      arrivedAt: now,
      lastCheckInAt: now,
      fobDeviceId: null,
    };
    const w = visitWatch(lime, wide, v, now);
    expect(w.meanwhileUntil).toEqual(new Date(now.getTime() + 2 * 300 * 60_000));
    expect(w.meanwhileUntil!.getTime() + VISIT_WATCH_SLACK_MS - now.getTime()).toBeLessThan(
      WATCH_REACH_HORIZON_MS,
    );
    // The cost follows from the bound (one period lookup a minute of the window, at most 720); no
    // timing here — speed is measured by benchmarks, never asserted in tests.
    expect(watchNow(lime, now, w).watchOnlyOnBoard).toBeTypeOf('boolean');
  });
});
