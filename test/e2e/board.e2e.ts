import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { launchChromium, sendVisitRequest } from '../helpers/browser.ts';
import { type FakeCpoms, recordKey, startFakeCpoms } from '../helpers/fake-cpoms.ts';
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

const PASSWORD = 'e2e correct horse battery';
const OUT = 'test-results';
const id = uniqueName('e2e');
const topic = `doorstep-e2e/${id}/fobs/PS-0042/events`;
let base: string;
let server: Spawned;
/** Set while a test or the end stops the server on purpose. */
let stopping = false;
/** A server that ends before the tests stop it says why (its own last words), not only "connection refused". */
function sayIfEndedEarly(s: Spawned): void {
  void s.exited.then((e) => {
    if (!stopping)
      console.error(`doorstep start ended early (${e.signal ?? e.code}):\n${s.stderr().slice(-6000)}`);
  });
}
let cpoms: FakeCpoms;
let db: Db;
let browser: Browser;
let publisher: MqttClient;
let configFile: string;
const serverEnv = { DATABASE_URL: TEST_DATABASE_URL, E2E_CPOMS_TOKEN: 'e2e-token', LOG_LEVEL: 'warn' };

const AXE_SOURCE = readFileSync('node_modules/axe-core/axe.min.js', 'utf8');

/** axe-core's WCAG 2.x A/AA rules on the page as it stands; the violations, described. */
async function axe(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the page's CSP (our own scripts only) stays on.
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

/**
 * The page's width at a phone's 360 px: `document.documentElement.scrollWidth`, and the elements
 * that reach past the viewport's right edge (named, so a failure says what to fix).
 */
async function widthAt360(page: Page): Promise<{ scrollWidth: number; wider: string[] }> {
  return page.evaluate(`(() => {
    const vw = document.documentElement.clientWidth;
    const wider = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > vw + 0.5 && getComputedStyle(el).position !== 'fixed')
      .slice(0, 8)
      .map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') + ' → ' + Math.round(el.getBoundingClientRect().right));
    return { scrollWidth: document.documentElement.scrollWidth, wider };
  })()`);
}

async function expectFits360(page: Page, what: string) {
  const { scrollWidth, wider } = await widthAt360(page);
  expect(scrollWidth, `${what} is ${scrollWidth} px wide at 360: ${wider.join('; ')}`).toBeLessThanOrEqual(
    360,
  );
}

function sos(n: number) {
  return publisher.publishAsync(
    topic,
    JSON.stringify({
      event_id: `${id}-sos-${n}`,
      device: { id: 'PS-0042' },
      type: 'SOS',
      occurred_at: new Date().toISOString(),
      location: { lat: 53.8067, lon: -1.555, accuracy_m: 12 },
    }),
    { qos: 1 },
  );
}

async function addUser(username: string, name: string, roles: string, config: string) {
  const p = runCli(['user', 'add', '-c', config, '-u', username, '-n', name, '-r', roles], {
    DATABASE_URL: TEST_DATABASE_URL,
    DOORSTEP_PASSWORD: PASSWORD,
  });
  const { code } = await p.exited;
  if (code !== 0) throw new Error(`user add ${username}: ${p.stderr()}`);
  expect(p.stdout()).toMatch(new RegExp(`user #\\d+ ${username} created`));
}

/**
 * "Back safe" on the visit page: the button asks first, in the page; nothing is sent until the
 * answer. Returns the question's group (checked, then answered yes).
 */
async function backSafe(page: Page, question: RegExp = /back safe\?/): Promise<void> {
  const posted: string[] = [];
  const seen = (r: Request) => {
    if (r.method() === 'POST' && /\/api\/visits\/\d+\/back-safe$/.test(r.url())) posted.push(r.url());
  };
  page.on('request', seen);
  try {
    await page.getByRole('button', { name: 'Back safe' }).click();
    const ask = page.getByRole('group', { name: question });
    await ask.waitFor();
    expect(posted, 'Back safe posted before it was confirmed').toEqual([]);
    await ask.getByRole('button', { name: /^Yes, / }).click();
    await until(async () => posted.length === 1, 10_000, 'the confirmed back-safe to be sent');
  } finally {
    page.off('request', seen);
  }
}

let loginChecked = false;
async function signIn(ctx: BrowserContext, username: string): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(`${base}/`);
  await page.waitForURL(/\/login/);
  if (!loginChecked) {
    expect(await axe(page)).toEqual([]);
    loginChecked = true;
  }
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  return page;
}

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  cpoms = await startFakeCpoms({ token: 'e2e-token', students: { A123456789012: 'cpoms-student-1' } });
  // A policy pack for the run: authorisation by the safeguarding team and a safe word (as Lime
  // Hills), without Lime Hills' hours, so the test passes at any time of day; Thames View's wait at
  // the door (3.4/3.5).
  const policies = mkdtempSync(join(tmpdir(), 'doorstep-e2e-policies-'));
  copyFileSync('config/policies/statutory.yaml', join(policies, 'statutory.yaml'));
  writeFileSync(
    join(policies, 'e2e.yaml'),
    `id: e2e\ntitle: E2E\nsource: test\nrules: []\nvisits:\n  authorisation: { required: true, by: [safeguarding] }\n  pairs: when-risk\n  safeWord: required\n  appointments: { noAnswerAfterMinutes: 20, lateCancelAfterMinutes: 30 }\n`,
  );
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const { file } = writeTempConfig(`
trust: { id: t, name: Trust }
redis: { prefix: ${id.replace(/_/g, '-')} }
store: { schema: ${id} }
http: { port: ${port} }
policiesDir: ${policies}
schools:
  - id: lime
    name: Lime Hills Academy
    phone: "01632 960123"
    mis: { kind: csv, dropFolder: ./data/drop/e2e }
    records: { sink: cpoms, baseUrl: "${cpoms.url}", token: "\${E2E_CPOMS_TOKEN}" }
    policies: [statutory, e2e]
    fobs:
      transports:
        - { kind: mqtt, url: "${TEST_MQTT_URL}", topics: ["doorstep-e2e/${id}/fobs/+/events"], clientId: "${id.slice(0, 40)}" }
      devices: [{ deviceId: PS-0042, staffId: st-sam }]
    # The overdue ladder with a 6-second acknowledgement timeout, so the re-fire is seen in the run.
    escalation:
      overdue-visit:
        condition: if-not-resolved
        reescalateAfterMinutes: 0.1
        levels:
          - { afterMinutes: 0, notify: [board], prompt: "Visit overdue: call the visiting staff" }
          - { afterMinutes: 10, notify: [board], prompt: "Call the police (999)" }
`);
  configFile = file;
  server = runCli(['start', '--config', file], serverEnv);
  sayIfEndedEarly(server);
  await waitForHttp(`${base}/readyz`, 200, 30_000);
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema: id });
  await db.query(
    `INSERT INTO pupils (school_id, mis_id, upn, forename, surname, year_group, address) VALUES ('lime', 'P1', 'A123456789012', 'Amelia', 'Okonkwo', '4', $1)`,
    [JSON.stringify({ line1: '14 Rosebank Terrace', town: 'Leeds', postcode: 'LS6 2QT' })],
  );
  // The family's adults (no phone: the ladder's family step is not part of these tests).
  await db.query(
    `INSERT INTO pupil_contacts (school_id, pupil_mis_id, priority, name, relationship, parental_responsibility)
     VALUES ('lime', 'P1', 1, 'Tunde Bello', 'STEP_FATHER', false), ('lime', 'P1', 2, 'Ngozi Okonkwo', 'MOTHER', true)`,
  );
  process.env.E2E_CPOMS_TOKEN = 'e2e-token';
  for (const [u, n, r] of [
    ['office', 'Olive Office', 'office'],
    ['sam', 'Sam Visitor', 'visiting-staff'],
    ['kim', 'Kim Visitor', 'visiting-staff'],
    ['dsl', 'Dee Safeguarding', 'safeguarding'],
    ['admin', 'Ada Admin', 'admin'],
    ['dm', 'Dana Data', 'data-manager'],
  ] as const)
    await addUser(u, n, r, file);
  await db.query(`UPDATE users SET staff_id = 'st-sam', phone = '+447700900123' WHERE username = 'sam'`);
  browser = await launchChromium();
  publisher = await mqtt.connectAsync(TEST_MQTT_URL, { clientId: `${id.slice(0, 30)}-pub` });
}, 120_000);

afterAll(async () => {
  await publisher?.endAsync();
  await browser?.close();
  stopping = true;
  server?.child.kill('SIGTERM');
  await server?.exited;
  await db?.close();
  await cpoms?.close();
  await dropSchema(id);
  await dropRedisPrefix(new Redis(TEST_REDIS_URL), id.replace(/_/g, '-'));
});

/** HH:MM of an instant on the London clock, as the visit page's time fields read it. */
const londonHhmm = (d: Date) =>
  new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/London',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(d);

describe('Doorstep in a browser', () => {
  let office: Page;

  it('the office signs in and sees an MQTT alarm, sounding, then acknowledges it', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    office = await signIn(ctx, 'office');
    expect(new URL(office.url()).pathname).toBe('/board');
    await office.getByText('Live', { exact: true }).waitFor();
    // Nothing from the fobs yet: the board says so, neutral (no fault on a first run).
    await office.locator('#broker[data-state="none-yet"]', { hasText: 'No fob message yet' }).waitFor();

    const sent = Date.now();
    await sos(1);
    const card = office.locator('li.alarm.unacknowledged');
    // How soon is logged, not asserted: a test on a loaded machine is no clock. The path's latency
    // (publish → board SSE, p99 within a few ms of the broker and the disk) is `bench:alarm`'s.
    await card.waitFor();
    const shownAfterMs = Date.now() - sent;
    await expect(card.textContent()).resolves.toMatch(/SOS — Sam Visitor/);
    await expect(card.textContent()).resolves.toMatch(/53\.80670, -1\.55500/);
    expect(await office.evaluate('window.doorstepSound.playing')).toBe(true);
    expect(await office.evaluate('document.body.dataset.sounding')).toBe('true');
    await office.screenshot({ path: join(OUT, 'board-desktop.png'), fullPage: true });
    expect(await axe(office)).toEqual([]);
    console.log(`alarm on the board ${shownAfterMs} ms after publish`);

    // The same board on a phone, 360 px wide with the alarm open: nothing scrolls sideways.
    const small = await signIn(
      await browser.newContext({ viewport: { width: 360, height: 780 }, isMobile: true, hasTouch: true }),
      'office',
    );
    await small.locator('li.alarm.unacknowledged').waitFor();
    await expectFits360(small, 'the board with an alarm');
    await small.screenshot({ path: join(OUT, 'board-360.png'), fullPage: true });
    await small.context().close();

    await card.getByRole('button', { name: /^Acknowledge alarm/ }).click();
    await office.locator('li.alarm.acknowledged').waitFor();
    await expect(office.locator('li.alarm.acknowledged').textContent()).resolves.toMatch(
      /Acknowledged by\s*Olive Office/,
    );
    await until(
      async () => (await office.evaluate('document.body.dataset.sounding')) === 'false',
      15_000,
      'the sound to stop',
    );
    // The ingest role noted the SOS's arrival; the board (the web role's) shows how long ago.
    // Every re-read (the acknowledgement's, the 30 s safety net) may be the one that shows it.
    const broker = office.locator('#broker[data-state="arriving"]');
    await broker.waitFor({ timeout: 40_000 });
    await expect(broker.textContent()).resolves.toMatch(/^Last fob message (\d+ min )?\d+ s ago$/);
  });

  it('the keyboard stays in a note being typed on an alarm when another alarm redraws the board', async () => {
    // Sam's SOS from the test above stays open (acknowledged) for the drill's test below: this test
    // clears only the alarms it raised.
    const { rows: last } = await db.query<{ id: string | null }>('SELECT max(id)::text AS id FROM alarms');
    const before0 = last[0]?.id ?? '0';
    await sos(50);
    const first = office.locator('li.alarm.unacknowledged').first();
    await first.waitFor();
    const alarmId = await first.getAttribute('data-alarm-id');
    const note = office.locator(`li.alarm[data-alarm-id="${alarmId}"]`).getByLabel('Note');
    await note.click();
    await note.pressSequentially('spoke to Sam');
    // Another alarm: an event every open board redraws itself on, the note's form kept.
    const before = await office.locator('li.alarm').count();
    await sos(51);
    await until(async () => (await office.locator('li.alarm').count()) > before, 30_000, 'the second alarm');
    await expect(note.inputValue()).resolves.toBe('spoke to Sam');
    // Still where the person was typing (a kept form is moved into the new board, which blurs it).
    expect(await office.evaluate('document.activeElement?.id ?? null')).toBe(`note-${alarmId}`);
    await db.query(
      `UPDATE alarms SET status = 'resolved', resolved_at = now(), resolution_reason = 'false_alarm'
       WHERE status <> 'resolved' AND id > $1`,
      [before0],
    );
  });

  it('a client that takes over Doorstep’s MQTT session is on the office board within 30 s', async () => {
    const thief = await mqtt.connectAsync(TEST_MQTT_URL, {
      clientId: id.slice(0, 40),
      clean: false,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    try {
      const banner = office.locator('#ingest.ingest-down');
      await banner.waitFor({ timeout: 30_000 });
      await expect(banner.textContent()).resolves.toMatch(/NOT arriving.*took over/s);
    } finally {
      thief.end(true);
    }
  });

  it('a visit goes from request to outcome, and its record reaches CPOMS', async () => {
    const phone = await browser.newContext({
      viewport: { width: 360, height: 780 },
      isMobile: true,
      hasTouch: true,
    });
    const sam = await signIn(phone, 'sam');
    expect(new URL(sam.url()).pathname).toBe('/visits');
    await sam.getByText('Request a visit').click();
    await sam.getByLabel('Find the pupil').fill('Okonkwo');
    await until(
      async () => (await sam.locator('#pupil option').first().textContent())?.includes('Amelia'),
      15_000,
      'the pupil search',
    );
    // Visiting staff are not given the family by the search: the request form says where it will be.
    await sam
      .locator('#request-contacts', { hasText: "The family's contacts are on the visit's page" })
      .waitFor();
    expect(await sam.locator('#request-contacts li').count()).toBe(0);
    await sam.getByLabel('Reason for the visit').fill('Absent five days, no contact');
    await sam.getByLabel('Risk level').selectOption('low');
    await sendVisitRequest(sam, sam, 'Request visit');
    const visitUrl = sam.url();
    await sam.getByText(/Waiting for authorisation by safeguarding/).waitFor();

    const dslCtx = await browser.newContext();
    const dsl = await signIn(dslCtx, 'dsl');
    await dsl.goto(visitUrl);
    await dsl.getByText('Flag this address').click();
    await dsl.getByLabel('Level', { exact: true }).selectOption('dangerous');
    await dsl.getByLabel('What staff must know').fill('Dog on the premises; do not enter');
    await dsl.getByRole('button', { name: 'Save flag' }).click();
    await dsl.getByRole('status').filter({ hasText: 'Address flagged.' }).waitFor();
    await dsl.getByRole('button', { name: 'Authorise this visit' }).click();
    await dsl.getByRole('status').filter({ hasText: 'Visit authorised.' }).waitFor();

    await sam.reload();
    // The flag is in front of the worker before they leave.
    await sam.locator('#risks li', { hasText: 'DANGEROUS Dog on the premises; do not enter' }).waitFor();
    // Authorised, the lead sees the family's adults, those with parental responsibility first.
    await sam.locator('section#contacts li').first().waitFor();
    expect(await sam.locator('section#contacts li').allTextContents()).toEqual([
      expect.stringMatching(/^Ngozi Okonkwo \(MOTHER, parental responsibility\)/),
      expect.stringMatching(/^Tunde Bello \(STEP_FATHER\)/),
    ]);
    expect(await axe(sam)).toEqual([]);
    await expectFits360(sam, 'the visit page before leaving');
    await sam.getByLabel('Expected back at').fill(londonHhmm(new Date(Date.now() + 60 * 60_000)));
    await sam.getByLabel(/Safe word/).fill('bluebell');
    // Leave is held while the Needed list says what leaving would be refused for: the risks must be
    // confirmed read first, and — the DANGEROUS flag raised the risk — the policy's pairs rule
    // applies, nobody goes alone.
    const leave = sam.getByRole('button', { name: 'Leave for the visit' });
    await sam.locator('#departure-findings li.block', { hasText: /risk notes/ }).waitFor();
    await sam.locator('#departure-findings li.block', { hasText: /two staff/ }).waitFor();
    expect(await leave.isDisabled()).toBe(true);
    await sam.getByLabel('I have read the risk notes and address flags above').check();
    await sam
      .locator('#departure-findings li.block', { hasText: /risk notes/ })
      .waitFor({ state: 'detached' });
    expect(await leave.isDisabled()).toBe(true);
    await sam.getByLabel(/^Going with/).selectOption({ label: 'Kim Visitor' });
    await leave.click(); // once offered
    await sam.getByRole('button', { name: 'Check in: I am safe' }).waitFor();
    await sam.getByRole('button', { name: 'I have arrived' }).click();
    await sam.getByRole('status').filter({ hasText: 'Arrival recorded.' }).waitFor();
    await sam.getByRole('button', { name: 'Check in: I am safe' }).click();
    await sam.getByRole('status').filter({ hasText: 'Checked in.' }).waitFor();
    await sam.screenshot({ path: join(OUT, 'visit-phone.png'), fullPage: true });
    await expectFits360(sam, 'the visit page while out');

    // The office board shows the visit out.
    const out = office.locator('#today li.visit', { hasText: 'Amelia Okonkwo' });
    await out.waitFor();
    // At the door: the office sees the worker arrived, not only that they left.
    await office.locator('#today li.visit', { hasText: /Amelia Okonkwo[\s\S]*arrived \d\d:\d\d/ }).waitFor();
    await expect(out.textContent()).resolves.toMatch(
      /ARRIVED.*Sam Visitor.*arrived \d\d:\d\d.*back by \d\d:\d\d.*next alarm due \d\d:\d\d/,
    );

    // Back safe asks first, says it ends the watch for both of them, and "No" leaves them out.
    await sam.getByRole('button', { name: 'Back safe' }).click();
    const ask = sam.getByRole('group', { name: 'Are you both back safe?' });
    await ask.getByText(/ends the watch for both of you \(you and .*Kim Visitor/).waitFor();
    expect(await axe(sam)).toEqual([]);
    await ask.getByRole('button', { name: 'No, still out' }).click();
    expect(await ask.isHidden()).toBe(true);
    await sam.getByRole('button', { name: 'Check in: I am safe' }).waitFor();
    await backSafe(sam, /^Are you both back safe\?$/);
    await sam.getByText(/Back safe at \d\d:\d\d/).waitFor();
    // The "sorry you weren't in" slip is offered only once "No one home" is chosen.
    const slip = sam.getByLabel(/I left a “sorry you weren’t in” slip/);
    expect(await slip.isVisible()).toBe(false);
    await sam.getByLabel('No one home').check();
    await slip.waitFor();
    await sam.getByLabel('Yes, child seen').check();
    await slip.waitFor({ state: 'hidden' });
    await sam.getByLabel('Spoke to').fill('mother');
    await sam.getByLabel('Agreements').fill('Amelia back in school on Monday');
    await sam.getByRole('button', { name: 'Submit outcome' }).click();
    await sam.getByText(/Completed .*: child seen/).waitFor();
    // The completed visit shows what was recorded, not only that the child was seen.
    await sam.locator('#outcome-details', { hasText: /Spoke to\s*mother/ }).waitFor();
    await sam.locator('#agreements li', { hasText: 'Amelia back in school on Monday' }).waitFor();
    // The day's list on the phone: the visit's row fits the screen (no column cut off in a table
    // that scrolls sideways unseen), and the worker's own list comes before the register export.
    await sam.goto(`${base}/visits`);
    await sam.locator('caption', { hasText: 'Visits for' }).waitFor();
    expect(
      await sam.evaluate(`(() => {
        const t = [...document.querySelectorAll('table')].find((x) => x.caption?.textContent.startsWith('Visits for'));
        const form = document.querySelector('form[aria-label="Export the register"]');
        return {
          fits: t.scrollWidth <= t.clientWidth,
          listFirst: Boolean(t.compareDocumentPosition(form) & Node.DOCUMENT_POSITION_FOLLOWING),
        };
      })()`),
    ).toEqual({ fits: true, listFirst: true });
    expect(await axe(sam)).toEqual([]);

    const record = await until(
      async () =>
        [...cpoms.incidents.values()].find((i) =>
          recordKey(i.idempotencyKey).startsWith('visit-outcome:lime:'),
        ),
      30_000,
      'the visit outcome at the fake CPOMS',
    );
    expect(JSON.stringify(record.body)).toContain('Amelia back in school on Monday');
    expect(record.body.students).toEqual(['cpoms-student-1']);
  });

  it('an office user cannot open the audit page; an admin can, and exports it', async () => {
    const res = await office.goto(`${base}/audit`);
    expect(res?.status()).toBe(403);
    await office.getByText('Your role does not give you access to this page.').waitFor();
    // A page that does not exist is a page saying so, with the way home; never JSON.
    const missing = await office.goto(`${base}/triggers`);
    expect(missing?.status()).toBe(404);
    await office.getByRole('heading', { name: 'Page not found' }).waitFor();
    await office.getByRole('link', { name: 'Back to your start page' }).waitFor();
    expect(await axe(office)).toEqual([]);
    // A visit that does not exist says so on the visit page, with the way back.
    await office.goto(`${base}/visits/999999`);
    await office.getByRole('heading', { name: 'Visit not found' }).waitFor();
    await office.getByRole('link', { name: 'Back to the visits' }).waitFor();

    const admin = await signIn(await browser.newContext(), 'admin');
    await admin.goto(`${base}/audit`);
    await admin.locator('td', { hasText: 'visit.completed' }).first().waitFor();
    const csv = await admin.evaluate<string>("fetch('/api/audit.csv').then((r) => r.text())");
    expect(csv.split('\r\n')[0]).toBe(
      'id,at,actor,actor_name,action,school_id,entity_type,entity_id,before,after',
    );
    expect(csv).toContain('alarm.acknowledged');

    // The data manager sees the outbox (the visit outcome delivered) and tests the CPOMS connection.
    const dm = await signIn(await browser.newContext(), 'dm');
    expect(new URL(dm.url()).pathname).toBe('/data');
    await dm.getByText(/delivered: \d+/).waitFor();
    await dm.getByRole('button', { name: 'Test records connection' }).click();
    await dm.locator('#test-results p.ok', { hasText: 'lime records:cpoms' }).waitFor();
    expect(await axe(dm)).toEqual([]);

    // Admins keep the accounts: add one from the Accounts page.
    await admin.getByRole('link', { name: 'Accounts' }).click();
    await admin.getByText('Add an account').click();
    // (Each account's row has its own edit form with the same fields: the new account's form is one.)
    const add = admin.locator('#add-account');
    await add.getByLabel('Username (lower case)').fill('pat');
    await add.getByLabel('Name people see').fill('Pat Partner');
    await add.getByLabel('First password (at least 12 characters)').fill(PASSWORD);
    await add.getByLabel('visiting-staff').check();
    await add.getByRole('button', { name: 'Create account' }).click();
    await admin.getByRole('status').filter({ hasText: 'Account pat created.' }).waitFor();
    // In the accounts table (the staff training table below names Pat too, with the username).
    await admin.getByRole('cell', { name: 'Pat Partner', exact: true }).waitFor();
    expect(await axe(admin)).toEqual([]);
    // A wrong escalation number is corrected on the account, not by a new one.
    await admin.getByText('Edit pat', { exact: true }).click();
    const edit = admin.locator('form[id^="edit-"]', { has: admin.getByRole('button', { name: 'Save pat' }) });
    await edit.getByLabel(/^Mobile for escalation SMS/).fill('+447700900555');
    await edit.getByRole('button', { name: 'Save pat' }).click();
    await admin.getByRole('status').filter({ hasText: 'pat changed.' }).waitFor();
    expect(await axe(admin)).toEqual([]);
  });

  it('a trigger card shows the first day of absence and opens a request form, not a one-click visit', async () => {
    await db.query(
      `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
       VALUES ('lime', 'P1', 'e2e:absent-5-days', 'Absent 5 school days in a row', 'home-visit', 'attendance-officer', 'open',
         (now() AT TIME ZONE 'Europe/London')::date, 'absent 5 school days', '{"from":"2026-11-16","to":"2026-11-20"}')`,
    );
    await office.goto(`${base}/board`);
    const card = office.locator('li.trigger', { hasText: 'Amelia Okonkwo' });
    await card.waitFor({ timeout: 15_000 });
    await expect(card.textContent()).resolves.toMatch(
      /First day: \w{3} 16 Nov 2026 · raised .*home visit by attendance officer/,
    );
    await card.getByRole('button', { name: 'Request a visit for Amelia Okonkwo' }).click();
    await card.getByLabel('Risk level').selectOption('minor');
    expect(await axe(office)).toEqual([]);
    await sendVisitRequest(office, card, 'Request the visit');
    await office.getByText(/REQUESTED planned for .* · Absent 5 school days in a row/).waitFor();
  });

  it('a phone call home is recorded done from its card: the day and what was said; the card leaves the list', async () => {
    await db.query(
      `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
       VALUES ('lime', 'P1', 'e2e:first-day-call', 'First day of absence: call home', 'phone-call', 'attendance-officer', 'open',
         (now() AT TIME ZONE 'Europe/London')::date, 'absent today', '{}')`,
    );
    await office.goto(`${base}/board`);
    const card = office.locator('li.trigger', { hasText: 'First day of absence: call home' });
    await card.waitFor({ timeout: 15_000 });
    await card.getByRole('button', { name: 'Record what was done' }).click();
    await card.getByLabel(/What was done/).fill('Spoke to mum: a temperature, back tomorrow.');
    expect(await axe(office)).toEqual([]);
    await card.getByRole('button', { name: 'Record it done' }).click();
    await office.getByText('Phone call home made: recorded for Amelia Okonkwo.').waitFor();
    await until(async () => (await card.count()) === 0, 15_000, 'the recorded trigger to leave the list');
  });

  it('an admin runs a fob drill: a TEST alarm runs the ladder, marked on its card, and resolves as a test', async () => {
    const admin = await signIn(await browser.newContext({ viewport: { width: 1280, height: 900 } }), 'admin');
    await admin.goto(`${base}/board`); // an admin starts on the audit page
    await admin.getByText('Live', { exact: true }).waitFor();
    const drill = admin.locator('#drill');
    await drill.getByLabel('Fob').selectOption('PS-0042');
    await drill.getByRole('button', { name: 'Send a test alarm' }).click();
    await drill.getByRole('button', { name: 'Yes, send a test alarm for PS-0042' }).click();
    // Sam's real SOS from this fob (acknowledged above, not resolved) is still a live incident: no
    // drill beside it, or leaders would be paged "TEST" and "SOS" for Sam together.
    await admin
      .getByRole('alert')
      .filter({ hasText: /a real alarm from PS-0042 is still open \(#\d+\): resolve it/ })
      .waitFor();
    const real = admin.locator('li.alarm.acknowledged', { hasText: 'SOS — Sam Visitor' });
    await real.getByLabel('What happened').selectOption('worker_safe_contacted');
    await real.getByRole('button', { name: /^Resolve alarm/ }).click();
    await real.getByRole('button', { name: /^Yes, resolve alarm/ }).click();
    await until(async () => (await real.count()) === 0, 15_000, 'the real SOS to leave the board');
    // Resolved, the drill can be sent.
    await drill.getByRole('button', { name: 'Yes, send a test alarm for PS-0042' }).click();
    const card = admin.locator('li.alarm.test-alarm');
    await card.waitFor({ timeout: 15_000 });
    await expect(card.textContent()).resolves.toMatch(
      /TEST — a fob drill, no one is in danger\s*TEST SOS — Sam Visitor/,
    );
    // Its ladder runs: the first level's notifications are listed on the card.
    await card.locator('ul.sent li').first().waitFor({ timeout: 30_000 });
    // The resolution defaults to a test.
    expect(await card.getByLabel('What happened').inputValue()).toBe('test');
    await card.getByRole('button', { name: /^Resolve alarm/ }).click();
    await card.getByRole('button', { name: /^Yes, resolve alarm/ }).click();
    await until(async () => (await card.count()) === 0, 15_000, 'the TEST alarm to leave the board');
    await admin
      .locator('#resolved li', { hasText: /TEST SOS.*as a test/ })
      .first()
      .waitFor();
    await admin.context().close();
  });
});

/** A visit Sam is out on, already past its expected return (the watcher raises it within 15 s). */
/** Sam out on a Lime Hills visit, left `leftAgo` minutes ago and due back in `backIn` (negative: overdue). */
async function samOut(reason: string, leftAgo: number, backIn: number): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by, lead_user_id,
       departed_at, expected_return_at, worker_phone)
     SELECT 'lime', 'P1', $1, $2, (now() AT TIME ZONE 'Europe/London')::date, 'departed', u.id, u.id,
       now() - make_interval(mins => $3), now() + make_interval(mins => $4), u.phone
     FROM users u WHERE u.username = 'sam' RETURNING id`,
    [
      reason,
      JSON.stringify({ line1: '14 Rosebank Terrace', town: 'Leeds', postcode: 'LS6 2QT' }),
      leftAgo,
      backIn,
    ],
  );
  return String(rows[0]!.id);
}

/** Sam's phone (375 × 667, touch) signed in, on the visit's page. */
async function samsPhoneOn(visit: string): Promise<{ ctx: BrowserContext; sam: Page }> {
  const ctx = await browser.newContext({
    viewport: { width: 375, height: 667 },
    isMobile: true,
    hasTouch: true,
  });
  const sam = await signIn(ctx, 'sam');
  await sam.goto(`${base}/visits/${visit}`);
  return { ctx, sam };
}

async function overdueVisit(reason: string): Promise<string> {
  return samOut(reason, 120, -1);
}

describe('a worker out is watched until back safe', () => {
  it('a late worker sets a new return time and the overdue alarm stands down', async () => {
    const office = await signIn(
      await browser.newContext({ viewport: { width: 1280, height: 900 } }),
      'office',
    );
    await office.getByText('Live', { exact: true }).waitFor();
    const visitId = await overdueVisit('late worker e2e');
    const card = office.locator('li.alarm', { hasText: 'OVERDUE VISIT' }).filter({ hasText: 'Amelia' });
    await card.first().waitFor({ timeout: 30_000 });

    const sam = await signIn(
      await browser.newContext({ viewport: { width: 360, height: 780 }, isMobile: true, hasTouch: true }),
      'sam',
    );
    const said: string[] = [];
    sam.on('console', (m) => said.push(m.text()));
    await sam.goto(`${base}/visits/${visitId}`);
    await sam.getByRole('heading', { name: 'Running late' }).waitFor();
    // The worker sees what the office sees.
    await sam.locator('#out-banner', { hasText: 'You are overdue' }).waitFor();
    // A page that opens overdue does not try to buzz before the worker has touched it (the browser
    // refuses, with an error in the console).
    expect(said.filter((l) => /vibrate/i.test(l))).toEqual([]);
    // Overdue, the worker checks in: the office's card says so, for them to call and close it.
    await sam.getByRole('button', { name: 'Check in: I am safe' }).click();
    await sam.getByRole('status').filter({ hasText: 'Checked in.' }).waitFor();
    await card
      .first()
      .locator('.checked-in-since', { hasText: /after this alarm was raised/ })
      .waitFor({ timeout: 35_000 });
    await sam.screenshot({ path: join(OUT, 'visit-phone-overdue.png'), fullPage: true });
    expect(await axe(sam)).toEqual([]);
    // A time that has passed is refused on the page, never sent as "that time tomorrow".
    await sam.getByLabel('New return time').fill(londonHhmm(new Date(Date.now() - 5 * 60_000)));
    await sam.getByLabel('Why').fill('Parent arrived late');
    await sam.getByRole('button', { name: 'Set the new return time' }).click();
    await sam
      .getByRole('alert')
      .filter({ hasText: /is not within the next 4 hours .*choose a time up to/ })
      .waitFor();
    await sam.locator('#out-banner', { hasText: 'You are overdue' }).waitFor();
    const hhmm = londonHhmm(new Date(Date.now() + 45 * 60_000));
    await sam.getByLabel('New return time').fill(hhmm);
    await sam.getByLabel('Why').fill('Parent arrived late');
    await sam.getByRole('button', { name: 'Set the new return time' }).click();
    // Said quietly, or as an alert when the watch would first reach only the office's screen (out of
    // hours this school's ladders tell the board alone at first): whichever, it is recorded.
    await sam
      .locator('#message', { hasText: /New return time \d\d:\d\d( on \w+ \d+ \w+)? recorded/ })
      .waitFor();

    // The board: the alarm has stood down (resolved as safe, running late), and the visit is watched
    // against the new time.
    await until(async () => (await card.count()) === 0, 15_000, 'the overdue alarm to stand down');
    await office
      .locator('#resolved li', { hasText: /OVERDUE VISIT.*as the worker is safe, running late/ })
      .first()
      .waitFor();
    await office
      .locator('#today li.visit', { hasText: `back by ${hhmm}` })
      .first()
      .waitFor();
    await backSafe(sam);
    await sam.getByText(/Back safe at \d\d:\d\d/).waitFor();
  });

  it('at the door: after the 20-minute wait the phone page prompts and offers "No answer", which records the outcome (Thames View 3.4)', async () => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by, lead_user_id,
         departed_at, arrived_at, expected_return_at, worker_phone)
       SELECT 'lime', 'P1', 'door e2e', $1, (now() AT TIME ZONE 'Europe/London')::date, 'departed', u.id, u.id,
         now() - interval '40 minutes', now() - interval '21 minutes', now() + interval '1 hour', u.phone
       FROM users u WHERE u.username = 'sam' RETURNING id`,
      [JSON.stringify({ line1: '14 Rosebank Terrace', town: 'Leeds', postcode: 'LS6 2QT' })],
    );
    const sam = await signIn(
      await browser.newContext({ viewport: { width: 360, height: 780 }, isMobile: true, hasTouch: true }),
      'sam',
    );
    await sam.goto(`${base}/visits/${rows[0]!.id}`);
    await sam.locator('#door-wait', { hasText: 'wait no longer than 20 minutes' }).waitFor();
    // 21 minutes: "no answer" is open; the late-parent cancellation (over 30) is not yet.
    expect(await sam.getByRole('button', { name: /parent over 30 minutes late/ }).count()).toBe(0);
    await sam.screenshot({ path: join(OUT, 'visit-phone-door-wait.png'), fullPage: true });
    expect(await axe(sam)).toEqual([]);
    await sam.getByRole('button', { name: 'No answer' }).click();
    await sam.getByRole('status').filter({ hasText: 'Recorded as no answer' }).waitFor();
    await sam.locator('#outcome-summary', { hasText: 'no one home' }).waitFor();
    expect(await sam.getByRole('button', { name: 'No answer' }).count()).toBe(0);
    await backSafe(sam);
    await sam
      .getByText(/Completed/)
      .first()
      .waitFor();
  });

  it("the fob a worker is out with reports a low battery: it is on the office's visit card and across the worker's phone page", async () => {
    const visit = await samOut('battery e2e', 10, 60);
    await db.query(`UPDATE visits SET fob_device_id = 'PS-0042' WHERE id = $1`, [visit]);
    await publisher.publishAsync(
      topic,
      JSON.stringify({
        event_id: `${id}-battery-1`,
        device: { id: 'PS-0042' },
        type: 'LOW_BATTERY',
        battery: 9,
        occurred_at: new Date().toISOString(),
      }),
      { qos: 1 },
    );
    await until(
      async () =>
        (await db.query(`SELECT 1 FROM fob_events WHERE vendor_event_id = $1`, [`${id}-battery-1`])).rows
          .length === 1,
      15_000,
      'the battery report to be stored',
    );
    const office = await signIn(
      await browser.newContext({ viewport: { width: 1280, height: 900 } }),
      'office',
    );
    await office
      .locator('#today li.visit', { hasText: 'Fob battery low (9%)' })
      .filter({ hasText: 'ask Sam Visitor to check in by phone' })
      .first()
      .waitFor();
    const sam = await signIn(
      await browser.newContext({ viewport: { width: 360, height: 780 }, isMobile: true, hasTouch: true }),
      'sam',
    );
    await sam.goto(`${base}/visits/${visit}`);
    await sam.locator('#out-banner', { hasText: 'Your fob reported a low battery (9%)' }).waitFor();
    await expectFits360(sam, 'the visit page with a low fob battery');
    await backSafe(sam);
    await sam.getByText(/Back safe at \d\d:\d\d/).waitFor();
    await office.context().close();
    await sam.context().close();
  });

  it('a worker presses "I need help" on the phone page and the office board shows an SOS for the visit', async () => {
    const office = await signIn(
      await browser.newContext({ viewport: { width: 1280, height: 900 } }),
      'office',
    );
    await office.getByText('Live', { exact: true }).waitFor();
    const visit = await samOut('help e2e', 10, 60);
    const sam = await signIn(
      await browser.newContext({ viewport: { width: 360, height: 780 }, isMobile: true, hasTouch: true }),
      'sam',
    );
    await sam.goto(`${base}/visits/${visit}`);
    await sam.getByRole('button', { name: 'I need help' }).click();
    await sam.getByRole('status').filter({ hasText: 'Help requested' }).waitFor();
    // This school has no SMS or other channel to a person: every message of the ladder fails, and
    // the phone says so — never "passed on" — and tells the worker to phone.
    await sam
      .locator('#out-banner', {
        hasText: 'every message to people’s phones failed: no one may know yet. Phone the office now',
      })
      .waitFor({ timeout: 30_000 });
    // The card says the phone page raised it, not a fob.
    const card = office.locator('li.alarm.unacknowledged', {
      hasText: /I NEED HELP \(phone\) — Sam Visitor/,
    });
    await card.first().waitFor({ timeout: 5_000 });
    await expect(card.first().textContent()).resolves.toMatch(/14 Rosebank Terrace/);
    const helpId = await card.first().getAttribute('data-alarm-id');
    const help = office.locator(`li.alarm[data-alarm-id="${helpId}"]`);
    await help.getByRole('button', { name: /^Acknowledge alarm/ }).click();
    // The worker sees that a person has taken it, and that the police are theirs to call if in danger.
    await sam
      .locator('#out-banner', { hasText: 'The office has taken your alarm and is dealing with it' })
      .waitFor({ timeout: 30_000 });
    await expect(sam.locator('#call-999').getAttribute('href')).resolves.toBe('tel:999');
    await backSafe(sam);
    await sam.getByText(/Back safe at \d\d:\d\d/).waitFor();
    // The office closes it as the worker safe.
    await help.locator('.badge-ack').waitFor();
    await help.getByLabel('What happened').selectOption('worker_safe_contacted');
    await help.getByRole('button', { name: /^Resolve alarm/ }).click();
    // The question is where the keyboard (and a screen reader) is now.
    await until(
      async () =>
        (await office.evaluate(
          `document.activeElement?.matches('li.alarm[data-alarm-id="${helpId}"] .confirm p') === true`,
        )) === true,
      5_000,
      'focus on the resolve question',
    );
    await help.getByRole('button', { name: /^Yes, resolve alarm/ }).click();
    await until(async () => (await help.count()) === 0, 15_000, 'the SOS to leave the board');
    await office
      .locator('#resolved li', {
        hasText: /I NEED HELP \(phone\).*as the worker is safe: the office spoke to them/,
      })
      .first()
      .waitFor();
  });

  it('just said back safe (by the partner, say), the phone page still offers "I need help" at its top, and it raises', async () => {
    const visit = await samOut('help after back e2e', 30, 30);
    await db.query(`UPDATE visits SET returned_at = now(), status = 'returned' WHERE id = $1`, [visit]);
    const sam = await signIn(
      await browser.newContext({ viewport: { width: 360, height: 780 }, isMobile: true, hasTouch: true }),
      'sam',
    );
    await sam.goto(`${base}/visits/${visit}`);
    const section = sam.locator('#help-after-back', { hasText: /Marked back safe at \d\d:\d\d/ });
    await section.getByRole('button', { name: 'I need help' }).click();
    await sam.getByRole('status').filter({ hasText: 'Help requested' }).waitFor();
    await sam
      .locator('#help-after-back', { hasText: /Your alarm is (with the office|on the office’s screen)/ })
      .waitFor({ timeout: 30_000 });
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM alarms WHERE visit_id = $1 AND type = 'sos' AND status = 'open'`,
      [visit],
    );
    expect(rows[0]!.n).toBe(1);
    // Closed as a person would close it (the board lists it under Resolved with its reason).
    await db.query(
      `UPDATE alarms SET status = 'resolved', resolved_at = now(), resolved_by = 'user:e2e',
         resolution_reason = 'worker_safe_contacted' WHERE visit_id = $1`,
      [visit],
    );
    // Past the hour the server keeps it at the top for (it says so: backSafe.help), the page no longer
    // offers it there; "I am still out" stays.
    await db.query(
      `UPDATE visits SET departed_at = now() - interval '91 minutes', returned_at = now() - interval '61 minutes'
       WHERE id = $1`,
      [visit],
    );
    await sam.reload();
    const later = sam.locator('#help-after-back', { hasText: /Marked back safe at \d\d:\d\d/ });
    await later.getByRole('button', { name: 'I am still out' }).waitFor();
    expect(await later.getByRole('button', { name: 'I need help' }).count()).toBe(0);
  });

  it('"I need help" without a connection says the alarm was NOT sent, in the largest words, and sends it once the phone is back; its position follows', async () => {
    const visit = await samOut('help offline e2e', 10, 60);
    // A small phone (375 × 667): "I need help" is on the first screen, above the pupil's details.
    const ctx = await browser.newContext({
      viewport: { width: 375, height: 667 },
      isMobile: true,
      hasTouch: true,
      permissions: ['geolocation'],
      geolocation: { latitude: 53.7997, longitude: -1.5492, accuracy: 25 },
    });
    const sam = await signIn(ctx, 'sam');
    await sam.goto(`${base}/visits/${visit}`);
    const help = sam.getByRole('button', { name: 'I need help' });
    await help.waitFor();
    const box = await help.boundingBox();
    expect(box!.y + box!.height).toBeLessThanOrEqual(667);
    const alarms = async () =>
      (await db.query<{ location: unknown }>('SELECT location FROM alarms WHERE visit_id = $1', [visit]))
        .rows;
    await ctx.setOffline(true);
    await help.click();
    const notSent = sam.locator('#help-not-sent[role="alert"]', { hasText: 'YOUR ALARM WAS NOT SENT' });
    await notSent.waitFor();
    await expect(notSent.locator('a[href="tel:999"]').count()).resolves.toBe(1);
    expect(await alarms()).toEqual([]);
    // Signal again: the page's own retry sends it (no second press), and says so.
    await ctx.setOffline(false);
    await sam.getByRole('status').filter({ hasText: 'Help requested' }).waitFor({ timeout: 30_000 });
    await expect(notSent.count()).resolves.toBe(0);
    const located = await until(
      async () => (await alarms())[0]?.location,
      30_000,
      "the phone's position on the help alarm",
    );
    expect(located).toMatchObject({ lat: 53.7997, lon: -1.5492 });
    expect(await alarms()).toHaveLength(1);
    // Put away for the tests after this one: the worker back, the alarm closed.
    await db.query(
      `UPDATE alarms SET status = 'resolved', resolved_at = now(), resolution_reason = 'worker_safe' WHERE visit_id = $1`,
      [visit],
    );
    await db.query(`UPDATE visits SET returned_at = now(), status = 'returned' WHERE id = $1`, [visit]);
    await ctx.close();
  });

  it('"I need help" whose answer was lost, pressed again, is the same press: one alarm, one ladder', async () => {
    const visit = await samOut('help answer lost e2e', 10, 60);
    const { ctx, sam } = await samsPhoneOn(visit);
    const help = sam.getByRole('button', { name: 'I need help' });
    await help.waitFor();
    // The first press reaches Doorstep (its alarm raised), but its answer never reaches the phone.
    let reached = 0;
    await sam.route('**/api/visits/*/help', async (route) => {
      reached++;
      await route.fetch();
      await route.abort('connectionreset');
    });
    await help.click();
    const notSent = sam.locator('#help-not-sent[role="alert"]', { hasText: 'YOUR ALARM WAS NOT SENT' });
    await notSent.waitFor();
    await sam.unroute('**/api/visits/*/help');
    expect(reached).toBe(1);
    // The worker, told it was not sent, presses again before the page's own retry.
    await help.click();
    await sam.getByRole('status').filter({ hasText: 'Help requested' }).waitFor({ timeout: 30_000 });
    const { rows } = await db.query<{ id: string }>('SELECT id FROM alarms WHERE visit_id = $1', [visit]);
    expect(rows).toHaveLength(1);
    await db.query(
      `UPDATE alarms SET status = 'resolved', resolved_at = now(), resolution_reason = 'worker_safe' WHERE visit_id = $1`,
      [visit],
    );
    await db.query(`UPDATE visits SET returned_at = now(), status = 'returned' WHERE id = $1`, [visit]);
    await ctx.close();
  });

  it('a phone out on a visit that loses Doorstep says so over everything at its next re-read, and clears when it is back', async () => {
    const visit = await samOut('phone offline e2e', 10, 60);
    const { ctx, sam } = await samsPhoneOn(visit);
    await sam.getByRole('button', { name: 'I need help' }).waitFor();
    // The server unreachable for its re-reads (every 20 s).
    await sam.route('**/api/visits/**', (route) => route.abort('connectionrefused'));
    const banner = sam.locator('#no-connection[role="alert"]', { hasText: 'NO CONNECTION TO DOORSTEP' });
    await banner.waitFor({ timeout: 45_000 });
    await expect(banner.locator('a[href="tel:999"]').count()).resolves.toBe(1);
    await sam.unroute('**/api/visits/**');
    await banner.waitFor({ state: 'detached', timeout: 45_000 });
    await db.query(`UPDATE visits SET returned_at = now(), status = 'returned' WHERE id = $1`, [visit]);
    await ctx.close();
  });

  it('a phone whose server hangs (no answer, no error) says NO CONNECTION at its next re-read; its check-in button is in the first screen', async () => {
    const visit = await samOut('phone hang e2e', 10, 60);
    const { ctx, sam } = await samsPhoneOn(visit);
    const checkIn = sam.getByRole('button', { name: 'Check in: I am safe' });
    await checkIn.waitFor();
    // Above the pupil's details: "check in now" is never said over a button out of sight.
    const box = await checkIn.boundingBox();
    expect(box).not.toBeNull();
    expect(box!.y + box!.height).toBeLessThanOrEqual(667);
    // The server takes each re-read and never answers (a hung process, a signal that holds the request).
    const held: (() => void)[] = [];
    await sam.route('**/api/visits/**', (route) => {
      held.push(() => route.abort('connectionrefused').catch(() => {}));
    });
    const banner = sam.locator('#no-connection[role="alert"]', { hasText: 'NO CONNECTION TO DOORSTEP' });
    await banner.waitFor({ timeout: 60_000 });
    await sam.unroute('**/api/visits/**');
    for (const release of held) release();
    await banner.waitFor({ state: 'detached', timeout: 45_000 });
    await db.query(`UPDATE visits SET returned_at = now(), status = 'returned' WHERE id = $1`, [visit]);
    await ctx.close();
  }, 120_000);

  it('a board whose stream goes silent (the server hung: no error comes) stops saying Live and says alarms are not arriving', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const office = await signIn(ctx, 'office');
    await office.getByText('Live', { exact: true }).waitFor();
    // Every new stream is taken and never answered; the one open falls silent without an error.
    const held: (() => void)[] = [];
    await office.route('**/board/events**', (route) => {
      held.push(() => route.abort('connectionrefused').catch(() => {}));
    });
    await office.evaluate(() => {
      const b = (globalThis as unknown as { doorstepBoard: { source: EventSource } }).doorstepBoard;
      b.source.close(); // closed by hand: no error event, nothing more arrives
    });
    await office.getByText('Reconnecting…', { exact: true }).waitFor({ timeout: 30_000 });
    const banner = office.locator('#board-unreachable[role="alert"]', {
      hasText: 'DOORSTEP IS UNREACHABLE: ALARMS ARE NOT ARRIVING',
    });
    // Said 25 s after the board last heard from the server (a heartbeat every 5 s), not after a minute.
    await banner.waitFor({ timeout: 45_000 });
    await office.unroute('**/board/events**');
    for (const release of held) release();
    await office.getByText('Live', { exact: true }).waitFor({ timeout: 60_000 });
    await until(async () => (await banner.count()) === 0, 15_000, 'the warning to go');
    await ctx.close();
  }, 150_000);

  it('a board that loses its connection says over everything that alarms are not arriving, and clears when it is back', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const office = await signIn(ctx, 'office');
    await office.getByText('Live', { exact: true }).waitFor();
    // The server goes away: its stream ends, and every new one fails.
    await office.route('**/board/events**', (route) => route.abort('connectionrefused'));
    await office.evaluate(() => {
      const b = (globalThis as unknown as { doorstepBoard: { source: EventSource } }).doorstepBoard;
      b.source.close();
      b.source.dispatchEvent(new Event('error'));
    });
    const banner = office.locator('#board-unreachable[role="alert"]', {
      hasText: 'DOORSTEP IS UNREACHABLE: ALARMS ARE NOT ARRIVING',
    });
    await banner.waitFor({ timeout: 60_000 });
    await expect(office.locator('#content.stale').count()).resolves.toBe(1);
    await office.unroute('**/board/events**');
    await office.getByText('Live', { exact: true }).waitFor({ timeout: 60_000 });
    await until(async () => (await banner.count()) === 0, 15_000, 'the warning to go');
    await expect(office.locator('#content.stale').count()).resolves.toBe(0);
    await ctx.close();
  }, 120_000);

  it('an acknowledged overdue alarm fires again when its acknowledgement times out', async () => {
    const office = await signIn(
      await browser.newContext({ viewport: { width: 1280, height: 900 } }),
      'office',
    );
    await office.getByText('Live', { exact: true }).waitFor();
    const visitId = await overdueVisit('ack timeout e2e');
    const open = office.locator('li.alarm.unacknowledged', { hasText: 'OVERDUE VISIT' });
    await open.first().waitFor({ timeout: 30_000 });
    await open
      .first()
      .getByRole('button', { name: /^Acknowledge alarm/ })
      .click();
    const acked = office.locator('li.alarm.acknowledged', { hasText: 'OVERDUE VISIT' });
    await acked.first().waitFor();
    await expect(acked.first().textContent()).resolves.toMatch(/opens again at \d\d:\d\d unless resolved/);
    // 6 s later (plus the watcher's 15 s tick) the worker is still not safe: unacknowledged again, sounding.
    await open.first().waitFor({ timeout: 40_000 });
    await expect(open.first().textContent()).resolves.toMatch(/NO ONE HAS RESPONDED/);
    await until(
      async () => (await office.evaluate('document.body.dataset.sounding')) === 'true',
      15_000,
      'the sound',
    );
    // Back safe ends it: the alarm stands down as safe.
    const sam = await signIn(await browser.newContext(), 'sam');
    await sam.goto(`${base}/visits/${visitId}`);
    await backSafe(sam);
    await sam.getByText(/Back safe at \d\d:\d\d/).waitFor();
    await until(
      async () => (await office.locator('li.alarm', { hasText: 'OVERDUE VISIT' }).count()) === 0,
      15_000,
      'the alarm to stand down',
    );
  });
});

describe('the board across a restart', () => {
  it('misses nothing: an alarm raised while the server was down is on the board when it reconnects', async () => {
    const ctx = await browser.newContext();
    const board = await signIn(ctx, 'office');
    await board.getByText('Live', { exact: true }).waitFor();
    // 'Live' can come before the first read of the board has drawn it: wait for the alarms section,
    // then check nothing is unacknowledged before the server goes down.
    await board.locator('#alarms').waitFor();
    expect(await board.locator('li.alarm.unacknowledged').count()).toBe(0);
    const t0 = Date.now();
    stopping = true;
    server.child.kill('SIGTERM');
    await server.exited;
    const stopped = Date.now() - t0;
    await board.getByText('Reconnecting…').waitFor();
    await sos(2); // held by the broker for Doorstep's persistent session
    server = runCli(['start', '--config', configFile], serverEnv);
    stopping = false;
    sayIfEndedEarly(server);
    await waitForHttp(`${base}/readyz`, 200, 30_000);
    const ready = Date.now() - t0;
    await board.locator('li.alarm.unacknowledged').first().waitFor({ timeout: 30_000 });
    console.log(
      `restart: stopped after ${stopped} ms, ready after ${ready} ms, alarm on the board after ${Date.now() - t0} ms`,
    );
    await board.getByText('Live', { exact: true }).waitFor();
    expect(await board.locator('li.alarm.unacknowledged').count()).toBe(1);
  });
});
