import type { Server } from 'node:http';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { escalate } from '../../jobs/escalate.ts';
import { notify } from '../../jobs/notify.ts';
import { acknowledgeAlarm } from '../../src/alarms/commands.ts';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { JobRun } from '../../src/queue/worker-host.ts';
import { reopenTimedOutAcknowledgements } from '../../src/store/alarm-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { startFakeTwilio } from '../helpers/fake-twilio.ts';
import { fobEvent } from '../helpers/fob.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { until } from '../helpers/wait.ts';

/**
 * Found by review: a text withdrawn because the alarm was acknowledged stayed withdrawn when the
 * acknowledgement timed out and the alarm was open again; the ladder resumes at the next step, so the
 * level whose text was withdrawn (here the only one that texts anyone) was never paged. Re-opening
 * now makes the alarm's withdrawn messages pending again, and the watcher sends them.
 */
const TOKEN = 'sms-auth-token-wd-reopen';
const schema = uniqueName('wd_reopen');
const prefix = uniqueName('wd_reopen');
const log = createLogger({ level: 'silent' });

let fake: Server;
let failNext = 0;
const texts: { to: string; body: string }[] = [];
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let config: DoorstepConfig;
let deps: JobDeps;

const run = (attempt: number): JobRun => ({
  id: `wd-reopen-${attempt}`,
  name: 'notify',
  attempt,
  maxAttempts: 6,
  signal: new AbortController().signal,
});

beforeAll(async () => {
  let url = '';
  ({ server: fake, url } = await startFakeTwilio({
    token: TOKEN,
    handle: ({ form, to }, answer) => {
      if (failNext > 0) {
        failNext--;
        return answer(503, { code: 20503, message: 'unavailable' });
      }
      texts.push({ to, body: form.get('Body') ?? '' });
      answer(201, { sid: `SM${String(texts.length).padStart(32, '0')}`, status: 'queued' });
    },
  }));
  config = configWith({
    env: { SMS_TOKEN: TOKEN },
    school: `    escalation:
      alarm:
        reescalateAfterMinutes: 5
        levels:
          - { afterMinutes: 0, notify: [board, sms:leaders] }
          - { afterMinutes: 10, notify: [board] }
    contacts:
      leaders: [{ name: Head, phone: "+447700900001" }]
    channels:
      sms: { baseUrl: "${url}", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
`,
  });
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  deps = { db, log, producer, now: () => new Date(), instance: 't', config, publisher: conn };
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
  fake.close();
});

describe('withdrawn notification and a re-opened alarm', () => {
  it('pages the leaders once the acknowledgement timed out and the alarm is open again', async () => {
    const r = await ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      config.schools[0]!,
      fobEvent('wd-reopen-1'),
      { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
    );
    const alarmId = (r as { alarmId: string }).alarmId;
    failNext = 1;
    await escalate({ alarmId, step: 0 }, run(1), deps);
    const notificationId = await until(async () => {
      const { rows } = await db.query<{ id: string; attempts: number; status: string }>(
        `SELECT id, attempts, status FROM notifications WHERE alarm_id = $1 AND target = 'sms:leaders'`,
        [alarmId],
      );
      const n = rows[0];
      return n && n.attempts >= 1 && n.status === 'pending' ? String(n.id) : null;
    });
    // Someone takes it on the board; the text's retry is withdrawn.
    expect(await acknowledgeAlarm(db, alarmId, 'user:1', new Date())).toBe('acknowledged');
    await notify({ notificationId }, run(2), deps).catch(() => {});
    // ... and then nobody deals with it: the acknowledgement times out, the alarm is open again.
    const later = new Date(Date.now() + 6 * 60_000);
    const reopened = await db.transaction((tx) => reopenTimedOutAcknowledgements(tx, later));
    expect(reopened.map((a) => [a.id, a.resend])).toEqual([[alarmId, [notificationId]]]);
    const { resumeStep } = reopened[0]!;
    // The ladder runs on: its resumed step and two more (the last level repeating).
    for (let s = resumeStep; s < resumeStep + 3; s++)
      await escalate({ alarmId, step: s, reopened: 1 }, run(1), { ...deps, now: () => later });
    const { rows } = await db.query<{ id: string; status: string }>(
      `SELECT id, status FROM notifications WHERE alarm_id = $1 AND target = 'sms:leaders' ORDER BY id`,
      [alarmId],
    );
    for (const n of rows)
      if (n.status === 'pending') await notify({ notificationId: n.id }, run(1), deps).catch(() => {});
    const { rows: all } = await db.query<{ status: string }>(
      `SELECT status FROM notifications WHERE alarm_id = $1 AND target = 'sms:leaders'`,
      [alarmId],
    );
    const { rows: tl } = await db.query<{ event: string }>(
      'SELECT event FROM alarm_timeline WHERE alarm_id = $1 ORDER BY at, id',
      [alarmId],
    );
    // The re-opened ladder did run on (board only): it is not stuck.
    expect(tl.filter((t) => /^level 2/.test(t.event)).length).toBeGreaterThanOrEqual(2);
    // The alarm is open again and its ladder running: the leaders are texted.
    expect(all.map((n) => n.status)).toContain('sent');
    expect(texts.filter((t) => t.to === '+447700900001').length).toBeGreaterThan(0);
  });
});
