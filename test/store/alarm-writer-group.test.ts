import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ALARM_POLICY } from '../../src/domain/escalation/ladder.ts';
import { type IngestWrite, writeFobEvents } from '../../src/store/alarms.ts';
import { alarmWrite, fobEvent } from '../helpers/fob.ts';
import { BACKENDS, type TestStore } from './dp-fixtures.ts';

/**
 * The one alarm writer over a whole group, as the alarm path writes them at thousands a second
 * (migration 068: each alarm matched back to its input by hash joins, its audit entry written to the
 * audit tables directly): every input row gets its own alarm, timeline entry, audit entry (with its
 * details, in the group's order) and board event, whether it came from a fob or under a key, and a
 * key raised before or repeated in the group writes nothing more.
 */
const fobWrite = (k: number, at: string): IngestWrite => {
  const type = k % 3 === 0 ? 'fall' : 'sos';
  const deviceId = `PS-${k % 7}`;
  return alarmWrite(fobEvent(`g-${k}`, { deviceId, type, occurredAt: at, receivedAt: at }), {
    staffId: k % 5 === 0 ? null : `st-${k % 7}`,
    contentHash: `h-${k}`,
    trustIssue: k % 4 === 0 ? 'unsigned' : null,
    boardPayload: { type, deviceId, n: k },
  });
};

describe.each(BACKENDS)('one alarm writer, a group at once ($name)', ({ open }) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(() => store.close());

  it('gives each of 150 fob alarms in one statement its own alarm, timeline, audit entry and board event', async () => {
    const { db } = store;
    const at = '2026-03-10T10:00:00.000Z';
    const writes = Array.from({ length: 150 }, (_, k) => fobWrite(k, at));
    const results = await writeFobEvents(db, writes);
    expect(results.every((r) => r.eventId && r.alarmId && r.boardId)).toBe(true);
    expect(new Set(results.map((r) => r.alarmId)).size).toBe(150);

    const { rows } = await db.query<{
      vendor_event_id: string;
      alarm_id: string;
      staff_id: string | null;
      type: string;
      trust_issue: string | null;
      timeline: string[];
      audit: { id: string; actor: string; school_id: string; after: Record<string, unknown> }[];
      board: { id: string; payload: Record<string, unknown> }[];
    }>(
      `SELECT e.vendor_event_id, a.id::text AS alarm_id, a.staff_id, a.type, a.trust_issue,
              (SELECT array_agg(t.event) FROM alarm_timeline t WHERE t.alarm_id = a.id) AS timeline,
              (SELECT json_agg(json_build_object('id', l.id::text, 'actor', l.actor, 'school_id', l.school_id,
                        'after', l.after))
                 FROM audit_log l WHERE l.action = 'alarm.raised' AND l.entity_type = 'alarm'
                  AND l.entity_id = a.id::text) AS audit,
              (SELECT json_agg(json_build_object('id', b.id::text, 'payload', b.payload))
                 FROM board_events b WHERE b.type = 'alarm.raised' AND b.payload->>'alarmId' = a.id::text) AS board
       FROM fob_events e JOIN alarms a ON a.fob_event_id = e.id
       WHERE e.vendor_event_id LIKE 'g-%'`,
    );
    expect(rows).toHaveLength(150);
    const byEvent = new Map(rows.map((r) => [r.vendor_event_id, r]));
    results.forEach((r, k) => {
      const row = byEvent.get(`g-${k}`)!;
      expect(row.alarm_id).toBe(r.alarmId);
      expect(row.timeline).toEqual([
        `alarm raised: ${k % 3 === 0 ? 'fall' : 'sos'}${k % 4 === 0 ? ' (not verified: unsigned)' : ''}`,
      ]);
      expect(row.audit).toHaveLength(1);
      expect(row.audit[0]).toMatchObject({ actor: 'system:fob-ingest', school_id: 'alpha' });
      expect(row.audit[0]!.after).toEqual({
        type: row.type,
        device: `PS-${k % 7}`,
        ...(k % 5 === 0 ? {} : { staff: `st-${k % 7}` }),
        unknownDevice: k % 5 === 0,
        ...(k % 4 === 0 ? { trustIssue: 'unsigned' } : {}),
        claimedDevice: null,
        idConflict: false,
      });
      expect(row.board).toEqual([
        { id: r.boardId, payload: { type: row.type, deviceId: `PS-${k % 7}`, n: k, alarmId: r.alarmId } },
      ]);
    });
    // Every alarm carries its ladder's snapshot (the group's JSON writes a shared ladder once).
    const { rows: policies } = await db.query<{ policy: unknown }>(
      `SELECT DISTINCT a.policy FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id
       WHERE e.vendor_event_id LIKE 'g-%'`,
    );
    expect(policies).toEqual([{ policy: JSON.parse(JSON.stringify(DEFAULT_ALARM_POLICY)) }]);
    // The audit entries were numbered in the group's order, as one by one.
    const auditIds = results.map((r) => Number(byEvent.get(`g-${results.indexOf(r)}`)!.audit[0]!.id));
    expect(auditIds).toEqual([...auditIds].sort((a, b) => a - b));
  });

  it('raises keyed alarms in a group once per key, beside fob alarms, each matched to its own row', async () => {
    const { db } = store;
    const at = '2026-03-11T09:00:00.000Z';
    // A fob event with no alarm of its own (a report), for a keyed alarm that names it.
    const [fob] = await writeFobEvents(db, [{ ...fobWrite(1000, at), isAlarm: false, policy: null }]);
    const keyed = (key: string, extra: Record<string, unknown> = {}) => ({
      school_id: 'alpha',
      dedup_key: key,
      staff_id: 'st-9',
      type: 'overdue',
      raised_at: at,
      policy: DEFAULT_ALARM_POLICY,
      timeline: `alarm raised: ${key}`,
      actor: 'system:visit-watcher',
      board_payload: { key },
      ...extra,
    });
    await db.query('SELECT * FROM raise_alarms($1::jsonb)', [JSON.stringify([keyed('k-before')])]);
    // A key raised before, a key twice in the group, a fresh key, and a key on an alarm that also
    // names a fob event (matched by its fob event, not twice).
    const group = [
      keyed('k-before'),
      keyed('k-new'),
      keyed('k-twice'),
      keyed('k-twice'),
      keyed('k-fob', { fob_event_id: Number(fob!.eventId) }),
    ];
    const { rows } = await db.query<{ i: number; alarm_id: string; board_id: string }>(
      'SELECT i, alarm_id::text, board_id::text FROM raise_alarms($1::jsonb) ORDER BY i',
      [JSON.stringify(group)],
    );
    expect(rows.map((r) => r.i)).toEqual([1, 2, 4]);
    for (const r of rows) {
      const key = group[r.i]!.dedup_key;
      const { rows: a } = await db.query<{
        dedup_key: string;
        timeline: string[];
        audits: number;
        boards: number;
      }>(
        `SELECT a.dedup_key,
                (SELECT array_agg(t.event) FROM alarm_timeline t WHERE t.alarm_id = a.id) AS timeline,
                (SELECT count(*)::int FROM audit_log l WHERE l.entity_id = a.id::text AND l.action = 'alarm.raised'
                    AND l.after->>'key' = a.dedup_key) AS audits,
                (SELECT count(*)::int FROM board_events b WHERE b.id = $2 AND b.payload->>'key' = a.dedup_key
                    AND b.payload->>'alarmId' = a.id::text) AS boards
         FROM alarms a WHERE a.id = $1`,
        [r.alarm_id, r.board_id],
      );
      expect(a).toEqual([{ dedup_key: key, timeline: [`alarm raised: ${key}`], audits: 1, boards: 1 }]);
    }
    const { rows: n } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM alarms WHERE dedup_key IN ('k-before', 'k-new', 'k-twice', 'k-fob')`,
    );
    expect(n[0]!.n).toBe(4);
  });
});
