import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { launchChromium, sendVisitRequest } from '../helpers/browser.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import {
  dropSchema,
  TEST_DATABASE_URL,
  TEST_MQTT_URL,
  TEST_REDIS_URL,
  uniqueName,
} from '../helpers/services.ts';
import { freePort, runCli, type Spawned, waitForHttp, writeTempConfig } from '../helpers/spawn.ts';
import { until } from '../helpers/wait.ts';

/**
 * The newcomer walk: a trust-wide office user (the first account the README makes) watching
 * Hampton's board never saw or heard Heath Lane's open SOS — "Alarms (0)", no sound, a plain title.
 * The board watches the user's other schools' alarms too: a red band "ALARM at Heath Lane Academy"
 * with the way to its board, sounding, counted in the title.
 */
const PASSWORD = 'e2e correct horse battery';
const OUT = 'test-results';
const id = uniqueName('e2eschools');
const prefix = id.replace(/_/g, '-');
const topic = `doorstep-e2e/${id}/heath/fobs/PS-0007/events`;
let base: string;
let server: Spawned;
let browser: Browser;
let publisher: MqttClient;
let db: Db;

const AXE_SOURCE = readFileSync('node_modules/axe-core/axe.min.js', 'utf8');

/** axe-core's WCAG 2.x A/AA rules on the page as it stands; the violations, described. */
async function axe(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate<{
    violations: { id: string; impact: string; nodes: { target: string[] }[] }[];
  }>(
    `axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })`,
  );
  return result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
}

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const { file } = writeTempConfig(`
trust: { id: t, name: Trust }
redis: { prefix: ${prefix} }
store: { schema: ${id} }
http: { port: ${port} }
schools:
  - id: hampton
    name: Hampton Infant School
    mis: { kind: csv, dropFolder: ./data/drop/e2e-hampton }
    records: { sink: preview }
    policies: [statutory]
  - id: heath
    name: Heath Lane Academy
    mis: { kind: csv, dropFolder: ./data/drop/e2e-heath }
    records: { sink: preview }
    policies: [statutory]
    fobs:
      transports:
        - { kind: mqtt, url: "${TEST_MQTT_URL}", topics: ["doorstep-e2e/${id}/heath/fobs/+/events"], clientId: "${id.slice(0, 40)}" }
      devices: [{ deviceId: PS-0007, staffId: hl-staff-7 }]
`);
  const env = { DATABASE_URL: TEST_DATABASE_URL, LOG_LEVEL: 'warn' };
  server = runCli(['start', '--config', file], env);
  await waitForHttp(`${base}/readyz`, 200, 30_000);
  const add = runCli(['user', 'add', '-c', file, '-u', 'ada', '-n', 'Ada Admin', '-r', 'admin,office'], {
    ...env,
    DOORSTEP_PASSWORD: PASSWORD,
  });
  const { code } = await add.exited;
  if (code !== 0) throw new Error(`user add: ${add.stderr()}`);
  const vic = runCli(['user', 'add', '-c', file, '-u', 'vic', '-n', 'Vic Visitor', '-r', 'visiting-staff'], {
    ...env,
    DOORSTEP_PASSWORD: PASSWORD,
  });
  if ((await vic.exited).code !== 0) throw new Error(`user add: ${vic.stderr()}`);
  const ola = runCli(
    ['user', 'add', '-c', file, '-u', 'ola', '-n', 'Ola Officer', '-r', 'safeguarding,visiting-staff'],
    { ...env, DOORSTEP_PASSWORD: PASSWORD },
  );
  if ((await ola.exited).code !== 0) throw new Error(`user add: ${ola.stderr()}`);
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema: id });
  browser = await launchChromium();
  publisher = await mqtt.connectAsync(TEST_MQTT_URL, { clientId: `${id.slice(0, 30)}-pub` });
}, 120_000);

afterAll(async () => {
  await publisher?.endAsync();
  await browser?.close();
  server?.child.kill('SIGTERM');
  await server?.exited;
  await db?.close();
  await dropSchema(id);
  await dropRedisPrefix(new Redis(TEST_REDIS_URL), prefix);
});

async function signIn(username = 'ada'): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  if (username !== 'vic') await page.goto(`${base}/board`); // an admin starts on the audit page
  return page;
}

describe('a board of one school, for someone of several', () => {
  it("Hampton's board shows and sounds Heath Lane's SOS, and opens Heath Lane's board", async () => {
    const board = await signIn();
    await board.getByText('Live', { exact: true }).waitFor();
    expect(await board.locator('#school').inputValue()).toBe('hampton');
    expect(await board.evaluate('document.body.dataset.sounding')).toBe('false');

    await publisher.publishAsync(
      topic,
      JSON.stringify({
        event_id: `${id}-sos-1`,
        device: { id: 'PS-0007' },
        type: 'SOS',
        occurred_at: new Date().toISOString(),
      }),
      { qos: 1 },
    );
    const band = board.locator('#alarm-elsewhere', { hasText: 'ALARM at Heath Lane Academy' });
    await band.waitFor({ timeout: 15_000 });
    // Hampton's own list is still empty; the band, the sound and the title carry Heath Lane's alarm.
    await board.locator('#alarms-h', { hasText: 'Alarms (0)' }).waitFor();
    expect(await board.evaluate('document.body.dataset.sounding')).toBe('true');
    expect(await board.title()).toBe('(1) ALARM — Doorstep');
    await expect(board.locator('#announce').textContent()).resolves.toMatch(
      /New alarm: at Heath Lane Academy/,
    );
    await board.screenshot({ path: join(OUT, 'board-alarm-elsewhere.png'), fullPage: true });
    expect(await axe(board)).toEqual([]);

    await band.getByRole('button', { name: 'Open Heath Lane Academy’s board' }).click();
    await board.locator('li.alarm.unacknowledged', { hasText: /SOS/ }).waitFor();
    expect(await board.locator('#school').inputValue()).toBe('heath');
    await until(
      async () => (await board.locator('#alarm-elsewhere').count()) === 0,
      10_000,
      'the band to go on its own board',
    );
    expect(await board.evaluate('document.activeElement?.id')).toBe('alarms-h');
    expect(await board.evaluate('document.body.dataset.sounding')).toBe('true');
  });
});

describe('signing out while out on a visit', () => {
  it('asks first, in the page: No (or Escape) keeps the worker signed in; Yes signs out', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ('heath', 'P9', 'Ola', 'Ade', $1)`,
      [JSON.stringify({ line1: '1 Any Street', town: 'Leeds', postcode: 'LS6 2QT' })],
    );
    const page = await signIn('vic');
    // Not out yet: Sign out signs out at once.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);

    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by, lead_user_id,
         departed_at, expected_return_at)
       SELECT 'heath', 'P9', 'welfare', $1, (now() AT TIME ZONE 'Europe/London')::date, 'departed', u.id, u.id,
         now() - interval '5 minutes', now() + interval '1 hour'
       FROM users u WHERE u.username = 'vic' RETURNING id`,
      [JSON.stringify({ line1: '1 Any Street', town: 'Leeds', postcode: 'LS6 2QT' })],
    );
    const out = await signIn('vic');
    await out.goto(`${base}/visits/${rows[0]!.id}`);
    const signOut = out.getByRole('button', { name: 'Sign out' });
    await signOut.click();
    const ask = out.getByRole('alertdialog', {
      name: 'You are out on a visit: signing out removes “I need help” from this phone. Sign out anyway?',
    });
    await ask.waitFor();
    expect(await out.evaluate('document.activeElement?.id')).toBe('sign-out-question');
    expect(await axe(out)).toEqual([]);
    await out.keyboard.press('Escape');
    await ask.waitFor({ state: 'detached' });
    expect(await out.evaluate('document.activeElement?.textContent')).toBe('Sign out');
    expect(await axe(out)).toEqual([]);
    await signOut.click();
    await ask.getByRole('button', { name: 'No, stay signed in' }).click();
    await ask.waitFor({ state: 'detached' });
    expect(new URL(out.url()).pathname).toMatch(/^\/visits\/\d+$/);
    await signOut.click();
    await ask.getByRole('button', { name: 'Yes, sign out' }).click();
    await out.waitForURL(/\/login/);
  });
});

describe("the board's day", () => {
  it('greys a cancelled visit beside the real one for the same pupil, with no Call line', async () => {
    // Vic is out on the visit of the test above (P9); the same pupil's visit asked for earlier and called off.
    await db.query(`UPDATE users SET phone = '+447700900777' WHERE username = 'vic'`);
    await db.query(
      `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by, lead_user_id)
       SELECT 'heath', 'P9', 'welfare (called off)', $1, (now() AT TIME ZONE 'Europe/London')::date, 'cancelled', u.id, u.id
       FROM users u WHERE u.username = 'vic'`,
      [JSON.stringify({ line1: '1 Any Street', town: 'Leeds', postcode: 'LS6 2QT' })],
    );
    const board = await signIn();
    await board.locator('#school').selectOption('heath');
    const today = board.locator('#today li.visit');
    await until(async () => (await today.count()) === 2, 15_000, "both of the day's visits");
    const off = board.locator('#today li.visit.cancelled');
    await expect(off.textContent()).resolves.toMatch(/CANCELLED/);
    expect(await off.locator('.calls').count()).toBe(0);
    expect(await axe(board)).toEqual([]);
    const out = board.locator('#today li.visit:not(.cancelled)');
    await expect(out.locator('.calls').textContent()).resolves.toMatch(/^Call Vic Visitor: \+447700900777/);
  });
});

describe('a visit asked for from a trigger card by visiting staff', () => {
  it('asks who will go: left for anyone, nobody leads it yet', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ('heath', 'P10', 'Bea', 'Cole', $1)`,
      [JSON.stringify({ line1: '2 Any Street', town: 'Leeds', postcode: 'LS6 2QT' })],
    );
    await db.query(
      `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
       VALUES ('heath', 'P10', 'e2e:absent-3', 'Absent 3 days', 'home-visit', 'attendance-officer', 'open',
         (now() AT TIME ZONE 'Europe/London')::date, 'absent', '{}')`,
    );
    const board = await signIn('ola');
    await board.locator('#school').selectOption('heath');
    const card = board.locator('li.trigger', { hasText: 'Bea Cole' });
    await card.getByRole('button', { name: 'Request a visit for Bea Cole' }).click();
    const who = card.getByRole('group', { name: 'Who will go' });
    expect(await who.getByLabel('Me (I lead it)').isChecked()).toBe(true);
    await who.getByLabel('Leave it for anyone (whoever goes leads it)').check();
    expect(await axe(board)).toEqual([]);
    await card.getByLabel('Risk level').selectOption('low');
    await sendVisitRequest(board, card, 'Request the visit');
    const id = new URL(board.url()).pathname.split('/').at(-1);
    const { rows } = await db.query<{ lead_user_id: string | null }>(
      'SELECT lead_user_id FROM visits WHERE id = $1',
      [id],
    );
    expect(rows).toEqual([{ lead_user_id: null }]);
  });

  it('refused for a closed day, it keeps what was chosen and the question through a live re-read', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ('heath', 'P11', 'Cal', 'Dee', $1)`,
      [JSON.stringify({ line1: '4 Any Street', town: 'Leeds', postcode: 'LS6 2QT' })],
    );
    await db.query(
      `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
       VALUES ('heath', 'P11', 'e2e:absent-3', 'Absent 3 days', 'home-visit', 'attendance-officer', 'open',
         (now() AT TIME ZONE 'Europe/London')::date, 'absent', '{}')`,
    );
    const board = await signIn('ola');
    await board.locator('#school').selectOption('heath');
    await board.getByText('Live', { exact: true }).waitFor();
    const card = board.locator('li.trigger', { hasText: 'Cal Dee' });
    await card.getByRole('button', { name: 'Request a visit for Cal Dee' }).click();
    await card
      .getByRole('group', { name: 'Who will go' })
      .getByLabel('Leave it for anyone (whoever goes leads it)')
      .check();
    await card.getByLabel('Risk level').selectOption('low');
    // A Sunday: the school is closed, so the server asks to confirm the day.
    const sunday = new Date();
    sunday.setUTCDate(sunday.getUTCDate() + 7 - sunday.getUTCDay());
    await card.getByLabel('Planned for').fill(sunday.toISOString().slice(0, 10));
    await card.getByRole('button', { name: 'Request the visit' }).click();
    const confirm = card.getByLabel('Yes, plan it for that day: I know the school is closed');
    await confirm.waitFor();
    // A live re-read of the board (an alarm at Heath Lane), the question still unanswered.
    await board.locator('#alarms-h').evaluate((e: { dataset: Record<string, string> }) => {
      e.dataset.drawn = 'before';
    });
    await publisher.publishAsync(
      topic,
      JSON.stringify({
        event_id: `${id}-sos-reread`,
        device: { id: 'PS-0007' },
        type: 'SOS',
        occurred_at: new Date().toISOString(),
      }),
      { qos: 1 },
    );
    await board.locator('#alarms-h:not([data-drawn])').waitFor();
    expect(await confirm.isVisible()).toBe(true);
    expect(await card.getByLabel('Leave it for anyone (whoever goes leads it)').isChecked()).toBe(true);
    expect(await card.getByLabel('Risk level').inputValue()).toBe('low');
  });
});

describe('disabling the account of a worker who is out', () => {
  it('is refused in plain words, with a button that does it anyway', async () => {
    // Vic is still out on the visit of the test above.
    const admin = await signIn();
    await admin.getByRole('link', { name: 'Accounts' }).click();
    await admin.getByRole('button', { name: 'Disable vic' }).click();
    const refusal = admin.getByRole('alert').filter({ hasText: /vic is out on visit \d+ now/ });
    await refusal.waitFor();
    expect(await refusal.textContent()).not.toMatch(/whileOut/);
    expect(await axe(admin)).toEqual([]);
    await admin.getByRole('button', { name: 'Disable anyway (the visit stays watched)' }).click();
    await admin.getByRole('status').filter({ hasText: 'vic disabled.' }).waitFor();
    await admin.getByRole('button', { name: 'Enable vic' }).waitFor();
    expect(await admin.locator('#while-out-anyway').count()).toBe(0);
  });
});
