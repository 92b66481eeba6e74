import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ALARM_POLICY } from '../../src/domain/escalation/ladder.ts';
import { writeFobEvents } from '../../src/store/alarms.ts';
import { alarmWrite, fobEvent } from '../helpers/fob.ts';
import { BACKENDS, type TestStore } from './dp-fixtures.ts';

/**
 * The one alarm writer (`raise_alarms`) over a group where a row is skipped (its fob event or its key
 * was raised before) but shares its key or its fob event with a row that is written: the written
 * alarm's timeline entry, audit entry, board event and result are the written row's own, never the
 * skipped row's — a skipped row writes nothing and returns nothing.
 */
describe.each(BACKENDS)('one alarm writer, a skipped row beside a written one ($name)', ({ open }) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(() => store.close());

  const at = '2026-03-12T09:00:00.000Z';
  const row = (who: string, extra: Record<string, unknown>) => ({
    school_id: 'alpha',
    device_id: 'PS-SKIP',
    staff_id: 'st-1',
    type: 'sos',
    raised_at: at,
    policy: DEFAULT_ALARM_POLICY,
    timeline: `alarm raised: row ${who}`,
    actor: 'system:test',
    board_payload: { who },
    ...extra,
  });
  const storedEvent = async (n: string) => {
    const event = fobEvent(`skip-${n}`, {
      deviceId: 'PS-SKIP',
      type: 'check_in',
      occurredAt: at,
      receivedAt: at,
    });
    const [w] = await writeFobEvents(store.db, [
      alarmWrite(event, { contentHash: `skip-${n}`, isAlarm: false, boardPayload: {}, policy: null }),
    ]);
    return Number(w!.eventId);
  };
  /** What the group wrote: its results, and each written alarm's timeline, audit keys and board rows. */
  const raise = async (group: Record<string, unknown>[]) => {
    const { db } = store;
    const { rows } = await db.query<{
      i: number;
      alarm_id: string;
      board_id: string;
      fob_event_id: string | null;
    }>(
      'SELECT i, alarm_id::text, board_id::text, fob_event_id::text FROM raise_alarms($1::jsonb) ORDER BY i',
      [JSON.stringify(group)],
    );
    const written = await Promise.all(
      rows.map(async (r) => {
        const { rows: a } = await db.query<{
          fob_event_id: string | null;
          dedup_key: string | null;
          timeline: string[];
          audit_keys: (string | null)[];
          boards: { id: string; who: string }[];
        }>(
          `SELECT a.fob_event_id::text, a.dedup_key,
                  (SELECT array_agg(t.event ORDER BY t.id) FROM alarm_timeline t WHERE t.alarm_id = a.id) AS timeline,
                  (SELECT array_agg(l.after->>'key' ORDER BY l.id) FROM audit_log l
                    WHERE l.action = 'alarm.raised' AND l.entity_type = 'alarm' AND l.entity_id = a.id::text) AS audit_keys,
                  (SELECT json_agg(json_build_object('id', b.id::text, 'who', b.payload->>'who') ORDER BY b.id)
                     FROM board_events b WHERE b.type = 'alarm.raised' AND b.payload->>'alarmId' = a.id::text) AS boards
           FROM alarms a WHERE a.id = $1`,
          [r.alarm_id],
        );
        return a[0]!;
      }),
    );
    return { rows, written };
  };

  it('a row skipped for its fob event, sharing its key with the written row, is not matched to it', async () => {
    const raisedBefore = await storedEvent('before');
    const fresh = await storedEvent('fresh');
    await raise([row('earlier', { fob_event_id: raisedBefore })]);

    const { rows, written } = await raise([
      row('B', { fob_event_id: raisedBefore, dedup_key: 'skip-shared' }),
      row('A', { fob_event_id: fresh, dedup_key: 'skip-shared' }),
    ]);
    expect(rows.map((r) => ({ i: r.i, fob_event_id: r.fob_event_id }))).toEqual([
      { i: 1, fob_event_id: String(fresh) },
    ]);
    expect(written).toEqual([
      {
        fob_event_id: String(fresh),
        dedup_key: 'skip-shared',
        timeline: ['alarm raised: row A'],
        audit_keys: ['skip-shared'],
        boards: [{ id: rows[0]!.board_id, who: 'A' }],
      },
    ]);
  });

  it('a row skipped for its key, sharing its fob event with the written row, is not matched to it', async () => {
    const shared = await storedEvent('shared');
    await raise([row('earlier', { dedup_key: 'skip-raised-before' })]);

    const { rows, written } = await raise([
      row('B', { fob_event_id: shared, dedup_key: 'skip-raised-before' }),
      row('A', { fob_event_id: shared, dedup_key: 'skip-fresh' }),
    ]);
    expect(rows.map((r) => ({ i: r.i, fob_event_id: r.fob_event_id }))).toEqual([
      { i: 1, fob_event_id: String(shared) },
    ]);
    expect(written).toEqual([
      {
        fob_event_id: String(shared),
        dedup_key: 'skip-fresh',
        timeline: ['alarm raised: row A'],
        audit_keys: ['skip-fresh'],
        boards: [{ id: rows[0]!.board_id, who: 'A' }],
      },
    ]);
  });
});
