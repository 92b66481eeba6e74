import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { launchChromium, sendVisitRequest } from '../helpers/browser.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { freePort, runCli, type Spawned, waitForHttp, writeTempConfig } from '../helpers/spawn.ts';

const PASSWORD = 'e2e correct horse battery';
const SHOTS = process.env.ARRIVAL_SHOTS ?? 'test-results';
const id = uniqueName('arr');
let base: string;
let server: Spawned;
let stopping = false;
let db: Db;
let browser: Browser;

const londonHhmm = (d: Date) =>
  new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/London',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(d);

async function signIn(username: string, width = 1280): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width, height: 900 } })).newPage();
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  return page;
}

/**
 * An authorised King's Gomer visit Sam asked for and leads (risk assessed, out of hours approved), the family told by letter
 * unless `familyTold` is false.
 */
async function authorisedVisit(reason: string, familyTold = true): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by, lead_user_id,
       authorised_by, authorised_at, risk_level, risk_assessed_at, out_of_hours_approved, family_notice)
     SELECT 'gomer', 'P1', $1, $2, (now() AT TIME ZONE 'Europe/London')::date, 'authorised', u.id, u.id,
       d.id, now(), 'low', now(), true, $3
     FROM users u, users d WHERE u.username = 'sam' AND d.username = 'dsl' RETURNING id`,
    [
      reason,
      JSON.stringify({ line1: '14 Rosebank Terrace', town: 'Leeds', postcode: 'LS6 2QT' }),
      familyTold
        ? JSON.stringify({
            method: 'letter',
            exemption: null,
            note: null,
            at: new Date().toISOString(),
            by: null,
          })
        : null,
    ],
  );
  return rows[0]!.id;
}

beforeAll(async () => {
  const policies = mkdtempSync(join(tmpdir(), 'doorstep-arr-policies-'));
  for (const p of ['statutory', 'kings-gomer', 'hampton'])
    copyFileSync(`config/policies/${p}.yaml`, join(policies, `${p}.yaml`));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const { file } = writeTempConfig(`
trust: { id: t, name: Trust }
redis: { prefix: ${id.replace(/_/g, '-')} }
store: { schema: ${id} }
http: { port: ${port} }
policiesDir: ${policies}
schools:
  - id: gomer
    name: King's Academy Gomer
    phone: "01632 960123"
    mis: { kind: csv, dropFolder: ./data/drop/arr }
    records: { sink: preview }
    policies: [statutory, kings-gomer]
  - id: hampton
    name: Hampton Infant School
    phone: "01632 960124"
    mis: { kind: csv, dropFolder: ./data/drop/arr-h }
    records: { sink: preview }
    policies: [statutory, hampton]
`);
  server = runCli(['start', '--config', file], { DATABASE_URL: TEST_DATABASE_URL, LOG_LEVEL: 'warn' });
  // A server that ends before the tests stop it says why (its own last words), not only
  // "connection refused" at the next page.
  void server.exited.then((e) => {
    if (!stopping)
      console.error(`doorstep start ended early (${e.signal ?? e.code}):\n${server.stderr().slice(-6000)}`);
  });
  await waitForHttp(`${base}/readyz`, 200, 60_000);
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema: id });
  await db.query(
    `INSERT INTO pupils (school_id, mis_id, upn, forename, surname, year_group, address) VALUES ('gomer', 'P1', 'A123456789012', 'Amelia', 'Okonkwo', '4', $1)`,
    [JSON.stringify({ line1: '14 Rosebank Terrace', town: 'Leeds', postcode: 'LS6 2QT' })],
  );
  await db.query(
    `INSERT INTO pupils (school_id, mis_id, upn, forename, surname, year_group, address) VALUES ('hampton', 'H1', 'B123456789012', 'Noah', 'Adeyemi', 'R', $1)`,
    [JSON.stringify({ line1: '3 Mill Lane', town: 'Leeds', postcode: 'LS7 1AB' })],
  );
  for (const [u, n, r, more] of [
    ['office', 'Olive Office', 'office', []],
    ['sam', 'Sam Visitor', 'visiting-staff', ['-s', 'gomer']],
    ['dsl', 'Dee Safeguarding', 'safeguarding', []],
    ['tess', 'Tess Teacher', 'visiting-staff', ['-s', 'hampton']],
    ['hos', 'Hana Head', 'office', ['-s', 'hampton', '-p', 'head-of-school']],
  ] as const) {
    const p = runCli(['user', 'add', '-c', file, '-u', u, '-n', n, '-r', r, ...more], {
      DATABASE_URL: TEST_DATABASE_URL,
      DOORSTEP_PASSWORD: PASSWORD,
    });
    if ((await p.exited).code !== 0) throw new Error(p.stderr());
  }
  await db.query(
    `UPDATE users SET phone = '+447700900123', home_visit_trained_on = '2025-09-01', safeguarding_trained_on = '2025-09-01' WHERE username = 'sam'`,
  );
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  stopping = true;
  server?.child.kill('SIGTERM');
  await server?.exited;
  await db?.close();
  await dropSchema(id);
  await dropRedisPrefix(new Redis(TEST_REDIS_URL), id.replace(/_/g, '-'));
});

describe("King's Gomer: the estimated arrival", () => {
  it('the form asks for it, the Needed list names it, leaving records it, the board shows it until arrival', async () => {
    const visit = await authorisedVisit('arrival walk');
    const sam = await signIn('sam', 390);
    await sam.goto(`${base}/visits/${visit}`);
    const arrive = sam.getByLabel('Arriving at about');
    await arrive.waitFor();
    await sam.getByLabel('Expected back at').fill(londonHhmm(new Date(Date.now() + 60 * 60_000)));
    await sam.getByLabel('I have read the risk notes and address flags above').check();
    // "carry photo identification": asked on the form, named in the Needed list until confirmed.
    const idNeeded = sam.getByText(/Needed: the policy asks you to carry your identification/);
    await idNeeded.waitFor();
    await sam.getByLabel('I carry my identification (ID badge on show, photo ID)').check();
    await idNeeded.waitFor({ state: 'detached' });
    const needed = sam.getByText(
      'Needed: the policy asks you to tell the office your estimated arrival time',
    );
    await needed.waitFor();
    await sam.screenshot({ path: join(SHOTS, '1-form-needed.png'), fullPage: true });
    await arrive.fill(londonHhmm(new Date(Date.now() + 20 * 60_000)));
    await needed.waitFor({ state: 'detached' });
    await sam.screenshot({ path: join(SHOTS, '2-form-filled.png'), fullPage: true });
    await sam.getByRole('button', { name: 'Leave for the visit' }).click();
    await sam.getByRole('button', { name: 'I have arrived' }).waitFor();
    await sam.getByText(/arriving about \d\d:\d\d/).waitFor();
    await sam.screenshot({ path: join(SHOTS, '3-visit-out.png'), fullPage: true });

    const office = await signIn('office');
    await office.goto(`${base}/board`);
    const card = office.locator('#today li.visit', { hasText: 'Amelia Okonkwo' });
    await card.waitFor();
    await expect(card.textContent()).resolves.toMatch(/arriving about \d\d:\d\d/);
    await office.screenshot({ path: join(SHOTS, '4-board-arriving.png'), fullPage: true });
    // The estimate passes with no arrival recorded: the card stops naming a time gone by.
    await db.query(`UPDATE visits SET estimated_arrival_at = now() - interval '2 minutes' WHERE id = $1`, [
      visit,
    ]);
    await office.reload();
    await office
      .locator('#today li.visit', { hasText: 'Amelia Okonkwo' })
      .filter({ hasText: /no arrival recorded \(expected about \d\d:\d\d\)/ })
      .waitFor();
    await expect(card.textContent()).resolves.not.toMatch(/arriving about/);

    await sam.getByRole('button', { name: 'I have arrived' }).click();
    await sam.getByText(/; arrived \d\d:\d\d/).waitFor();
    await sam.screenshot({ path: join(SHOTS, '5-visit-arrived.png'), fullPage: true });
    await office
      .locator('#today li.visit', { hasText: 'Amelia Okonkwo' })
      .filter({ hasNotText: 'arriving about' })
      .filter({ hasNotText: 'expected about' })
      .waitFor({ timeout: 40_000 });
    await office.screenshot({ path: join(SHOTS, '6-board-arrived.png'), fullPage: true });
  });

  it('an arrival time of now (this minute) is not silently dropped as "not given"', async () => {
    const visit = await authorisedVisit('arrival now');
    const sam = await signIn('sam', 390);
    await sam.goto(`${base}/visits/${visit}`);
    await sam.getByLabel('Arriving at about').waitFor();
    await sam.getByLabel('Expected back at').fill(londonHhmm(new Date(Date.now() + 60 * 60_000)));
    await sam.getByLabel('I have read the risk notes and address flags above').check();
    await sam.getByLabel('I carry my identification (ID badge on show, photo ID)').check();
    await sam.getByLabel('Arriving at about').fill(londonHhmm(new Date()));
    // The Needed list follows the form: once it no longer asks for the arrival, the time was read.
    await sam
      .getByText('the policy asks you to tell the office your estimated arrival time')
      .waitFor({ state: 'detached' });
    await sam.screenshot({ path: join(SHOTS, '7-arrival-now.png'), fullPage: true });
    const text = await sam.locator('main').textContent();
    expect(text).not.toMatch(/estimated arrival/);
    await sam.getByRole('button', { name: 'Leave for the visit' }).click();
    await sam.getByRole('button', { name: 'I have arrived' }).waitFor();
  });

  it('an arrival time just passed is said to have passed, not "not given"', async () => {
    const visit = await authorisedVisit('arrival passed');
    const sam = await signIn('sam', 390);
    await sam.goto(`${base}/visits/${visit}`);
    await sam.getByLabel('Arriving at about').waitFor();
    await sam.getByLabel('Expected back at').fill(londonHhmm(new Date(Date.now() + 60 * 60_000)));
    await sam.getByLabel('I have read the risk notes and address flags above').check();
    await sam.getByLabel('I carry my identification (ID badge on show, photo ID)').check();
    await sam.getByLabel('Arriving at about').fill(londonHhmm(new Date(Date.now() - 15 * 60_000)));
    await sam.getByText(/estimated arrival: it has already passed/).waitFor();
    // Leave is held while it is Needed (never pressed to be refused for it).
    expect(await sam.getByRole('button', { name: 'Leave for the visit' }).isDisabled()).toBe(true);
    await sam.screenshot({ path: join(SHOTS, '8-arrival-passed.png'), fullPage: true });
    const text = await sam.locator('main').textContent();
    expect(text).not.toMatch(/tell the office your estimated arrival time/);
    expect(text).toMatch(/estimated arrival: it has already passed/);
  });
});

describe("King's Gomer: the risk assessment weighs the timing", () => {
  it('the page says a new time sends the visit back; setting one does, and leaving waits for the authoriser again', async () => {
    const visit = await authorisedVisit('timing walk');
    const sam = await signIn('sam', 390);
    await sam.goto(`${base}/visits/${visit}`);
    await sam
      .getByText(
        'The risk assessment weighs the timing: a new time sends the visit back to be authorised and assessed again.',
      )
      .waitFor();
    await sam.getByRole('button', { name: 'Leave for the visit' }).waitFor();
    await sam.getByLabel(/^Time on /).fill('15:45');
    await sam.getByRole('button', { name: 'Record the time' }).click();
    await sam
      .getByText('Appointment recorded. The visit waits to be authorised and assessed again at its new time.')
      .waitFor();
    await sam.getByText('Waiting for authorisation by dsl or associate-head.').waitFor();
    await sam.getByText(/Arranged for .*15:45/).waitFor();
    expect(await sam.getByRole('button', { name: 'Leave for the visit' }).count()).toBe(0);
    await sam.screenshot({ path: join(SHOTS, '13-retimed-sent-back.png'), fullPage: true });
  });
});

describe("King's Gomer: visiting without telling the family first", () => {
  it('offers the persistent-absence exemption only while the pupil has a persistent-absence trigger open', async () => {
    const visit = await authorisedVisit('exemption walk', false);
    const sam = await signIn('sam', 390);
    await sam.goto(`${base}/visits/${visit}`);
    const how = sam.locator('#f-familyHow');
    await how.waitFor();
    // No trigger shows persistent absence or missing education: only the ways of telling are offered.
    expect(await how.locator('option').allTextContents()).toEqual([
      'Choose…',
      'a letter',
      'a phone call',
      'a text sent by staff from a school phone',
      'in person',
    ]);
    await sam.screenshot({ path: join(SHOTS, '9-exemption-not-offered.png'), fullPage: true });

    await db.query(
      `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
       VALUES ('gomer', 'P1', 'statutory:persistent-absence', 'Persistent absence (missing 10% or more of sessions this year)',
               'attendance-meeting', 'attendance-officer', 'open', (now() AT TIME ZONE 'Europe/London')::date, '', '{}')`,
    );
    await sam.reload();
    const exemption =
      'not told first: persistent absence (open trigger: Persistent absence (missing 10% or more of sessions this year))';
    await how.locator('option', { hasText: 'not told first' }).waitFor({ state: 'attached' });
    expect(await how.locator('option', { hasText: 'not told first' }).allTextContents()).toEqual([exemption]);
    await how.selectOption({ label: exemption });
    await sam.locator('#family-notice-form').getByRole('button', { name: 'Record' }).click();
    await sam.getByText(/^Family not told first: persistent absence/).waitFor();
    await sam.screenshot({ path: join(SHOTS, '10-exemption-recorded.png'), fullPage: true });
  });
});

describe('Hampton: a visit on the way home from work', () => {
  it('is asked for as such, waits for the head of school, who approves it, and then may leave', async () => {
    const tess = await signIn('tess', 390);
    await tess.goto(`${base}/visits`);
    await tess.getByText('Request a visit').click();
    await tess.getByLabel('Find the pupil').fill('Adeyemi');
    await tess.locator('#pupil option', { hasText: 'Noah' }).waitFor({ state: 'attached' });
    await tess.getByLabel('Reason for the visit').fill('Induction visit');
    await tess.getByLabel('Going').selectOption({ label: 'after work, on the way home' });
    await tess.getByLabel('Risk level').selectOption('low');
    await sendVisitRequest(tess, tess, 'Request visit');
    const visitUrl = tess.url();
    await tess
      .getByText(
        'Going after work, on the way home. The policy asks for approval by head-of-school before it.',
      )
      .waitFor();
    await tess
      .getByText(/a visit on the way to or from work needs prior approval \(by head-of-school\)/)
      .waitFor();
    // Visiting staff are not offered the approval: it is the head of school's.
    expect(
      await tess.getByRole('button', { name: 'Approve this visit on the way to or from work' }).count(),
    ).toBe(0);
    await tess.screenshot({ path: join(SHOTS, '11-commute-waiting.png'), fullPage: true });

    const hos = await signIn('hos');
    // The journey is the asker's own: the office's form does not offer it (nobody would lead it).
    await hos.goto(`${base}/visits`);
    await hos.getByText('Request a visit').click();
    await hos.getByLabel('Reason for the visit').waitFor();
    expect(await hos.getByLabel('Going').count()).toBe(0);
    await hos.goto(visitUrl);
    await hos.getByRole('button', { name: 'Approve this visit on the way to or from work' }).click();
    await hos.getByRole('status').filter({ hasText: 'Approved.' }).waitFor();
    await hos.getByText(/Going after work, on the way home\. Approved beforehand/).waitFor();
    await hos.screenshot({ path: join(SHOTS, '12-commute-approved.png'), fullPage: true });

    await tess.reload();
    await tess.getByText(/Approved beforehand/).waitFor();
    expect(await tess.locator('main').textContent()).not.toMatch(/needs prior approval/);
  });
});
