import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { fobEvent } from '../helpers/fob.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

/**
 * Group commit on the alarm path (`src/alarms/ingest.ts`): events that arrive together are written
 * in one statement, yet each keeps exactly the outcome it would have had on its own.
 */
const schema = uniqueName('groups');
const prefix = uniqueName('groups');
const school = configWith({
  school: `    fobs:
      devices: [{ deviceId: PS-0001, staffId: staff-1 }]
`,
}).schools[0]!;
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
const source = { transport: 'mqtt' as const, profile: 'peoplesafe-style', raw: Buffer.from('{}') };

/** Counts the statements that write fob events, and how many events each carried. */
function counting(base: Db) {
  const groups: number[] = [];
  const wrapped: Db = {
    ...base,
    query: async (sql, params) => {
      if (sql.includes('write_fob_')) groups.push((JSON.parse(String(params![0])) as unknown[]).length);
      return base.query(sql, params);
    },
  };
  return { db: wrapped, groups };
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

describe('ingest groups', () => {
  it('writes concurrent alarms in fewer statements, each with its own alarm, timeline, audit, board event and job', async () => {
    const { db: counted, groups } = counting(db);
    const deps = { db: counted, producer, publisher: conn, prefix };
    const n = 60;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => ingestFobEvent(deps, school, fobEvent(`grp-${i}`), source)),
    );
    expect(groups.reduce((a, b) => a + b, 0)).toBe(n);
    expect(groups.length).toBeLessThan(n);
    const alarmIds = results.map((r) => (r.outcome === 'accepted' ? r.alarmId : null));
    expect(new Set(alarmIds).size).toBe(n);
    expect(alarmIds.every((id) => id !== null)).toBe(true);
    const { rows } = await db.query<Record<string, number>>(
      `SELECT (SELECT count(*) FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE e.vendor_event_id LIKE 'grp-%')::int AS alarms,
              (SELECT count(*) FROM alarm_timeline t JOIN alarms a ON a.id = t.alarm_id JOIN fob_events e ON e.id = a.fob_event_id WHERE e.vendor_event_id LIKE 'grp-%')::int AS timeline,
              (SELECT count(*) FROM audit_log WHERE action = 'alarm.raised' AND entity_id = ANY($1))::int AS audit,
              (SELECT count(*) FROM board_events WHERE payload->>'alarmId' = ANY($1))::int AS board`,
      [alarmIds],
    );
    expect(rows[0]).toEqual({ alarms: n, timeline: n, audit: n, board: n });
    for (const id of alarmIds)
      expect(await producer.queueFor('escalate').getJob(`escalate-${id}-0`)).toBeDefined();
  });

  it('in one group: an exact repeat is a duplicate of the first, the same id with other content a flagged conflict', async () => {
    const { db: counted, groups } = counting(db);
    const deps = { db: counted, producer, publisher: conn, prefix };
    const first = fobEvent('grp-same', { occurredAt: '2025-11-18T10:02:00Z' });
    const other = fobEvent('grp-same', { occurredAt: '2025-11-18T10:02:00Z', type: 'fall' });
    const [a, b, c] = await Promise.all([
      ingestFobEvent(deps, school, first, source),
      ingestFobEvent(deps, school, first, source),
      ingestFobEvent(deps, school, other, source),
    ]);
    expect(a).toMatchObject({ outcome: 'accepted', idConflict: false });
    expect(b).toEqual({ outcome: 'duplicate', alarmId: (a as { alarmId: string }).alarmId });
    expect(c).toMatchObject({ outcome: 'accepted', idConflict: true });
    expect(groups.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(3);
    const { rows } = await db.query(
      `SELECT e.type, e.id_conflict FROM fob_events e WHERE e.vendor_event_id = 'grp-same' ORDER BY e.id`,
    );
    expect(rows).toEqual([
      { type: 'sos', id_conflict: false },
      { type: 'fall', id_conflict: true },
    ]);
  });

  it('a fob whose clock and counter reset: the same id and 2000-01-01 days later is a new SOS, raised (flagged), not a "duplicate"', async () => {
    const deps = { db, producer, publisher: conn, prefix };
    const reset = (receivedAt: string) =>
      ingestFobEvent(deps, school, fobEvent('1', { occurredAt: '2000-01-01T00:00:00Z', receivedAt }), source);
    const a = await reset('2026-11-23T10:00:00Z');
    // The broker redelivering it a moment later: one alarm.
    expect(await reset('2026-11-23T10:00:01Z')).toEqual({
      outcome: 'duplicate',
      alarmId: (a as { alarmId: string }).alarmId,
    });
    const b = await reset('2026-11-25T15:00:00Z');
    expect(a).toMatchObject({ outcome: 'accepted' });
    expect(b).toMatchObject({ outcome: 'accepted', idConflict: true });
    expect((b as { alarmId: string }).alarmId).not.toBe((a as { alarmId: string }).alarmId);
    // A believable time still tells a redelivery by itself, whenever it comes — also an alarm merely
    // late (held by a fob out of signal, resent after an outage or replayed): never a new alarm.
    const sent = fobEvent('2', { occurredAt: '2026-11-23T09:59:59Z', receivedAt: '2026-11-23T10:00:00Z' });
    const c = await ingestFobEvent(deps, school, sent, source);
    for (const at of [
      '2026-11-23T10:40:00Z',
      '2026-11-23T11:05:00Z',
      '2026-11-23T11:20:00Z',
      '2026-11-26T09:00:00Z',
    ])
      expect(await ingestFobEvent(deps, school, { ...sent, receivedAt: at }, source), at).toEqual({
        outcome: 'duplicate',
        alarmId: (c as { alarmId: string }).alarmId,
      });
  });

  it('one event the database refuses fails alone; the others in its group are written', async () => {
    const refusing: Db = {
      ...db,
      query: async (sql, params) => {
        if (sql.includes('write_fob_') && String(params![0]).includes('grp-bad'))
          throw new Error('refused (simulated)');
        return db.query(sql, params);
      },
    };
    const deps = { db: refusing, producer, publisher: conn, prefix };
    const outcomes = await Promise.allSettled(
      ['grp-ok-1', 'grp-bad', 'grp-ok-2'].map((id) => ingestFobEvent(deps, school, fobEvent(id), source)),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM fob_events WHERE vendor_event_id IN ('grp-ok-1', 'grp-ok-2', 'grp-bad')`,
    );
    expect(rows[0]!.n).toBe(2);
  });

  it('a location or battery report writes its event row only: no alarm, no board event, no job', async () => {
    const deps = { db, producer, publisher: conn, prefix };
    const before = await db.query<{ a: number; b: number; l: number }>(
      `SELECT (SELECT count(*) FROM alarms)::int AS a, (SELECT count(*) FROM board_events)::int AS b, (SELECT count(*) FROM audit_log)::int AS l`,
    );
    const jobs = await producer.queueFor('escalate').count();
    const r = await Promise.all([
      ingestFobEvent(deps, school, fobEvent('grp-batt', { type: 'low_battery', batteryPercent: 9 }), source),
      ingestFobEvent(
        deps,
        school,
        fobEvent('grp-loc', {
          type: 'check_in',
          location: { lat: 51.5, lon: -0.1, accuracyM: 10, fixAt: null },
        }),
        source,
      ),
    ]);
    expect(r.map((x) => x.outcome)).toEqual(['accepted', 'accepted']);
    expect(r.map((x) => (x as { alarmId: string | null }).alarmId)).toEqual([null, null]);
    const after = await db.query(
      `SELECT (SELECT count(*) FROM alarms)::int AS a, (SELECT count(*) FROM board_events)::int AS b, (SELECT count(*) FROM audit_log)::int AS l`,
    );
    expect(after.rows[0]).toEqual(before.rows[0]);
    expect(await producer.queueFor('escalate').count()).toBe(jobs);
    const { rows } = await db.query(
      `SELECT vendor_event_id, battery_percent, location->>'lat' AS lat FROM fob_events WHERE vendor_event_id IN ('grp-batt', 'grp-loc') ORDER BY vendor_event_id`,
    );
    expect(rows).toEqual([
      { vendor_event_id: 'grp-batt', battery_percent: 9, lat: null },
      { vendor_event_id: 'grp-loc', battery_percent: null, lat: '51.5' },
    ]);
  });
});
