import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { addTimeline } from '../../src/store/alarm-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { fobEvent } from '../helpers/fob.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { runCli, writeTempConfig } from '../helpers/spawn.ts';

const schema = uniqueName('cli_alarm');
const prefix = uniqueName('cli-alarm').replace(/_/g, '-');
const env = { DATABASE_URL: TEST_DATABASE_URL };
const { file: config } = writeTempConfig(`
trust: { id: t, name: T }
redis: { prefix: ${prefix} }
store: { schema: ${schema} }
schools:
  - id: alpha
    name: Alpha
    mis: { kind: csv, dropFolder: ./data/drop/cli-alarm }
    records: { sink: preview }
    policies: [statutory]
    fobs: { devices: [{ deviceId: PS-0001, staffId: staff-17 }] }
`);
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let alarmId: string;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  const school = configWith({ school: '    fobs: { devices: [{ deviceId: PS-0001, staffId: staff-17 }] }' })
    .schools[0]!;
  const r = await ingestFobEvent(
    { db, producer, prefix },
    school,
    fobEvent('cli-1', { type: 'fall', occurredAt: '2025-11-18T10:02:00Z' }),
    { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
  );
  alarmId = (r as { alarmId: string }).alarmId;
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe('doorstep alarm', () => {
  it('lists, acknowledges, refuses a resolution without a valid reason, resolves, and shows the timeline', async () => {
    const list = runCli(['alarm', 'list', '--config', config], env);
    expect((await list.exited).code).toBe(0);
    expect(list.stdout()).toMatch(
      new RegExp(`#${alarmId}  alpha  fall  open  device PS-0001  staff staff-17`),
    );
    const ack = runCli(['alarm', 'ack', alarmId, '--by', 'office:jo', '--config', config], env);
    expect((await ack.exited).code).toBe(0);
    expect(ack.stdout()).toContain(`alarm #${alarmId}: acknowledged`);
    // Where it was taken, as the board card and a subject-access export say it: the terminal.
    const via = await db.query<{ acknowledged_via: string }>(
      'SELECT acknowledged_via FROM alarms WHERE id = $1',
      [alarmId],
    );
    expect(via.rows[0]!.acknowledged_via).toBe('cli');
    const bad = runCli(['alarm', 'resolve', alarmId, '--reason', 'sorted', '--config', config], env);
    expect((await bad.exited).code).toBe(64);
    expect(bad.stderr()).toContain(
      '--reason: expected one of worker_safe_contacted, worker_safe_running_late, test, false_alarm, incident_without_dispatch, incident_with_dispatch',
    );
    const resolve = runCli(
      [
        'alarm',
        'resolve',
        alarmId,
        '--reason',
        'incident_without_dispatch',
        '--by',
        'office:jo',
        '--config',
        config,
      ],
      env,
    );
    expect((await resolve.exited).code).toBe(0);
    expect(resolve.stdout()).toContain('resolved — the incident record is in the outbox');
    // Boards learn of changes made from the terminal too (written with the change, for catch-up).
    const { rows } = await db.query<{ type: string }>(
      `SELECT type FROM board_events WHERE payload->>'alarmId' = $1 ORDER BY id`,
      [alarmId],
    );
    expect(rows.map((r) => r.type)).toEqual(['alarm.raised', 'alarm.acknowledged', 'alarm.resolved']);
    // A line written from staff-typed text: its control characters never reach the terminal.
    await addTimeline(db, alarmId, 'note: Flat 2\u001b]52;c;Y3VybA==\u0007\u001b[2J', 'user:1');
    const show = runCli(['alarm', 'show', alarmId, '--config', config], env);
    expect((await show.exited).code).toBe(0);
    expect(show.stdout()).toMatch(
      /alarm raised: fall\n.*acknowledged \(office:jo\)\n.*resolved as an incident, resolved without police or ambulance \(office:jo\)/,
    );
    expect(show.stdout()).toContain('note: Flat 2\\x1b]52;c;Y3VybA==\\x07\\x1b[2J (user:1)');
    expect(show.stdout()).not.toMatch(/(?![\n\t])\p{Cc}/u);
    // Five CLI processes one after another, each starting Node and opening the store: on a loaded
    // 2-core machine (the full suite beside it) that took past the default 30 s.
  }, 120_000);
});
