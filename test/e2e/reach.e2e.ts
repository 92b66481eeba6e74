import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { twilioSignature } from '../../src/notify/twilio-signature.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { launchChromium } from '../helpers/browser.ts';
import { startFakeTwilio } from '../helpers/fake-twilio.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { freePort, runCli, type Spawned, waitForHttp, writeTempConfig } from '../helpers/spawn.ts';
import { until } from '../helpers/wait.ts';

/**
 * Reaching a person, in a browser against the real `doorstep start`: the ladder texts the head of
 * school through a Twilio-compatible Messages API (a local fake that checks the account, the form
 * and answers with a message sid); the delivery report and the head's "1 <code>" reply come back
 * signed as Twilio signs them. The open board shows each recipient's delivery state and "taken by …
 * (SMS)"; an undelivered text moves the alarm to its call step within seconds.
 */
const TEST_MQTT_URL = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const PASSWORD = 'e2e correct horse battery';
const TOKEN = 'e2e-sms-auth-token';
const HEAD = '+447700900001';
const OUT = 'test-results';
const id = uniqueName('e2ereach');
let base: string;
let server: Spawned;
let browser: Browser;
let db: Db;
let fake: Server;
let publisher: mqtt.MqttClient;
const texts: { sid: string; to: string; body: string }[] = [];
const calls: { sid: string; to: string }[] = [];

/** Messages.json and Calls.json as published (the front door: test/helpers/fake-twilio.ts). */
async function startTwilio(): Promise<string> {
  const started = await startFakeTwilio({
    token: TOKEN,
    handle: ({ resource, form, to }, answer) => {
      if (resource === 'Messages' && form.get('Body')) {
        const sid = `SM${randomBytes(16).toString('hex')}`;
        texts.push({ sid, to, body: form.get('Body')! });
        return answer(201, { sid, status: 'queued' });
      }
      if (resource === 'Calls' && form.get('Twiml')) {
        const sid = `CA${randomBytes(16).toString('hex')}`;
        calls.push({ sid, to });
        return answer(201, { sid, status: 'queued' });
      }
      return answer(400, { code: 21602, message: 'Body or Twiml required' });
    },
  });
  fake = started.server;
  return started.url;
}

/** A form POST to one of Doorstep's SMS hooks, signed with the account's token for that URL. */
async function signedPost(path: string, params: Record<string, string>): Promise<number> {
  const url = `${base}${path}`;
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilioSignature(TOKEN, url, params),
    },
    body: new URLSearchParams(params).toString(),
  });
  return res.status;
}

function deliveryReport(sid: string, status: string, errorCode?: string): Promise<number> {
  return signedPost('/hooks/sms/alpha/status', {
    AccountSid: 'AC1',
    From: '+447700900999',
    MessageSid: sid,
    MessageStatus: status,
    To: HEAD,
    ...(errorCode ? { ErrorCode: errorCode } : {}),
  });
}

async function sos(eventId: string): Promise<void> {
  await publisher.publishAsync(
    `doorstep-e2e/${id}/fobs/PS-0001/events`,
    JSON.stringify({
      event_id: eventId,
      device: { id: 'PS-0001' },
      type: 'SOS',
      occurred_at: new Date().toISOString(),
    }),
    { qos: 1 },
  );
}

async function signIn(username: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1100, height: 900 } })).newPage();
  await page.goto(`${base}/`);
  await page.waitForURL(/\/login/);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  return page;
}

/** The alarm's card on the board. */
function card(page: Page, alarmId: string): Locator {
  return page.locator(`li.alarm[data-alarm-id="${alarmId}"]`);
}

async function alarmOf(eventId: string): Promise<string> {
  return until(
    async () => {
      const { rows } = await db.query<{ id: string }>(
        'SELECT a.id FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE e.vendor_event_id = $1',
        [eventId],
      );
      return rows[0] ? String(rows[0].id) : undefined;
    },
    30_000,
    `the alarm of ${eventId}`,
  );
}

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  const twilio = await startTwilio();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const { file } = writeTempConfig(`
trust: { id: t, name: Trust }
redis: { prefix: ${id.replace(/_/g, '-')} }
store: { schema: ${id} }
http: { port: ${port} }
schools:
  - id: alpha
    name: Alpha Academy
    mis: { kind: csv, dropFolder: ./data/drop/e2e-reach }
    records: { sink: preview }
    policies: [statutory]
    contacts:
      leaders: [{ name: Hana Head, phone: "${HEAD}" }]
    channels:
      sms: { baseUrl: "${twilio}", accountSid: AC1, authToken: "\${E2E_SMS_TOKEN}", from: "+447700900999", inboundUrl: "${base}/hooks/sms/alpha" }
      call: { callbackUrl: "${base}/hooks/voice/alpha", ringSeconds: 25 }
    fobs:
      transports:
        - { kind: mqtt, url: "${TEST_MQTT_URL}", topics: ["doorstep-e2e/${id}/fobs/+/events"], clientId: "${id.slice(0, 40)}" }
      devices: [{ deviceId: PS-0001, staffId: st-1 }]
    escalation:
      alarm:
        levels:
          - { afterMinutes: 0, notify: [board, sms:leaders] }
          - { afterMinutes: 10, notify: [board, call:leaders] }
`);
  const env = { DATABASE_URL: TEST_DATABASE_URL, E2E_SMS_TOKEN: TOKEN, LOG_LEVEL: 'warn' };
  server = runCli(['start', '--config', file], env);
  await waitForHttp(`${base}/readyz`, 200, 60_000);
  for (const [u, n] of [
    ['office', 'Olive Office'],
    ['hana', 'Hana Head'],
  ] as const) {
    const p = runCli(['user', 'add', '-c', file, '-u', u, '-n', n, '-r', 'office'], {
      ...env,
      DOORSTEP_PASSWORD: PASSWORD,
    });
    if ((await p.exited).code !== 0) throw new Error(`user add ${u}: ${p.stderr()}`);
  }
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema: id });
  await db.query(`UPDATE users SET phone = $1 WHERE username = 'hana'`, [HEAD]);
  browser = await launchChromium();
  publisher = await mqtt.connectAsync(TEST_MQTT_URL, { clientId: `${id.slice(0, 30)}-pub` });
}, 120_000);

afterAll(async () => {
  await publisher?.endAsync();
  await browser?.close();
  server?.child.kill('SIGTERM');
  await server?.exited;
  await db?.close();
  fake?.close();
  await dropSchema(id);
  await dropRedisPrefix(new Redis(TEST_REDIS_URL), id.replace(/_/g, '-'));
});

describe('reaching a person, not a screen', () => {
  it('the board shows the text delivered to the head, and the head takes the alarm by replying "1 <code>": taken by Hana Head (SMS)', async () => {
    const office = await signIn('office');
    await office.goto(`${base}/board?school=alpha`);
    await sos('reach-1');
    const alarmId = await alarmOf('reach-1');
    await card(office, alarmId).waitFor();
    const text = await until(() => texts.find((t) => t.to === HEAD), 30_000, 'the ladder’s text to the head');
    expect(text.body).toMatch(/Reply 1 \d+ to take this alarm/);
    await card(office, alarmId)
      .getByText(/sms → leaders: sent, not confirmed/)
      .waitFor();

    expect(await deliveryReport(text.sid, 'delivered')).toBe(204);
    await card(office, alarmId)
      .getByText(/sms → leaders: delivered/)
      .waitFor();

    const code = /Reply 1 (\d+)/.exec(text.body)![1]!;
    expect(
      await signedPost('/hooks/sms/alpha', {
        MessageSid: 'SMreply1',
        From: HEAD,
        To: '+447700900999',
        Body: `1 ${code}`,
      }),
    ).toBe(200);
    await card(office, alarmId)
      .getByText(/Acknowledged by\s*Hana Head \(SMS\)/)
      .waitFor();
    await office.screenshot({ path: join(OUT, 'board-sms-taken.png'), fullPage: true });
  });

  it('an undelivered text moves the alarm to its call step within seconds, and the board says what was not delivered', async () => {
    const office = await signIn('office');
    await office.goto(`${base}/board?school=alpha`);
    const before = texts.length;
    await sos('reach-2');
    const alarmId = await alarmOf('reach-2');
    const text = await until(() => texts.slice(before).find((t) => t.to === HEAD), 30_000, 'the second text');
    expect(calls).toHaveLength(0);
    expect(await deliveryReport(text.sid, 'undelivered', '30003')).toBe(204);
    // Level 2 is ten minutes away on its timer; the failed delivery brings it now.
    await until(() => calls.find((c) => c.to === HEAD), 30_000, 'the call to the head');
    await card(office, alarmId)
      .getByText(/sms → leaders: NOT DELIVERED \(1 not delivered: undelivered 30003\)/)
      .waitFor();
    await card(office, alarmId)
      .getByText(/call → leaders/)
      .waitFor();
  });
});
