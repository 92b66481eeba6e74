import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { handlers } from '../../jobs/index.ts';
import { handleCallKeypress, KEYPRESS_WITHIN_MS } from '../../src/alarms/call-answers.ts';
import { resolveAlarm } from '../../src/alarms/commands.ts';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { MAY_HAVE_BEEN_SENT } from '../../src/domain/escalation/delivery.ts';
import { retryClassOf } from '../../src/errors.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/log/logger.ts';
import { CallChannel } from '../../src/notify/call-channel.ts';
import { recipientKey } from '../../src/notify/http-channels.ts';
import { twilioSignature } from '../../src/notify/twilio-signature.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { WorkerHost } from '../../src/queue/worker-host.ts';
import { readAlarm, timelineOf } from '../../src/store/alarm-state.ts';
import { boardState } from '../../src/store/board-state.ts';
import type { Db } from '../../src/store/db.ts';
import {
  forgetRecipientPlacing,
  recipientReceipts,
  recordRecipientPlacing,
  recordRecipientReceipt,
} from '../../src/store/notify.ts';
import { openStore } from '../../src/store/open.ts';
import { insertUser } from '../../src/store/users.ts';
import { configWith } from '../helpers/config.ts';
import { startFakeTwilio } from '../helpers/fake-twilio.ts';
import { fobEvent } from '../helpers/fob.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { until } from '../helpers/wait.ts';

const TOKEN = 'sms-auth-token-for-calls';
const CALLBACK = 'https://doorstep.example.org/hooks/voice/alpha';
const schema = uniqueName('calls');
const prefix = uniqueName('calls');
const log = createLogger({ level: 'silent' });

/**
 * A Twilio-compatible Calls API as published (https://www.twilio.com/docs/voice/api/call-resource):
 * form-encoded POST to /2010-04-01/Accounts/{AccountSid}/Calls.json with HTTP Basic
 * (AccountSid:AuthToken); `To` and `From` required, exactly one of `Url` and `Twiml` (at most 4,000
 * characters), `StatusCallback` an absolute URL, `Timeout` whole seconds; 201 with the call's `sid`
 * (CA + 32 hex digits).
 */
interface Placed {
  sid: string;
  to: string;
  from: string;
  twiml: string;
  statusCallback: string;
  timeout: string;
  /** When the provider took it (and rang). */
  at: number;
}
const placed: Placed[] = [];
/** How long the provider takes to answer the API for a call it has placed (rung at once): 0 unless set. */
let answerAfterMs: (p: Placed) => number = () => 0;
let fake: Server;
let fakeUrl = '';

async function startFakeCalls(): Promise<void> {
  ({ server: fake, url: fakeUrl } = await startFakeTwilio({
    token: TOKEN,
    handle: ({ resource, form: p, to, from }, answer) => {
      if (resource !== 'Calls') return answer(404, { code: 20404, message: 'not found' });
      const twiml = p.get('Twiml');
      if ((twiml === null) === (p.get('Url') === null))
        return answer(400, { code: 21205, message: 'exactly one of Url or Twiml' });
      if (twiml !== null && (twiml.length > 4000 || !twiml.includes('<Response>')))
        return answer(400, { code: 13201, message: 'invalid TwiML' });
      const cb = p.get('StatusCallback');
      if (!cb || !/^https?:\/\//.test(cb)) return answer(400, { code: 21609, message: 'bad callback' });
      const timeout = p.get('Timeout') ?? '60';
      if (!/^\d+$/.test(timeout)) return answer(400, { code: 21210, message: 'bad timeout' });
      const sid = `CA${randomBytes(16).toString('hex')}`;
      const call = { sid, to, from, twiml: twiml ?? '', statusCallback: cb, timeout, at: Date.now() };
      placed.push(call);
      const after = answerAfterMs(call);
      if (after > 0) setTimeout(() => answer(201, { sid, status: 'queued', to, from }), after);
      else answer(201, { sid, status: 'queued', to, from });
    },
  }));
}

let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let app: FastifyInstance;
let config: DoorstepConfig;
let deps: JobDeps;
let host: WorkerHost<typeof catalog, JobDeps> | undefined;
let headId = '';
let n = 0;

/** Level 1 rings the leaders; level 2 (the board's "call the police") only after 10 minutes. */
function ladderConfig(): DoorstepConfig {
  return configWith({
    env: { SMS_TOKEN: TOKEN },
    school: `    fobs:
      devices: [{ deviceId: PS-0001, staffId: staff-1 }]
    escalation:
      alarm:
        levels:
          - { afterMinutes: 0, notify: [call:leaders] }
          - { afterMinutes: 10, notify: [board], prompt: "Call the police" }
    contacts:
      leaders: [{ name: Head, phone: "+447700900001" }, { name: Deputy, phone: "+447700900002" }]
    channels:
      sms: { baseUrl: "${fakeUrl}", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
      call: { callbackUrl: "${CALLBACK}", ringSeconds: 25 }
`,
  });
}

async function raise(): Promise<string> {
  n++;
  const r = await ingestFobEvent(
    { db, producer, publisher: conn, prefix },
    config.schools[0]!,
    fobEvent(`call-${n}`),
    { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
  );
  return (r as { alarmId: string }).alarmId;
}

/**
 * The calls of an alarm's first level, once both phones were rung and the level's call recorded
 * sent, in the order of the group. (Each phone's id is kept as its answer comes, the call recorded
 * sent only after both: a test that read the call's status or its board card as soon as the ids
 * were there could find it still pending.)
 */
async function callsOf(alarmId: string): Promise<Placed[]> {
  const sids = await until(
    async () => {
      const { rows } = await db.query<{ receipt: string; status: string }>(
        `SELECT r.receipt, n.status FROM notification_recipients r JOIN notifications n ON n.id = r.notification_id
         WHERE n.alarm_id = $1 AND r.receipt LIKE 'CA%'`,
        [alarmId],
      );
      return rows.length === 2 && rows.every((r) => r.status === 'sent') ? rows.map((r) => r.receipt) : null;
    },
    10_000,
    `alarm ${alarmId}'s calls`,
  );
  return placed.filter((p) => sids.includes(p.sid)).sort((a, b) => a.to.localeCompare(b.to));
}

/** The `<Gather action>` the call's TwiML names: where the provider posts the keypress. */
function gatherUrlOf(p: Placed): string {
  const m = /<Gather numDigits="1" action="([^"]+)" method="POST"/.exec(p.twiml);
  return m![1]!.replace(/&amp;/g, '&');
}

/** A callback as the provider posts it, signed as it signs it. */
function callback(url: string, path: string, params: Record<string, string>, sign?: string) {
  return app.inject({
    method: 'POST',
    url: path,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': sign ?? twilioSignature(TOKEN, url, params),
    },
    payload: new URLSearchParams(params).toString(),
  });
}

function keypress(
  p: Placed,
  digits: string,
  opts: { to?: string; sid?: string; sign?: string; gather?: string } = {},
) {
  const params = {
    AccountSid: 'AC1',
    ApiVersion: '2010-04-01',
    CallSid: opts.sid ?? p.sid,
    CallStatus: 'in-progress',
    Called: opts.to ?? p.to,
    Caller: p.from,
    Digits: digits,
    Direction: 'outbound-api',
    From: p.from,
    To: opts.to ?? p.to,
    FinishedOnKey: '',
  };
  // Posted to the URL the call's TwiML names (with its query), signed over it whole.
  const gather = opts.gather ?? gatherUrlOf(p);
  const url = new URL(gather);
  return callback(gather, `${url.pathname}${url.search}`, params, opts.sign);
}

function status(p: Placed, callStatus: string) {
  const params = {
    AccountSid: 'AC1',
    ApiVersion: '2010-04-01',
    CallSid: p.sid,
    CallStatus: callStatus,
    CallDuration: '0',
    Direction: 'outbound-api',
    From: p.from,
    To: p.to,
  };
  return callback(p.statusCallback, '/hooks/voice/alpha/status', params);
}

async function stepsOf(alarmId: string): Promise<string[]> {
  const { rows } = await db.query<{ step: number; target: string; status: string }>(
    'SELECT step, target, status FROM notifications WHERE alarm_id = $1 ORDER BY step, target',
    [alarmId],
  );
  return rows.map((r) => `${r.step} ${r.target} ${r.status}`);
}

async function audits(alarmId: string): Promise<{ action: string; outcome: string }[]> {
  const { rows } = await db.query<{ action: string; after: { outcome: string } }>(
    `SELECT action, after FROM audit_log
     WHERE entity_type = 'alarm' AND entity_id = $1 AND action LIKE 'alarm.call-keypress%' ORDER BY id`,
    [alarmId],
  );
  return rows.map((r) => ({ action: r.action, outcome: r.after.outcome }));
}

beforeAll(async () => {
  await startFakeCalls();
  config = ladderConfig();
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  deps = { db, log, producer, now: () => new Date(), instance: 't', config, publisher: conn };
  headId = await insertUser(db, {
    username: 'head',
    displayName: 'Hana Head',
    passwordHash: 'x',
    roles: ['office'],
    schools: ['alpha'],
    phone: '+447700900001',
  });
  await insertUser(db, {
    username: 'deputy',
    displayName: 'Dev Deputy',
    passwordHash: 'x',
    roles: ['office'],
    schools: ['alpha'],
    phone: '+447700900002',
  });
  await insertUser(db, {
    username: 'worker',
    displayName: 'Wren Worker',
    passwordHash: 'x',
    roles: ['visiting-staff'],
    schools: ['alpha'],
    staffId: 'staff-1',
  });
  app = await buildHttpApp({
    log,
    readiness: [],
    metrics: createMetrics([]),
    queues: [],
    smsWebhook: { config, db, producer, tell: { publisher: conn, prefix } },
  });
  host = new WorkerHost({
    catalog,
    handlers,
    deps,
    roles: ['ingest'],
    redis: { url: TEST_REDIS_URL },
    prefix,
    log,
  });
  host.run();
});
afterAll(async () => {
  await host?.close(1000);
  await app.close();
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
  await new Promise((r) => fake.close(r));
});

describe('a ladder call with a keypress', () => {
  it('rings each phone of the group with TwiML that speaks type, person and time, and listens for 1', async () => {
    const id = await raise();
    const calls = await callsOf(id);
    expect(calls.map((c) => [c.to, c.from, c.timeout, c.statusCallback])).toEqual([
      ['+447700900001', '+447700900999', '25', `${CALLBACK}/status`],
      ['+447700900002', '+447700900999', '25', `${CALLBACK}/status`],
    ]);
    const twiml = calls[0]!.twiml;
    // The keypress URL names the notification and the recipient (by key, never the number).
    expect(gatherUrlOf(calls[0]!)).toMatch(new RegExp(`^${CALLBACK}/gather\\?n=\\d+&r=[0-9a-f]{32}$`));
    expect(gatherUrlOf(calls[0]!)).not.toBe(gatherUrlOf(calls[1]!));
    expect(gatherUrlOf(calls[0]!)).not.toContain('7700');
    expect(twiml).toMatch(
      /<Say language="en-GB">Doorstep alarm at Alpha Primary\. sos alarm from Wren Worker, raised at \d\d:\d\d\. Press 1 to take this alarm\.<\/Say>/,
    );
    expect(await stepsOf(id)).toEqual(['0 call:leaders sent']);
    await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
  });

  it('"1" takes the alarm as the account of the phone that was rung, as the board does; a replay and a second person are refused', async () => {
    const id = await raise();
    const [head, deputy] = await callsOf(id);
    const other = await keypress(head!, '7');
    expect(other.statusCode).toBe(200);
    expect(other.body).toContain('That key does nothing.');
    expect(other.body).toContain(
      `<Gather numDigits="1" action="${gatherUrlOf(head!).replace(/&/g, '&amp;')}"`,
    );
    expect((await readAlarm(db, id))!.status).toBe('open');

    const taken = await keypress(head!, '1');
    expect(taken.statusCode).toBe(200);
    expect(taken.headers['content-type']).toMatch(/^text\/xml/);
    expect(taken.body).toContain('The alarm is yours.');
    const alarm = (await readAlarm(db, id))!;
    expect(alarm.status).toBe('acknowledged');
    const board = await boardState(db, 'alpha', '2026-11-30', new Date(), visitRulesLookup(config)('alpha'));
    const card = board.alarms.find((x) => x.id === id)!;
    expect(card.acknowledgedVia).toBe('call');
    expect((await timelineOf(db, id)).map((t) => [t.event, t.by])).toContainEqual([
      'acknowledged on a ladder call (pressed 1)',
      `user:${headId}`,
    ]);

    const replay = await keypress(head!, '1');
    expect(replay.body).toContain('already taken on this call');
    const second = await keypress(deputy!, '1');
    expect(second.body).toContain('Someone else has already taken this alarm');
    expect(await audits(id)).toEqual([
      { action: 'alarm.call-keypress', outcome: 'take' },
      { action: 'alarm.call-keypress-refused', outcome: 'replay' },
      { action: 'alarm.call-keypress', outcome: 'take' },
    ]);
    // Answered and completed: delivered; the ladder does not move.
    expect((await status(head!, 'completed')).statusCode).toBe(204);
    expect(await stepsOf(id)).toEqual(['0 call:leaders sent']);
    await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
  });

  it('"1" is refused from an account without the board’s roles, and from the wearer’s own phone (audited)', async () => {
    const id = await raise();
    const [head, deputy] = await callsOf(id);
    // The deputy's account holds only visiting-staff; the head is (for this test) the fob's wearer.
    await db.query(`UPDATE users SET roles = '{visiting-staff}' WHERE username = 'deputy'`);
    await db.query(`UPDATE users SET staff_id = NULL WHERE username = 'worker'`);
    await db.query(`UPDATE users SET staff_id = 'staff-1' WHERE username = 'head'`);
    try {
      const deputyKey = await keypress(deputy!, '1');
      expect(deputyKey.body).toContain('only office or safeguarding staff can');
      const headKey = await keypress(head!, '1');
      expect(headKey.body).toContain('This alarm is about you');
      expect((await readAlarm(db, id))!.status).toBe('open');
      expect(await audits(id)).toEqual([
        { action: 'alarm.call-keypress-refused', outcome: 'not-allowed' },
        { action: 'alarm.call-keypress-refused', outcome: 'own-alarm' },
      ]);
    } finally {
      await db.query(`UPDATE users SET roles = '{office}' WHERE username = 'deputy'`);
      await db.query(`UPDATE users SET staff_id = NULL WHERE username = 'head'`);
      await db.query(`UPDATE users SET staff_id = 'staff-1' WHERE username = 'worker'`);
    }
    await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
  });

  it('"1" from a phone two accounts at the school who may answer share is refused: who answered cannot be told', async () => {
    const id = await raise();
    const [head] = await callsOf(id);
    const { rows } = await db.query<{ phone: string }>(`SELECT phone FROM users WHERE username = 'deputy'`);
    await db.query(
      `UPDATE users SET phone = (SELECT phone FROM users WHERE username = 'head') WHERE username = 'deputy'`,
    );
    try {
      const key = await keypress(head!, '1');
      expect(key.body).toContain('This phone is on more than one Doorstep account at the school');
      expect((await readAlarm(db, id))!.status).toBe('open');
      expect(await audits(id)).toEqual([{ action: 'alarm.call-keypress-refused', outcome: 'shared-number' }]);
    } finally {
      await db.query(`UPDATE users SET phone = $1 WHERE username = 'deputy'`, [rows[0]!.phone]);
    }
    await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
  });

  it('never rings the wearer about their own alarm: the head wears the fob, only the deputy is rung', async () => {
    await db.query(`UPDATE users SET staff_id = NULL WHERE username = 'worker'`);
    await db.query(`UPDATE users SET staff_id = 'staff-1' WHERE username = 'head'`);
    try {
      const id = await raise();
      await until(async () => (await stepsOf(id)).includes('0 call:leaders sent'), 10_000, 'the call placed');
      const { rows } = await db.query<{ receipt: string }>(
        `SELECT r.receipt FROM notification_recipients r JOIN notifications n ON n.id = r.notification_id
         WHERE n.alarm_id = $1`,
        [id],
      );
      expect(placed.filter((p) => rows.some((r) => r.receipt === p.sid)).map((p) => p.to)).toEqual([
        '+447700900002',
      ]);
      await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
    } finally {
      await db.query(`UPDATE users SET staff_id = NULL WHERE username = 'head'`);
      await db.query(`UPDATE users SET staff_id = 'staff-1' WHERE username = 'worker'`);
    }
  });

  it('no-answer moves the alarm to its next level at once (the existing fallback), once', async () => {
    const id = await raise();
    const [head, deputy] = await callsOf(id);
    expect((await status(head!, 'ringing')).statusCode).toBe(204); // progress, not news
    expect(await stepsOf(id)).toEqual(['0 call:leaders sent']);
    expect((await status(head!, 'no-answer')).statusCode).toBe(204);
    await until(async () => (await stepsOf(id)).includes('1 board sent'), 25_000, 'level 2');
    expect((await status(deputy!, 'busy')).statusCode).toBe(204);
    expect((await status(head!, 'no-answer')).statusCode).toBe(204); // a replay
    const events = (await timelineOf(db, id)).map((t) => t.event);
    expect(events.filter((e) => e.includes('not delivered'))).toEqual([
      'call:leaders not delivered (call no-answer): the next level now, not at its time',
    ]);
    const board = await boardState(db, 'alpha', '2026-11-30', new Date(), visitRulesLookup(config)('alpha'));
    const card = board.alarms.find((x) => x.id === id)!;
    expect(card.notifications[0]).toMatchObject({ target: 'call:leaders', delivery: 'failed' });
    expect(await stepsOf(id)).toEqual(['0 call:leaders sent', '1 board sent']);
    await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
  });

  it('a call completed with no keypress (a voicemail answered it) is not delivered: the alarm moves on now', async () => {
    const id = await raise();
    const [head] = await callsOf(id);
    expect((await status(head!, 'completed')).statusCode).toBe(204);
    await until(async () => (await stepsOf(id)).includes('1 board sent'), 25_000, 'level 2');
    expect((await timelineOf(db, id)).map((t) => t.event)).toContainEqual(
      'call:leaders not delivered (call answered, not taken (no keypress: a voicemail?)): the next level now, not at its time',
    );
    const board = await boardState(db, 'alpha', '2026-11-30', new Date(), visitRulesLookup(config)('alpha'));
    expect(board.alarms.find((x) => x.id === id)!.notifications[0]).toMatchObject({
      target: 'call:leaders',
      delivery: 'partly-failed', // the head's call not taken; the deputy's not reported yet
    });
    await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
  });

  it('a call placed whose answer was lost ("may have been sent") is taken by its keypress, matched by its signed URL', async () => {
    const id = await raise();
    const [head, deputy] = await callsOf(id);
    // The provider placed both calls, but Doorstep never had the head's id (its answer lost).
    await db.query(
      `UPDATE notification_recipients SET receipt = $2
       WHERE receipt = $1`,
      [head!.sid, MAY_HAVE_BEEN_SENT],
    );
    // Not the number that call rang (the deputy's phone on the head's URL): unknown.
    const wrong = await keypress(head!, '1', { to: deputy!.to });
    expect(wrong.body).toContain('not known to Doorstep');
    expect((await readAlarm(db, id))!.status).toBe('open');
    const taken = await keypress(head!, '1');
    expect(taken.body).toContain('The alarm is yours.');
    expect((await readAlarm(db, id))!.status).toBe('acknowledged');
    expect((await timelineOf(db, id)).map((t) => [t.event, t.by])).toContainEqual([
      'acknowledged on a ladder call (pressed 1)',
      `user:${headId}`,
    ]);
    await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
  });

  it('a call whose callbacks name it by another id than the provider’s answer did is taken by its keypress, matched by its signed URL', async () => {
    const id = await raise();
    const [head, deputy] = await callsOf(id);
    // A compatible provider: the call kept under the id its answer named, its keypress naming another.
    const otherId = `CA${'1'.repeat(32)}`;
    // Not the number that call rang: unknown, whatever the id.
    const wrong = await keypress(head!, '1', { to: deputy!.to, sid: otherId });
    expect(wrong.body).toContain('not known to Doorstep');
    const taken = await keypress(head!, '1', { sid: otherId });
    expect(taken.body).toContain('The alarm is yours.');
    expect((await readAlarm(db, id))!.status).toBe('acknowledged');
    expect((await timelineOf(db, id)).map((t) => [t.event, t.by])).toContainEqual([
      'acknowledged on a ladder call (pressed 1)',
      `user:${headId}`,
    ]);
    // Its "1" counts once, whatever id a replay names.
    expect((await keypress(head!, '1')).body).toContain('already taken on this call');
    expect(await audits(id)).toEqual([
      { action: 'alarm.call-keypress-refused', outcome: 'unknown-call' },
      { action: 'alarm.call-keypress', outcome: 'take' },
      { action: 'alarm.call-keypress-refused', outcome: 'replay' },
    ]);
    await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
  });

  /** The call the provider took for this alarm's first level to this phone (before it answered). */
  async function callTo(alarmId: string, to: string): Promise<Placed> {
    return until(
      async () => {
        const { rows } = await db.query<{ id: string }>('SELECT id FROM notifications WHERE alarm_id = $1', [
          alarmId,
        ]);
        return placed.find((p) => p.to === to && rows.some((r) => gatherUrlOf(p).includes(`?n=${r.id}&`)));
      },
      10_000,
      `the call to ${to}`,
    );
  }

  async function receiptOf(p: Placed): Promise<{ receipt: string; keyed: boolean } | undefined> {
    const q = new URL(gatherUrlOf(p)).searchParams;
    const { rows } = await db.query<{ receipt: string; keyed: boolean }>(
      `SELECT receipt, keypress_at IS NOT NULL AS keyed FROM notification_recipients
       WHERE notification_id = $1 AND recipient_key = $2`,
      [q.get('n'), q.get('r')],
    );
    return rows[0];
  }

  it('"1" pressed while Doorstep still waits for the provider to answer the call request takes the alarm', async () => {
    // The provider rings the head at once, but answers the request for the call only after 11 s
    // (past Doorstep's 10 s: its id is never known); the head presses 1 six seconds in.
    answerAfterMs = (p) => (p.to === '+447700900001' ? 11_000 : 0);
    try {
      const id = await raise();
      const head = await callTo(id, '+447700900001');
      expect(await receiptOf(head)).toEqual({ receipt: 'being placed (no answer yet)', keyed: false });
      await new Promise((r) => setTimeout(r, head.at + 6_000 - Date.now()));
      // Not the number that call rang: unknown, as ever.
      const wrong = await keypress(head, '1', { to: '+447700900002' });
      expect(wrong.body).toContain('not known to Doorstep');
      const taken = await keypress(head, '1');
      expect(taken.body).toContain('The alarm is yours.');
      expect((await readAlarm(db, id))!.status).toBe('acknowledged');
      expect((await timelineOf(db, id)).map((t) => [t.event, t.by])).toContainEqual([
        'acknowledged on a ladder call (pressed 1)',
        `user:${headId}`,
      ]);
      // No answer within 10 s: "may have been sent", its keypress kept; the head is not rung again.
      expect(
        await until(
          async () => (await receiptOf(head))?.receipt === MAY_HAVE_BEEN_SENT && receiptOf(head),
          8_000,
        ),
      ).toEqual({ receipt: MAY_HAVE_BEEN_SENT, keyed: true });
      expect(placed.filter((p) => p.to === head.to && gatherUrlOf(p) === gatherUrlOf(head))).toHaveLength(1);
      await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
    } finally {
      answerAfterMs = () => 0;
    }
  }, 30_000);

  it('a call taken before the provider answered keeps its keypress under the id the answer brings', async () => {
    answerAfterMs = (p) => (p.to === '+447700900001' ? 1_500 : 0);
    try {
      const id = await raise();
      const head = await callTo(id, '+447700900001');
      expect((await keypress(head, '1')).body).toContain('The alarm is yours.');
      expect(
        await until(async () => (await receiptOf(head))?.receipt === head.sid && receiptOf(head)),
      ).toEqual({
        receipt: head.sid,
        keyed: true,
      });
      // Its outcome, by that id: answered and taken, so delivered — never "answered, not taken".
      expect((await status(head, 'completed')).statusCode).toBe(204);
      const { rows } = await db.query<{ delivery: string }>(
        'SELECT delivery FROM notification_recipients WHERE receipt = $1',
        [head.sid],
      );
      expect(rows).toEqual([{ delivery: 'delivered' }]);
      await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
    } finally {
      answerAfterMs = () => 0;
    }
  });

  it('a phone left "being placed" is never rung twice: left alone while a try may be under way, then "may have been sent"', async () => {
    const id = await raise();
    await callsOf(id);
    const { rows } = await db.query<{ id: string }>('SELECT id FROM notifications WHERE alarm_id = $1', [id]);
    const nid = rows[0]!.id;
    const channel = (phone: string) =>
      new CallChannel(
        config.schools[0]!.channels.sms!,
        config.schools[0]!.channels.call!,
        () => [phone],
        async () => ({ schoolName: 'Alpha', personName: null, raisedAt: new Date() }),
        {
          sent: (n) => recipientReceipts(db, n),
          record: (n, k, r) => recordRecipientReceipt(db, n, k, r),
          placing: (n, k) => recordRecipientPlacing(db, n, k),
          forget: (n, k) => forgetRecipientPlacing(db, n, k),
        },
      );
    const notification = {
      id: nid,
      alarmId: id,
      schoolId: 'alpha',
      step: 0,
      target: 'call:leaders',
      alarmType: 'sos',
      deviceId: 'PS-0001',
      staffId: 'staff-1',
    };
    const phone = '+447700900003';
    const key = recipientKey(nid, phone);
    const receipt = async () =>
      (
        await db.query<{ receipt: string }>(
          'SELECT receipt FROM notification_recipients WHERE notification_id = $1 AND recipient_key = $2',
          [nid, key],
        )
      ).rows[0]?.receipt;
    // Another try is asking the provider for it right now: left alone, and retried.
    expect(await recordRecipientPlacing(db, nid, key)).toBe(true);
    const underWay = (await channel(phone)
      .send(notification)
      .catch((e: unknown) => e)) as Error;
    expect(retryClassOf(underWay)).toBe('transient');
    expect(underWay.message).toBe(
      'call: an earlier try asked the provider for it and its answer is not known; it may have been sent, so it is not sent again',
    );
    expect(await receipt()).toBe('being placed (no answer yet)');
    // Still so a minute on: its try stopped without a word (its process ended), so it may have rung.
    await db.query(
      `UPDATE notification_recipients SET sent_at = now() - interval '61 seconds'
       WHERE notification_id = $1 AND recipient_key = $2`,
      [nid, key],
    );
    const left = (await channel(phone)
      .send(notification)
      .catch((e: unknown) => e)) as Error;
    expect(retryClassOf(left)).toBe('permanent');
    expect(left.message).toBe(
      'call: an earlier try had no answer; it may have been sent (no answer), so it is not sent again',
    );
    expect(await receipt()).toBe(MAY_HAVE_BEEN_SENT);
    expect(placed.filter((p) => p.to === phone)).toEqual([]);
    // A request known never made (a number that cannot be dialled, refused) keeps nothing.
    const refused = await channel('not a phone')
      .send(notification)
      .catch((e: unknown) => e);
    expect(retryClassOf(refused)).toBe('permanent');
    const { rows: kept } = await db.query('SELECT 1 FROM notification_recipients WHERE recipient_key = $1', [
      recipientKey(nid, 'not a phone'),
    ]);
    expect(kept).toEqual([]);
    await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
  });

  it('refuses a callback whose signature does not verify, and unknown calls or numbers (audited)', async () => {
    const id = await raise();
    const [head] = await callsOf(id);
    const forged = await keypress(head!, '1', { sign: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' });
    expect(forged.statusCode).toBe(401);
    // Signed for another URL (the SMS inbound one): refused too.
    const params = { CallSid: head!.sid, To: head!.to, Digits: '1' };
    const elsewhere = await callback(
      'https://doorstep.example.org/hooks/sms/alpha',
      '/hooks/voice/alpha/gather',
      params,
    );
    expect(elsewhere.statusCode).toBe(401);
    // A keypress URL naming no call (one placed before URLs named them) is matched by its CallSid only.
    const unknown = await keypress(head!, '1', { sid: `CA${'0'.repeat(32)}`, gather: `${CALLBACK}/gather` });
    expect(unknown.body).toContain('not known to Doorstep');
    // A URL naming a recipient the notification never rang: unknown, whatever its CallSid.
    const unrung = new URL(gatherUrlOf(head!));
    unrung.searchParams.set('r', 'f'.repeat(32));
    expect((await keypress(head!, '1', { gather: unrung.href })).body).toContain('not known to Doorstep');
    // A real call, but a number it did not ring.
    const wrong = await keypress(head!, '1', { to: '+447700900002' });
    expect(wrong.body).toContain('not known to Doorstep');
    expect((await readAlarm(db, id))!.status).toBe('open');
    // The number it did not ring is audited against the call's alarm; the unknown call against none.
    expect(await audits(id)).toEqual([{ action: 'alarm.call-keypress-refused', outcome: 'unknown-call' }]);
    const { rows } = await db.query<{ after: { call: string } }>(
      `SELECT after FROM audit_log WHERE action = 'alarm.call-keypress-refused' AND entity_id = ''`,
    );
    expect(rows.map((r) => r.after.call)).toContain(`CA${'0'.repeat(32)}`);
    // Too long after the call was placed: stale.
    const late = await handleCallKeypress(
      { db, config },
      config.schools[0]!,
      { callSid: head!.sid, to: head!.to, digits: '1' },
      new Date(Date.now() + KEYPRESS_WITHIN_MS + 60_000),
    );
    expect(late).toEqual({ outcome: 'stale', alarmId: id });
    // So too when matched by its URL, whatever id it names.
    const q = new URL(gatherUrlOf(head!)).searchParams;
    const lateByUrl = await handleCallKeypress(
      { db, config },
      config.schools[0]!,
      {
        callSid: `CA${'2'.repeat(32)}`,
        to: head!.to,
        digits: '1',
        placed: { notificationId: q.get('n')!, recipientKey: q.get('r')! },
      },
      new Date(Date.now() + KEYPRESS_WITHIN_MS + 60_000),
    );
    expect(lateByUrl).toEqual({ outcome: 'stale', alarmId: id });
    expect((await readAlarm(db, id))!.status).toBe('open');
    // No school with calls: 404.
    const none = await app.inject({
      method: 'POST',
      url: '/hooks/voice/nowhere/gather',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'CallSid=CA1&To=%2B1&Digits=1',
    });
    expect(none.statusCode).toBe(404);
    await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
  });
});

describe('channels.call settings', () => {
  it('a call needs the SMS account', () => {
    const r = parseConfigText(
      `trust: { id: t, name: T }
schools:
  - id: alpha
    name: Alpha
    mis: { kind: sims-xml, dropFolder: ./x }
    records: { sink: preview }
    policies: [statutory]
    channels:
      call: { callbackUrl: "https://d.example/hooks/voice/alpha" }
`,
      { env: {} },
    );
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.problems.map((p) => `${p.path}: ${p.message}`)).toContainEqual(
        expect.stringMatching(/^schools\[0\]\.channels\.call.*uses the account of channels\.sms/),
      );
  });
});
