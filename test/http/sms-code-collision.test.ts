import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import { MAX_WRONG_CODES } from '../../src/alarms/sms-replies.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/log/logger.ts';
import { smsReplyCode } from '../../src/notify/sms-reply.ts';
import { twilioSignature } from '../../src/notify/twilio-signature.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { fobEvent } from '../helpers/fob.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addUser } from '../helpers/web.ts';

// A reply code is four digits derived from the alarm id: two alarms can share one (1 in 10,000 a
// pair). A reply with a shared code cannot say which alarm it meant.
const TOKEN = 'sms-auth-token-for-tests';
const INBOUND = 'https://doorstep.example.org/hooks/sms/alpha';
const schema = uniqueName('smscollide');
const prefix = uniqueName('smscollide');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let app: FastifyInstance;
const config = configWith({
  env: { SMS_TOKEN: TOKEN },
  school: `    channels:
      sms: { baseUrl: "https://sms.example.test", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999", inboundUrl: "${INBOUND}" }
    fobs:
      devices: [{ deviceId: PS-0001, staffId: staff-17 }, { deviceId: PS-0002, staffId: staff-18 }, { deviceId: PS-0003, staffId: staff-19 }, { deviceId: PS-0004, staffId: staff-20 }]
`,
});
let n = 0;
function reply(from: string, body: string) {
  n++;
  const params = { MessageSid: `SM${n}`, From: from, To: '+447700900999', Body: body };
  return app.inject({
    method: 'POST',
    url: '/hooks/sms/alpha',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilioSignature(TOKEN, INBOUND, params),
    },
    payload: new URLSearchParams(params).toString(),
  });
}
async function textedAlarm(device: string): Promise<string> {
  n++;
  const r = await ingestFobEvent(
    { db, producer, publisher: conn, prefix },
    config.schools[0]!,
    fobEvent(`c-${n}`, { deviceId: device }),
    { transport: 'mqtt', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
  );
  const alarmId = (r as { alarmId: string }).alarmId;
  await db.query(
    `INSERT INTO notifications (alarm_id, step, target, status) VALUES ($1, 0, 'sms:on-call-leaders', 'sent')`,
    [alarmId],
  );
  return alarmId;
}
/** The next alarm (from the id sequence) is given the same code as `id`. */
async function nextAlarmSharesCodeOf(id: string): Promise<string> {
  const code = smsReplyCode(TOKEN, id);
  let b = Number(id) + 1;
  while (smsReplyCode(TOKEN, String(b)) !== code) b++;
  await db.query(`SELECT setval(pg_get_serial_sequence('alarms', 'id'), $1)`, [b - 1]);
  return String(b);
}
const statusOf = async (id: string) =>
  (await db.query<{ status: string }>('SELECT status FROM alarms WHERE id = $1', [id])).rows[0]!.status;
const outcomesOf = async (ids: string[]) =>
  (
    await db.query<{ outcome: string }>(
      `SELECT outcome FROM sms_replies WHERE message_sid = ANY($1::text[]) ORDER BY received_at`,
      [ids],
    )
  ).rows.map((r) => r.outcome);

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  app = await buildHttpApp({
    log: createLogger({ level: 'silent' }),
    readiness: [],
    metrics: createMetrics([]),
    queues: [],
    smsWebhook: { config, db, producer },
  });
  await addUser(db, 'head', ['office'], { phone: '+447700900001', schools: ['alpha'] });
  await addUser(db, 'deputy', ['office'], { phone: '+447700900002', schools: ['alpha'] });
});
afterAll(async () => {
  await app.close();
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

it('two open alarms sharing a code: the reply is told so truthfully, takes neither, and is never a wrong code', async () => {
  const a = await textedAlarm('PS-0001');
  const expected = await nextAlarmSharesCodeOf(a);
  const b = await textedAlarm('PS-0002');
  expect(b).toBe(expected);
  const code = smsReplyCode(TOKEN, a);
  const sids: string[] = [];
  // More replies than the wrong-code lock-out allows: every one is answered the same, none locks out.
  for (let i = 0; i <= MAX_WRONG_CODES; i++) {
    const r = await reply('+447700900001', `1 ${code}`);
    sids.push(`SM${n}`);
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('more than one alarm has that code');
    expect(r.body).not.toContain('no open alarm');
  }
  expect(await outcomesOf(sids)).toEqual(Array(MAX_WRONG_CODES + 1).fill('ambiguous-code'));
  expect([await statusOf(a), await statusOf(b)]).toEqual(['open', 'open']);
  // The same person's reply to a code only one alarm has is still heard.
  const other = await textedAlarm('PS-0003');
  expect((await reply('+447700900001', `1 ${smsReplyCode(TOKEN, other)}`)).body).toContain(
    `alarm #${other} is yours`,
  );
  // Not to share codes with the next test.
  await db.query(
    `UPDATE alarms SET status = 'resolved', resolved_at = now() - interval '2 days' WHERE id = ANY($1::bigint[])`,
    [[a, b, other]],
  );
});

it('a late reply to an alarm closed in the last day never takes an open alarm that shares its code', async () => {
  const closed = await textedAlarm('PS-0001');
  await db.query(`UPDATE alarms SET status = 'resolved', resolved_at = now() WHERE id = $1`, [closed]);
  const expected = await nextAlarmSharesCodeOf(closed);
  const open = await textedAlarm('PS-0004');
  expect(open).toBe(expected);
  const r = await reply('+447700900002', `1 ${smsReplyCode(TOKEN, closed)}`);
  expect(r.body).toContain('more than one alarm has that code');
  expect(await outcomesOf([`SM${n}`])).toEqual(['ambiguous-code']);
  expect(await statusOf(open)).toBe('open');
  // "2 <code>" neither: nothing is closed on a shared code.
  const safe = await reply('+447700900002', `2 ${smsReplyCode(TOKEN, closed)}`);
  expect(safe.body).toContain('more than one alarm has that code');
  expect(await statusOf(open)).toBe('open');
});
