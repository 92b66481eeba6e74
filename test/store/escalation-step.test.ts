import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeEscalationStep } from '../../src/store/alarms.ts';
import { raisedVisitAlarm } from '../helpers/visit-alarm.ts';
import { BACKENDS, type TestStore } from './dp-fixtures.ts';

/**
 * A step is written in one statement only if the alarm still stands where the step was decided: an
 * acknowledgement (or another worker's step) that lands between the read and the write wins, and the
 * step writes nothing.
 */
describe.each(BACKENDS)('an escalation step in one statement ($name)', ({ open }) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(() => store.close());

  it('takes the step once, and not after the alarm moved', async () => {
    const { db } = store;
    const alarm = await raisedVisitAlarm(db);
    const step = (status: string) =>
      takeEscalationStep(db, {
        alarmId: alarm,
        schoolId: 'alpha',
        step: 0,
        status,
        targets: ['board', 'sms:on-call'],
        timeline: 'level 1: notified board, sms:on-call',
        nextStep: 1,
        nextDueAt: new Date(Date.now() + 60_000),
        claimMs: 0,
        claimed: [],
        boardPayload: { alarmId: alarm },
      });
    // Decided while open, but acknowledged before the write: nothing is written.
    await db.query(`UPDATE alarms SET status = 'acknowledged' WHERE id = $1`, [alarm]);
    expect(await step('open')).toEqual({ taken: false, notifications: [], board: null });
    await db.query(`UPDATE alarms SET status = 'open' WHERE id = $1`, [alarm]);
    const first = await step('open');
    expect(first.taken).toBe(true);
    expect(first.notifications.map((n) => n.target).sort()).toEqual(['board', 'sms:on-call']);
    expect(first.board).not.toBeNull();
    // A second worker, or a replay: the alarm is at step 1 now.
    expect((await step('open')).taken).toBe(false);
    const { rows } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM notifications WHERE alarm_id = $1',
      [alarm],
    );
    expect(rows[0]!.n).toBe(2);
    const timeline = await db.query<{ event: string }>(
      'SELECT event FROM alarm_timeline WHERE alarm_id = $1 ORDER BY id',
      [alarm],
    );
    expect(timeline.rows.map((r) => r.event)).toEqual([
      'alarm raised: visit overdue',
      'level 1: notified board, sms:on-call',
    ]);
  });
});
