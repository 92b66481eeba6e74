import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { escalate } from '../../jobs/escalate.ts';
import { acceptFobPayload } from '../../src/alarms/accept.ts';
import { ladderFor } from '../../src/alarms/ladder-for.ts';
import { DEFAULT_ALARM_POLICY } from '../../src/domain/escalation/ladder.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { timelineOf } from '../../src/store/alarm-state.ts';
import { raiseVisitAlarm } from '../../src/store/alarm-writer.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { departedVisit } from '../helpers/visit-alarm.ts';

const schema = uniqueName('routing');
const prefix = uniqueName('routing');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
const school = configWith({
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
      devices: [{ deviceId: PS-1, staffId: st-1 }]
    escalation:
      sos: { levels: [{ afterMinutes: 0, notify: [board, sms:office] }] }
    escalationHours:
      schoolDay: "08:00-17:00"
      outOfHours:
        sos: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call] }] }
        alarm: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders] }] }
      weekend:
        sos: { levels: [{ afterMinutes: 0, notify: [board, sms:weekend-duty] }, { afterMinutes: 5, notify: [board, sms:head] }] }
`,
}).schools[0]!;
const transport = school.fobs.transports[0]!;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

async function sos(id: string, receivedAt: string, type = 'SOS') {
  const payload = { event_id: id, device: { id: 'PS-1' }, type, occurred_at: receivedAt };
  const r = await acceptFobPayload(
    { db, producer, prefix },
    school,
    transport,
    Buffer.from(JSON.stringify(payload)),
    {
      receivedAt: new Date(receivedAt),
      source: 'doorstep/alpha/fobs/PS-1/events',
      deviceId: 'PS-1',
      signature: null,
    },
  );
  expect(r).toMatchObject({ outcome: 'accepted' });
  const { rows } = await db.query<{ policy: { period: string; levels: { notify: string[] }[] } }>(
    'SELECT a.policy FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE e.vendor_event_id = $1',
    [id],
  );
  return rows[0]!.policy;
}

describe('the alarm writer snapshots the ladder chosen for the instant it was received', () => {
  it('school hours, out of hours (London time, after the March clock change) and the weekend', async () => {
    // Wednesday 1 April 2026, 07:30 UTC = 08:30 BST: school hours.
    const morning = await sos('r-1', '2026-04-01T07:30:00.000Z');
    expect([morning.period, morning.levels.map((l) => l.notify)]).toEqual([
      'school-hours',
      [['board', 'sms:office']],
    ]);
    // 16:30 UTC = 17:30 BST: out of hours.
    const evening = await sos('r-2', '2026-04-01T16:30:00.000Z');
    expect([evening.period, evening.levels[0]!.notify]).toEqual(['out-of-hours', ['board', 'sms:on-call']]);
    // Saturday 4 April: the weekend ladder, both levels.
    const saturday = await sos('r-3', '2026-04-04T12:00:00.000Z');
    expect([saturday.period, saturday.levels.length]).toEqual(['weekend', 2]);
  });
});

describe('a fob’s own missed check-in', () => {
  it('follows the school’s device ladder for its period, not the visit register’s default (which texts the wearer first)', async () => {
    // School hours: the school gives no `alarm` or `missed-check-in` ladder, so Doorstep's device default.
    const day = await sos('m-1', '2026-04-01T07:30:00.000Z', 'MISSED_CHECK_IN');
    expect([day.period, day.levels.map((l) => l.notify)]).toEqual([
      'school-hours',
      DEFAULT_ALARM_POLICY.levels.map((l) => l.notify),
    ]);
    // Out of hours the period's `alarm` ladder holds for it, as for any device alarm.
    const evening = await sos('m-2', '2026-04-01T16:30:00.000Z', 'MISSED_CHECK_IN');
    expect([evening.period, evening.levels.map((l) => l.notify)]).toEqual([
      'out-of-hours',
      [['board', 'sms:on-call-leaders']],
    ]);
  });
});

describe('a ladder still going after the clock leaves the period it was raised in', () => {
  // Missed check-ins: the office in school hours, on-call leaders out of hours.
  const config = configWith({
    school: `    escalation:
      missed-check-in: { repeat: 1, levels: [{ afterMinutes: 0, notify: [board] }, { afterMinutes: 5, notify: [board, sms:office] }] }
    escalationHours:
      schoolDay: "08:00-17:00"
      outOfHours:
        missed-check-in: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders] }] }
`,
  });
  const alpha = config.schools[0]!;
  const run = { id: 'x', name: 'escalate', attempt: 1, maxAttempts: 1, signal: new AbortController().signal };
  let k = 0;

  /** A missed check-in raised at 16:58 (BST), its ladder standing at `step`; the step taken at `at`. */
  async function stepAt(step: number, at: string, reopened?: number) {
    const raisedAt = new Date('2026-04-01T15:58:00.000Z');
    const visit = await departedVisit(db, { username: `lead-${++k}`, plannedFor: '2026-04-01' });
    const policy = ladderFor(alpha, 'missed_check_in', raisedAt);
    expect(policy.period).toBe('school-hours');
    const alarm = (await raiseVisitAlarm(db, {
      schoolId: 'alpha',
      visitId: visit,
      staffId: null,
      type: 'missed_check_in',
      dedupKey: `v:${visit}:missed`,
      raisedAt,
      policy,
      what: 'alarm raised: check-in missed',
      actor: 'system:test',
    }))!.id;
    await db.query('UPDATE alarms SET escalation_step = $2 WHERE id = $1', [alarm, step]);
    const deps: JobDeps = {
      db,
      log: createLogger({ level: 'silent' }),
      producer,
      now: () => new Date(at),
      instance: 't',
      config,
      publisher: conn,
    };
    await escalate({ alarmId: alarm, step, ...(reopened ? { reopened } : {}) }, run, deps);
    const { rows } = await db.query<{ target: string }>(
      'SELECT target FROM notifications WHERE alarm_id = $1 AND step = $2 ORDER BY target',
      [alarm, step],
    );
    return { targets: rows.map((r) => r.target), timeline: (await timelineOf(db, alarm)).at(-1)!.event };
  }

  it('past its first round at 19:00, each step pages the out-of-hours ladder’s last level as well', async () => {
    const evening = await stepAt(24, '2026-04-01T18:00:00.000Z');
    expect(evening.targets).toEqual(['board', 'sms:office', 'sms:on-call-leaders']);
    expect(evening.timeline).toBe(
      "level 2 (repeat 22): notified board, sms:office, sms:on-call-leaders (out of hours now: also that ladder's last level, sms:on-call-leaders)",
    );
    // Still school hours: the saved ladder alone.
    expect((await stepAt(24, '2026-04-01T15:59:00.000Z')).targets).toEqual(['board', 'sms:office']);
  });

  it('a reopen after the acknowledgement timed out pages them too, even inside the first round', async () => {
    expect((await stepAt(0, '2026-04-01T18:00:00.000Z', 1)).targets).toEqual([
      'board',
      'sms:on-call-leaders',
    ]);
    // The first step of a new alarm is the ladder chosen at its raise.
    expect((await stepAt(0, '2026-04-01T18:00:00.000Z')).targets).toEqual(['board']);
  });
});
