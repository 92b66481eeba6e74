import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acknowledgeAlarm } from '../../src/alarms/commands.ts';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import { handleSmsReply, MAX_WRONG_CODES, MAX_WRONG_CODES_PER_SCHOOL } from '../../src/alarms/sms-replies.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/log/logger.ts';
import { smsReplyCode } from '../../src/notify/sms-reply.ts';
import { twilioSignature } from '../../src/notify/twilio-signature.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { alarmSubjects, isAlarmSubject } from '../../src/store/alarm-lookups.ts';
import { timelineOf } from '../../src/store/alarm-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { fobEvent } from '../helpers/fob.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addUser } from '../helpers/web.ts';

const TOKEN = 'sms-auth-token-for-tests';
const INBOUND = 'https://doorstep.example.org/hooks/sms/alpha';
const schema = uniqueName('smsreply');
const prefix = uniqueName('smsreply');
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
/** An inbound SMS as the provider posts it, signed as it signs it (unless told otherwise). */
function reply(from: string, body: string, opts: { sid?: string; sign?: string } = {}) {
  n++;
  const params = { MessageSid: opts.sid ?? `SM${n}`, From: from, To: '+447700900999', Body: body };
  return app.inject({
    method: 'POST',
    url: '/hooks/sms/alpha',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': opts.sign ?? twilioSignature(TOKEN, INBOUND, params),
    },
    payload: new URLSearchParams(params).toString(),
  });
}

/** An alarm whose ladder texted someone. */
async function textedAlarm(deviceId = 'PS-0001'): Promise<string> {
  n++;
  const r = await ingestFobEvent(
    { db, producer, publisher: conn, prefix },
    config.schools[0]!,
    fobEvent(`sms-${n}`, { deviceId }),
    {
      transport: 'mqtt',
      profile: 'peoplesafe-style',
      raw: Buffer.from('{}'),
    },
  );
  const alarmId = (r as { alarmId: string }).alarmId;
  await db.query(
    `INSERT INTO notifications (alarm_id, step, target, status) VALUES ($1, 0, 'sms:on-call-leaders', 'sent')`,
    [alarmId],
  );
  return alarmId;
}

const statusOf = async (id: string) =>
  (
    await db.query<{ status: string; via: string | null }>(
      'SELECT status, acknowledged_via AS via FROM alarms WHERE id = $1',
      [id],
    )
  ).rows[0]!;

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
  await addUser(db, 'elsewhere', ['office'], { phone: '+447700900002', schools: ['beta'] });
});
afterAll(async () => {
  await app.close();
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe('replies to alarm SMS', () => {
  it('"1 <code>" from an account’s phone takes the alarm as that person (marked SMS); a replay does nothing more', async () => {
    const id = await textedAlarm();
    const code = smsReplyCode(TOKEN, id);
    const r = await reply('+447700900001', `1 ${code}`, { sid: 'SM-take-1' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/xml/);
    expect(r.body).toContain(`alarm #${id} is yours`);
    expect(await statusOf(id)).toEqual({ status: 'acknowledged', via: 'sms' });
    const t = await timelineOf(db, id);
    expect(t.at(-1)).toMatchObject({
      event: 'acknowledged by SMS reply',
      by: expect.stringMatching(/^user:\d+$/),
    });

    const again = await reply('+447700900001', `1 ${code}`, { sid: 'SM-take-1' });
    expect(again.statusCode).toBe(200);
    expect(again.body).not.toContain('<Message>');
    const { rows } = await db.query(
      `SELECT action FROM audit_log WHERE action LIKE 'alarm.sms-reply%' AND entity_id = $1 ORDER BY id`,
      [id],
    );
    expect(rows.map((x) => x.action)).toEqual(['alarm.sms-reply', 'alarm.sms-reply-replayed']);
  });

  it("another school's account given the same number does not stop this school's person taking the alarm; two here who may answer cannot be told apart", async () => {
    // School beta's admin gives an account of theirs alpha's head's number.
    const copy = await addUser(db, 'copycat', ['visiting-staff'], {
      phone: '+44 7700 900001',
      schools: ['beta'],
    });
    const id = await textedAlarm();
    const r = await reply('+447700900001', `1 ${smsReplyCode(TOKEN, id)}`, { sid: 'SM-shared-1' });
    expect(r.body).toContain(`alarm #${id} is yours`);
    expect(await statusOf(id)).toEqual({ status: 'acknowledged', via: 'sms' });
    // A second office account at alpha on the same phone: who replied cannot be told — nothing taken.
    const twin = await addUser(db, 'twin', ['office'], { phone: '+447700900001', schools: ['alpha'] });
    const id2 = await textedAlarm();
    const r2 = await reply('+447700900001', `1 ${smsReplyCode(TOKEN, id2)}`, { sid: 'SM-shared-2' });
    expect(r2.body).toContain('more than one account at the school');
    expect((await statusOf(id2)).status).toBe('open');
    await db.query('UPDATE users SET disabled = true WHERE id = ANY($1::bigint[])', [[copy.id, twin.id]]);
  });

  it('"2 <code>" from the person who took it says the worker is safe: resolved as spoken to, no incident record; the code is then stale', async () => {
    const id = await textedAlarm();
    const code = smsReplyCode(TOKEN, id);
    expect((await reply('+447700900001', `1 ${code}`)).body).toContain(`alarm #${id} is yours`);
    expect((await reply('+447700900001', `2 ${code}`)).body).toContain('the worker is safe');
    const { rows } = await db.query('SELECT status, resolution_reason FROM alarms WHERE id = $1', [id]);
    expect(rows[0]).toEqual({ status: 'resolved', resolution_reason: 'worker_safe_contacted' });
    expect(
      (await db.query(`SELECT 1 FROM outbox WHERE idempotency_key = $1`, [`incident:alpha:${id}`])).rowCount,
    ).toBe(0);
    expect((await reply('+447700900001', `1 ${code}`)).body).toContain(`alarm #${id} is already closed`);
  });

  it('"2 <code>" from anyone but the person who took it closes nothing: an alarm no one holds is taken first; one someone else holds is theirs', async () => {
    await addUser(db, 'other', ['safeguarding'], { phone: '+447700900005', schools: ['alpha'] });
    const id = await textedAlarm();
    const code = smsReplyCode(TOKEN, id);
    // 1 and 2 are neighbours on a keypad: a slip must not stand down an SOS nobody has answered.
    const untaken = await reply('+447700900001', `2 ${code}`);
    expect(untaken.body).toContain(`alarm #${id} is not yours to close: take it first, reply 1 ${code}`);
    expect(await statusOf(id)).toEqual({ status: 'open', via: null });
    expect((await reply('+447700900005', `1 ${code}`)).body).toContain(`alarm #${id} is yours`);
    expect((await reply('+447700900001', `2 ${code}`)).body).toContain('already taken by someone else');
    expect((await statusOf(id)).status).toBe('acknowledged');
    // Neither is a wrong code.
    const { rows } = await db.query<{ outcome: string }>(
      `SELECT outcome FROM sms_replies WHERE alarm_id = $1 ORDER BY received_at, message_sid`,
      [id],
    );
    expect(rows.map((r) => r.outcome).sort()).toEqual(['already-taken', 'take-first', 'taken']);
    expect((await reply('+447700900005', `2 ${code}`)).body).toContain('the worker is safe');
    expect((await statusOf(id)).status).toBe('resolved');
  });

  it('late replies with the codes of alarms closed meanwhile are answered "already closed", never counted as wrong codes', async () => {
    await addUser(db, 'late', ['office'], { phone: '+447700900004', schools: ['alpha'] });
    const now = hoursOn(12);
    // A burst of false alarms, closed on the board before the texts were answered.
    const closed: string[] = [];
    for (let i = 0; i <= MAX_WRONG_CODES; i++) closed.push(await textedAlarm());
    await db.query(`UPDATE alarms SET status = 'resolved', resolved_at = $2 WHERE id = ANY($1::bigint[])`, [
      closed,
      now,
    ]);
    for (const [i, id] of closed.entries()) {
      const r = await handleSmsReply(
        { db, config },
        config.schools[0]!,
        { messageSid: `SM-late-${i}`, from: '+447700900004', body: `1 ${smsReplyCode(TOKEN, id)}` },
        now,
      );
      expect(r).toMatchObject({ outcome: 'already-resolved', alarmId: id });
      expect(r.answer).toContain(`alarm #${id} is already closed`);
    }
    // A real SOS next: its code is heard from the same phone.
    const real = await textedAlarm();
    const taken = await handleSmsReply(
      { db, config },
      config.schools[0]!,
      { messageSid: 'SM-late-real', from: '+447700900004', body: `1 ${smsReplyCode(TOKEN, real)}` },
      now,
    );
    expect(taken.outcome).toBe('taken');
    // A day after its alarm closed a code is forgotten: a wrong code again.
    const dayOn = new Date(now.getTime() + 25 * 3600_000);
    const stale = await handleSmsReply(
      { db, config },
      config.schools[0]!,
      { messageSid: 'SM-late-stale', from: '+447700900004', body: `1 ${smsReplyCode(TOKEN, closed[0]!)}` },
      dayOn,
    );
    expect(stale.outcome).toBe('no-such-alarm');
    // Not to count in the later tests' windows (a count has no upper bound in time).
    await db.query(`DELETE FROM sms_replies WHERE message_sid = 'SM-late-stale'`);
  });

  it('refuses a forged signature, an unknown number, another school’s person, a wrong code and nonsense — changing nothing', async () => {
    const id = await textedAlarm();
    const code = smsReplyCode(TOKEN, id);
    const forged = await reply('+447700900001', `1 ${code}`, { sign: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' });
    expect(forged.statusCode).toBe(401);
    expect((await reply('+447700900777', `1 ${code}`)).body).toContain('not on a Doorstep account');
    expect((await reply('+447700900002', `1 ${code}`)).body).toContain('not at your school');
    const wrong = code === '0000' ? '0001' : '0000';
    expect((await reply('+447700900001', `1 ${wrong}`)).body).toContain('no open alarm has that code');
    expect((await reply('+447700900001', 'ok thanks')).body).toContain('reply 1 and the code');
    expect(await statusOf(id)).toEqual({ status: 'open', via: null });
    const { rows } = await db.query<{ outcome: string }>(
      `SELECT outcome FROM sms_replies WHERE school_id = 'alpha' ORDER BY received_at, message_sid`,
    );
    expect(rows.map((r) => r.outcome)).toEqual(
      expect.arrayContaining(['unknown-number', 'not-your-school', 'no-such-alarm', 'not-understood']),
    );
    // No phone number is kept.
    const { rows: all } = await db.query<{ sender_hash: string }>('SELECT sender_hash FROM sms_replies');
    expect(all.every((r) => !r.sender_hash.includes('7700'))).toBe(true);
  });

  it('after five wrong codes in an hour a number is not heard — not even with the right code', async () => {
    await addUser(db, 'guesser', ['office'], { phone: '+447700900003', schools: ['alpha'] });
    const id = await textedAlarm();
    const code = smsReplyCode(TOKEN, id);
    const wrong = (i: number) => String((Number(code) + 1 + i) % 10_000).padStart(4, '0');
    for (let i = 0; i < 5; i++)
      expect((await reply('+447700900003', `2 ${wrong(i)}`)).body).toContain('no open alarm has that code');
    expect((await reply('+447700900003', `2 ${code}`)).body).toContain('too many wrong codes');
    expect(await statusOf(id)).toEqual({ status: 'open', via: null });
    // Another person's phone is heard as before.
    expect((await reply('+447700900001', `1 ${code}`)).body).toContain(`alarm #${id} is yours`);
  });

  it('after twenty wrong codes at one school in an hour, from whatever numbers, no code reply there is acted on', async () => {
    const id = await textedAlarm();
    const code = smsReplyCode(TOKEN, id);
    const wrong = (i: number) => String((Number(code) + 1 + i) % 10_000).padStart(4, '0');
    // Five numbers (spoofed staff numbers, say), four guesses each: none is over its own limit.
    for (let p = 0; p < 5; p++) {
      await addUser(db, `spoofed-${p}`, ['office'], { phone: `+44770090010${p}`, schools: ['alpha'] });
      for (let i = 0; i < 4; i++) await reply(`+44770090010${p}`, `2 ${wrong(p * 4 + i)}`);
    }
    expect((await reply('+447700900001', `2 ${code}`)).body).toContain('too many wrong codes');
    expect((await statusOf(id)).status).not.toBe('resolved');
  });
});

/** Four-digit codes no alarm of the school has, open or closed (a guess that is sure to be wrong). */
async function wrongCodes(count: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM alarms');
  const taken = new Set(rows.map((r) => smsReplyCode(TOKEN, String(r.id))));
  const codes: string[] = [];
  for (let i = 0; codes.length < count; i++) {
    const c = String(i).padStart(4, '0');
    if (!taken.has(c)) codes.push(c);
  }
  return codes;
}

// Each at an hour of its own, past the windows of the tests above and of each other.
const hoursOn = (h: number) => new Date(Date.now() + h * 3600_000);

describe('replies that arrive together', () => {
  it('a burst of guesses from one number is bounded exactly like guesses one at a time', async () => {
    const id = await textedAlarm();
    const now = hoursOn(3);
    const outcomes = await Promise.all(
      (await wrongCodes(40)).map((c, i) =>
        handleSmsReply(
          { db, config },
          config.schools[0]!,
          { messageSid: `SM-burst-${i}`, from: '+447700900001', body: `2 ${c}` },
          now,
        ),
      ),
    );
    const judged = outcomes.filter((o) => o.outcome === 'no-such-alarm');
    expect(judged).toHaveLength(MAX_WRONG_CODES);
    expect(outcomes.filter((o) => o.outcome === 'too-many-wrong-codes')).toHaveLength(40 - MAX_WRONG_CODES);
    // The right code, after the burst: not heard either.
    const right = await handleSmsReply(
      { db, config },
      config.schools[0]!,
      { messageSid: 'SM-burst-right', from: '+447700900001', body: `2 ${smsReplyCode(TOKEN, id)}` },
      now,
    );
    expect(right.outcome).toBe('too-many-wrong-codes');
    expect(await statusOf(id)).toEqual({ status: 'open', via: null });
  });

  it('a burst from many numbers is bounded by the school’s limit', async () => {
    const now = hoursOn(6);
    const codes = await wrongCodes(40);
    const senders = Array.from({ length: 8 }, (_, p) => `+44770090020${p}`);
    for (const [p, phone] of senders.entries())
      await addUser(db, `burst-${p}`, ['office'], { phone, schools: ['alpha'] });
    const outcomes = await Promise.all(
      codes.map((c, i) =>
        handleSmsReply(
          { db, config },
          config.schools[0]!,
          { messageSid: `SM-school-burst-${i}`, from: senders[i % senders.length]!, body: `1 ${c}` },
          now,
        ),
      ),
    );
    expect(outcomes.filter((o) => o.outcome === 'no-such-alarm')).toHaveLength(MAX_WRONG_CODES_PER_SCHOOL);
  });
});

/**
 * The store, with `between` run once right after the first transaction commits — for a reply, the one
 * that judged it — and before anything acts on that judgement.
 */
function afterJudging(between: () => Promise<void>): Db {
  let done = false;
  return new Proxy(db, {
    get(target, key, receiver) {
      if (key === 'transaction')
        return async (fn: Parameters<Db['transaction']>[0]) => {
          const out = await target.transaction(fn);
          if (!done) {
            done = true;
            await between();
          }
          return out;
        };
      const v = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe('"2 <code>" from someone whose hold lapsed or passed on after the reply was judged', () => {
  // What the ack timeout does when an acknowledged alarm's worker is still not known to be safe.
  const reopen = (id: string) =>
    db.query(
      `UPDATE alarms SET status = 'open', acknowledged_at = NULL, acknowledged_by = NULL WHERE id = $1`,
      [id],
    );
  // An hour of their own, past the wrong-code windows of the tests above.
  const now = hoursOn(15);
  const sms = (sid: string, body: string) => ({ messageSid: sid, from: '+447700900001', body });
  const take = async (id: string, code: string) =>
    expect(
      (await handleSmsReply({ db, config }, config.schools[0]!, sms(`SM-take-${id}`, `1 ${code}`), now))
        .outcome,
    ).toBe('taken');

  it('someone else took it from the board meanwhile: nothing is closed, and the sender is told it is theirs', async () => {
    const other = await addUser(db, 'board.taker', ['safeguarding'], { schools: ['alpha'] });
    const id = await textedAlarm();
    const code = smsReplyCode(TOKEN, id);
    await take(id, code);
    const racing = afterJudging(async () => {
      await reopen(id);
      expect(await acknowledgeAlarm(db, id, `user:${other.id}`, now)).toBe('acknowledged');
    });
    const r = await handleSmsReply(
      { db: racing, config },
      config.schools[0]!,
      sms('SM-lapsed-1', `2 ${code}`),
      now,
    );
    expect(r.outcome).toBe('already-taken');
    expect(r.answer).toContain('already taken by someone else');
    const { rows } = await db.query('SELECT status, acknowledged_by FROM alarms WHERE id = $1', [id]);
    expect(rows[0]).toEqual({ status: 'acknowledged', acknowledged_by: `user:${other.id}` });
    const recorded = await db.query('SELECT outcome FROM sms_replies WHERE message_sid = $1', [
      'SM-lapsed-1',
    ]);
    expect(recorded.rows[0]).toEqual({ outcome: 'already-taken' });
  });

  it('its acknowledgement timed out meanwhile (open again, held by no one): nothing is closed, take it first', async () => {
    const id = await textedAlarm();
    const code = smsReplyCode(TOKEN, id);
    await take(id, code);
    const racing = afterJudging(() => reopen(id).then(() => undefined));
    const r = await handleSmsReply(
      { db: racing, config },
      config.schools[0]!,
      sms('SM-lapsed-2', `2 ${code}`),
      now,
    );
    expect(r.outcome).toBe('take-first');
    expect(r.answer).toContain(`alarm #${id} is not yours to close: take it first`);
    expect((await statusOf(id)).status).toBe('open');
  });
});

describe('who may answer an alarm from a phone', () => {
  beforeAll(async () => {
    await addUser(db, 'visitor', ['visiting-staff'], { phone: '+447700900301', schools: ['alpha'] });
    await addUser(db, 'data', ['data-manager'], { phone: '+447700900302', schools: ['alpha'] });
    // The wearer of PS-0001 (staff-17), who works in the office too.
    await addUser(db, 'wearer', ['office', 'visiting-staff'], {
      phone: '+447700900303',
      staffId: 'staff-17',
      schools: ['alpha'],
    });
    await addUser(db, 'dsl', ['safeguarding'], { phone: '+447700900304', schools: ['alpha'] });
  });

  it('an account without the board’s roles (office, safeguarding) takes and closes nothing, right code or not', async () => {
    const id = await textedAlarm();
    const code = smsReplyCode(TOKEN, id);
    const now = hoursOn(9);
    for (const [from, sid] of [
      ['+447700900301', 'SM-visitor'],
      ['+447700900302', 'SM-data'],
    ] as const) {
      for (const action of ['1', '2']) {
        const r = await handleSmsReply(
          { db, config },
          config.schools[0]!,
          { messageSid: `${sid}-${action}`, from, body: `${action} ${code}` },
          now,
        );
        expect(r.outcome).toBe('not-allowed');
        expect(r.answer).toContain('use the board');
      }
    }
    expect(await statusOf(id)).toEqual({ status: 'open', via: null });
    // Safeguarding may, as on the board.
    const dsl = await handleSmsReply(
      { db, config },
      config.schools[0]!,
      { messageSid: 'SM-dsl', from: '+447700900304', body: `1 ${code}` },
      now,
    );
    expect(dsl.outcome).toBe('taken');
  });

  it('the wearer’s phone cannot close (or take) their own alarm, even with the right code and an office role', async () => {
    const id = await textedAlarm();
    const code = smsReplyCode(TOKEN, id);
    const now = hoursOn(9);
    for (const action of ['2', '1']) {
      const r = await handleSmsReply(
        { db, config },
        config.schools[0]!,
        { messageSid: `SM-wearer-${action}`, from: '+447700900303', body: `${action} ${code}` },
        now,
      );
      expect(r).toMatchObject({ outcome: 'own-alarm', alarmId: id });
    }
    const { rows } = await db.query('SELECT status, resolution_reason FROM alarms WHERE id = $1', [id]);
    expect(rows[0]).toEqual({ status: 'open', resolution_reason: null });
    // No alarm text goes to them: the channels ask for these people.
    expect((await alarmSubjects(db, id)).phones).toEqual(['+447700900303']);
    // A staff id is a person only within a school: an account elsewhere carrying the same id is not
    // what this alarm is about.
    const { rows: wearer } = await db.query<{ staff_id: string }>(
      'SELECT staff_id FROM alarms WHERE id = $1',
      [id],
    );
    const other = await addUser(db, 'same-id-elsewhere', ['office'], { schools: ['beta'] });
    expect(await isAlarmSubject(db, id, { id: other.id, staffId: wearer[0]!.staff_id })).toBe(false);
  });
});

// A reply code is four digits derived from the alarm id: two alarms can share one (1 in 10,000 a
// pair). A reply with a shared code cannot say which alarm it meant.
describe('a reply code more than one alarm has', () => {
  /** The next alarm (from the id sequence) is given the same code as `id`. */
  async function nextAlarmSharesCodeOf(id: string): Promise<string> {
    const code = smsReplyCode(TOKEN, id);
    let b = Number(id) + 1;
    while (smsReplyCode(TOKEN, String(b)) !== code) b++;
    await db.query(`SELECT setval(pg_get_serial_sequence('alarms', 'id'), $1)`, [b - 1]);
    return String(b);
  }
  beforeAll(async () => {
    // People of their own, and the wrong codes of the tests above (which lock numbers and the
    // school out for an hour) forgotten: these replies are judged on their codes alone.
    await addUser(db, 'collide.head', ['office'], { phone: '+447700900021', schools: ['alpha'] });
    await addUser(db, 'collide.deputy', ['office'], { phone: '+447700900022', schools: ['alpha'] });
    await db.query(`DELETE FROM sms_replies`);
  });
  const outcomesOf = async (ids: string[]) =>
    (
      await db.query<{ outcome: string }>(
        `SELECT outcome FROM sms_replies WHERE message_sid = ANY($1::text[]) ORDER BY received_at`,
        [ids],
      )
    ).rows.map((r) => r.outcome);

  it('two open alarms sharing a code: the reply is told so truthfully, takes neither, and is never a wrong code', async () => {
    const a = await textedAlarm('PS-0001');
    const expected = await nextAlarmSharesCodeOf(a);
    const b = await textedAlarm('PS-0002');
    expect(b).toBe(expected);
    const code = smsReplyCode(TOKEN, a);
    const sids: string[] = [];
    // More replies than the wrong-code lock-out allows: every one is answered the same, none locks out.
    for (let i = 0; i <= MAX_WRONG_CODES; i++) {
      const r = await reply('+447700900021', `1 ${code}`);
      sids.push(`SM${n}`);
      expect(r.statusCode).toBe(200);
      expect(r.body).toContain('more than one alarm has that code');
      expect(r.body).not.toContain('no open alarm');
    }
    expect(await outcomesOf(sids)).toEqual(Array(MAX_WRONG_CODES + 1).fill('ambiguous-code'));
    expect([(await statusOf(a)).status, (await statusOf(b)).status]).toEqual(['open', 'open']);
    // The same person's reply to a code only one alarm has is still heard.
    const other = await textedAlarm('PS-0003');
    expect((await reply('+447700900021', `1 ${smsReplyCode(TOKEN, other)}`)).body).toContain(
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
    const r = await reply('+447700900022', `1 ${smsReplyCode(TOKEN, closed)}`);
    expect(r.body).toContain('more than one alarm has that code');
    expect(await outcomesOf([`SM${n}`])).toEqual(['ambiguous-code']);
    expect((await statusOf(open)).status).toBe('open');
    // "2 <code>" neither: nothing is closed on a shared code.
    const safe = await reply('+447700900022', `2 ${smsReplyCode(TOKEN, closed)}`);
    expect(safe.body).toContain('more than one alarm has that code');
    expect((await statusOf(open)).status).toBe('open');
  });
});
