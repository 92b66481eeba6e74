import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ALARM_POLICY } from '../../src/domain/escalation/ladder.ts';
import { raiseVisitAlarm } from '../../src/store/alarm-writer.ts';
import { writeFobEvents } from '../../src/store/alarms.ts';
import { departedVisit } from '../helpers/visit-alarm.ts';
import { BACKENDS, type TestStore } from './dp-fixtures.ts';

/**
 * One alarm writer: a fob's alarm and the visit register's alarm are written by the same SQL
 * (`raise_alarms`), so both have the alarm row, one "alarm raised" timeline entry, an audit entry of
 * one shape and a board event; a visit alarm's key raises it once.
 */
describe.each(BACKENDS)('one alarm writer ($name)', ({ open }) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(() => store.close());

  it('writes fob and visit alarms with the same timeline, audit shape and board event', async () => {
    const { db } = store;
    const visit = await departedVisit(db, { staffId: 'st-1' });
    const at = new Date('2026-03-10T10:00:00Z');
    const [fob] = await writeFobEvents(db, [
      {
        schoolId: 'alpha',
        event: {
          deviceId: 'PS-1',
          vendorEventId: 'e-1',
          type: 'sos',
          occurredAt: at.toISOString(),
          receivedAt: at.toISOString(),
          location: null,
          batteryPercent: null,
          message: null,
          voiceNoteUrl: null,
        },
        staffId: 'st-1',
        transport: 'mqtt',
        profile: 'generic',
        raw: '{}',
        contentHash: 'h1',
        claimedDeviceId: null,
        trustIssue: null,
        clockSkewMs: 0,
        isAlarm: true,
        boardPayload: { type: 'sos', deviceId: 'PS-1' },
        policy: DEFAULT_ALARM_POLICY,
      },
    ]);
    const raised = {
      schoolId: 'alpha',
      visitId: visit,
      staffId: 'st-1',
      type: 'overdue',
      dedupKey: `visit:${visit}:overdue`,
      raisedAt: at,
      policy: DEFAULT_ALARM_POLICY,
      what: 'alarm raised: visit overdue',
      actor: 'system:visit-watcher',
    };
    const visitAlarm = await raiseVisitAlarm(db, raised);
    expect(await raiseVisitAlarm(db, raised)).toBeNull(); // once per key

    const ids = [fob!.alarmId!, visitAlarm!.id];
    for (const id of ids) {
      const timeline = await db.query<{ event: string }>(
        'SELECT event FROM alarm_timeline WHERE alarm_id = $1',
        [id],
      );
      expect(timeline.rows.map((r) => r.event)).toEqual([expect.stringMatching(/^alarm raised: /)]);
      const audit = await db.query<{ after: Record<string, unknown> }>(
        `SELECT after FROM audit_log WHERE action = 'alarm.raised' AND entity_id = $1`,
        [id],
      );
      expect(audit.rows).toHaveLength(1);
      expect(audit.rows[0]!.after).toMatchObject({ staff: 'st-1', unknownDevice: false });
      const board = await db.query<{ payload: Record<string, unknown> }>(
        `SELECT payload FROM board_events WHERE type = 'alarm.raised' AND payload->>'alarmId' = $1`,
        [id],
      );
      expect(board.rows).toHaveLength(1);
    }
    expect(visitAlarm!.board.payload).toMatchObject({
      alarmId: visitAlarm!.id,
      type: 'overdue',
      visitId: visit,
    });
    const counts = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM alarms`);
    expect(counts.rows[0]!.n).toBe(2);
  });
});
