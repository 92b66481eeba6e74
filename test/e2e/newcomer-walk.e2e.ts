import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSetupToken } from '../../src/auth/setup-link.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { insertBoardEvent, publishBoardEvents } from '../../src/store/board.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { launchChromium } from '../helpers/browser.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { until } from '../helpers/wait.ts';
import { addUser, buildWebApp, sessionFor, TEST_PASSWORD } from '../helpers/web.ts';

/**
 * A newcomer's walk through the pages on the example configuration (the web app in-process, Debian's
 * Chromium): a clean console on every page (no favicon 404, no push-key 404 for a school without push,
 * no invalid `pattern`); the data manager records training and experience on the Accounts and
 * training page; on the visit page the "Going with" list keeps everyone else when the office picks
 * the lead, and the "Needed" list is what leaving is refused for, until Heath Lane's visit leaves
 * with the family texted from a school phone; the contacts have their own heading; the data page and
 * the board agree on the fob feed; the board words an alarm once and numbers its level in the ladder.
 */
const schema = uniqueName('newcomer-e2e');
const prefix = uniqueName('newcomer-e2e');
const config = loadConfigFile('config/doorstep.example.yaml', {});
let db: Db;
let conn: Redis;
let app: FastifyInstance;
let base = '';
let browser: Browser;
const u: Record<string, User> = {};
/** Console errors and warnings, and uncaught page errors, of every page opened (with the page's URL). */
const problems: string[] = [];

async function pageAs(who: string | null): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  if (who) {
    const s = await sessionFor(db, u[who]!);
    await ctx.addCookies([{ name: 'doorstep_session', value: s.cookie.split('=')[1]!, url: base }]);
  }
  const page = await ctx.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
  return { ctx, page };
}

/**
 * Waits for the keyboard to be where `want` says (the page places it after its re-read, which may
 * come after the line saying what was done): the element's tag, #id and words ("body" for none).
 */
async function focusOn(page: Page, want: string | RegExp, what: string): Promise<void> {
  let last = '';
  await until(
    async () => {
      last = await page.evaluate<string>(
        `(() => { const e = document.activeElement; return !e || e === document.body ? 'body' : e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + (e.textContent ?? '').trim(); })()`,
      );
      return typeof want === 'string' ? last === want : want.test(last);
    },
    10_000,
    `the focus after ${what} (${String(want)})`,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; it is on: ${last}`);
  });
}

/**
 * The elements that reach past the viewport's right edge (named, so a failure says what to fix) —
 * inside a box that scrolls sideways too, which the page's own width does not show. Not those in a
 * box hidden for screen readers only (1 px, its overflow hidden: a table's column heads on a phone).
 * `within`: a selector for the part of the page to look at.
 */
async function pastTheEdge(page: Page, within = 'body'): Promise<string[]> {
  return page.evaluate<string[]>(`(() => {
    const vw = document.documentElement.clientWidth;
    const unseen = (el) => {
      for (let a = el; a; a = a.parentElement)
        if (a.getBoundingClientRect().width <= 1 && getComputedStyle(a).overflow === 'hidden') return true;
      return false;
    };
    return [...document.querySelectorAll('${within} *')]
      .filter((el) => el.getBoundingClientRect().width > 0 && el.getBoundingClientRect().right > vw + 0.5 && !unseen(el))
      .slice(0, 8)
      .map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' → ' + Math.round(el.getBoundingClientRect().right));
  })()`);
}

/** An open alarm of Heath Lane's, raised now, and the boards told of it (as an alarm's writer does). */
async function raiseAlarm(key: string, type = 'sos'): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO alarms (school_id, dedup_key, unknown_device, type, status, raised_at, policy, escalation_step)
     VALUES ('heath-lane', $1, false, $2, 'open', now(), $3, 0) RETURNING id`,
    [key, type, JSON.stringify(config.schools[0]!.escalation.alarm)],
  );
  const id = String(rows[0]!.id);
  await publishBoardEvents(conn, prefix, [
    await insertBoardEvent(db, 'heath-lane', 'alarm.raised', { alarmId: id }),
  ]);
  return id;
}

/** The London clock an hour from now, as a time input takes it. */
const inAnHour = () =>
  new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/London',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(Date.now() + 3_600_000));

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix, publisher: conn });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await dropRedisPrefix(conn, prefix);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

describe('a newcomer on the example configuration', () => {
  it('the setup page and the sign-in page leave nothing in the console', async () => {
    const token = await newSetupToken(db, new Date());
    const { ctx, page } = await pageAs(null);
    await page.goto(`${base}/setup?token=${token}`);
    await page.getByRole('heading', { name: 'Setting up Doorstep' }).waitFor();
    await page.getByLabel('Username').fill('ada.admin');
    // The pattern is in force (the browser compiled it): an upper-case name is invalid.
    await page.getByLabel('Username').fill('Ada');
    expect(
      await page
        .getByLabel('Username')
        .evaluate(
          (el) => (el as unknown as { validity: { patternMismatch: boolean } }).validity.patternMismatch,
        ),
    ).toBe(true);
    await page.goto(`${base}/login`);
    await page.getByRole('button', { name: /sign in/i }).waitFor();
    await page.waitForTimeout(500); // the favicon is asked for after load
    await ctx.close();
    expect(problems).toEqual([]);
  });

  it('the data manager records training and experience on the Accounts and training page', async () => {
    u.admin = await addUser(db, 'ada', ['admin', 'office'], { displayName: 'Ada Admin' });
    u.data = await addUser(db, 'dora', ['data-manager'], {
      schools: ['heath-lane'],
      displayName: 'Dora Data',
    });
    u.dsl = await addUser(db, 'dan', ['safeguarding', 'visiting-staff'], {
      schools: ['heath-lane'],
      positions: ['dsl'],
      displayName: 'Dan DSL',
      phone: '+447700900123',
    });
    u.office = await addUser(db, 'olive', ['office'], {
      schools: ['heath-lane'],
      displayName: 'Olive Office',
    });
    u.vera = await addUser(db, 'vera', ['visiting-staff'], {
      schools: ['heath-lane'],
      staffId: 'hl-staff-017',
      phone: '+447700900124',
      displayName: 'Vera Visit',
    });
    u.wes = await addUser(db, 'wes', ['visiting-staff'], {
      schools: ['heath-lane'],
      phone: '+447700900125',
      displayName: 'Wes Visit',
    });
    const { ctx, page } = await pageAs('data');
    await page.goto(`${base}/users`);
    await page.getByRole('link', { name: 'Staff training' }).waitFor();
    await page.getByRole('heading', { name: 'Staff training and experience' }).waitFor();
    expect(await page.locator('#training li').allTextContents()).toEqual([
      expect.stringMatching(
        /^Heath Lane Academy: home-visit training recorded for everyone going; a first home visit/,
      ),
    ]);
    // The page is read again after each save; a slow read (a busy server) must not leave the next
    // person's form on a page about to be replaced: "Training recorded" is said once it is drawn.
    await page.route('**/api/training', async (route) => {
      await new Promise((r) => setTimeout(r, 1_000));
      await route.continue();
    });
    for (const [who, experienced] of [
      ['vera', true],
      ['wes', false],
    ] as const) {
      await page.getByText(`Record training for ${who}`).click();
      await page.locator(`#t-homeVisitTrainedOn-${u[who]!.id}`).fill('2026-09-01');
      if (experienced) await page.locator(`#t-experienced-${u[who]!.id}`).check();
      await page.getByRole('button', { name: `Save training for ${who}` }).click();
      await page.getByText(`Training recorded for ${u[who]!.displayName}.`).waitFor();
      // The keyboard is back where it was: the form is closed again, so on what opens it.
      await focusOn(page, `summary Record training for ${u[who]!.displayName}`, 'saving training');
      // Said once the page is drawn again: the row already shows what was saved (read at once, not
      // waited for).
      expect(await page.locator(`#training tr[data-user-id="${u[who]!.id}"]`).textContent()).toMatch(
        /1 Sept? 2026/,
      );
    }
    const vera = page.locator(`#training tr[data-user-id="${u.vera!.id}"]`);
    await vera.getByText(/^yes \(recorded /).waitFor();
    expect(await vera.locator('td').nth(5).textContent()).toMatch(/ by Dora Data$/);
    // On a phone (360 px) the form opened stands under the person's records, its date boxes and Save
    // in view — not in the last column of a table scrolling sideways, cut off.
    await page.setViewportSize({ width: 360, height: 780 });
    await page.getByText('Record training for wes').click();
    await page.getByRole('button', { name: 'Save training for wes' }).waitFor();
    expect(await pastTheEdge(page), 'the training form at 360 px').toEqual([]);
    await ctx.close();
    // The accounts' edit forms, as the admin sees them, likewise.
    const admin = await pageAs('admin');
    await admin.page.setViewportSize({ width: 360, height: 780 });
    await admin.page.goto(`${base}/users`);
    await admin.page.getByText('Edit vera').click();
    await admin.page.getByRole('button', { name: 'Save vera' }).waitFor();
    expect(await pastTheEdge(admin.page), 'the accounts at 360 px').toEqual([]);
    // The audit page's filters at 360 px: each label nearest its own box (they wrapped apart, "From"
    // ending the line of the action's box, its own date box on the next), nothing past the edge.
    await admin.page.goto(`${base}/audit`);
    await admin.page.getByRole('button', { name: 'Filter' }).waitFor();
    expect(
      await admin.page.evaluate<string[]>(`(() => {
        const form = document.querySelector('form');
        const boxes = [...form.querySelectorAll('input, select')];
        const gap = (a, b) => Math.hypot(
          Math.max(0, a.left - b.right, b.left - a.right),
          Math.max(0, a.top - b.bottom, b.top - a.bottom),
        );
        return [...form.querySelectorAll('label[for]')].flatMap((l) => {
          const r = l.getBoundingClientRect();
          const nearest = boxes.reduce((n, b) =>
            gap(r, b.getBoundingClientRect()) < gap(r, n.getBoundingClientRect()) ? b : n);
          return nearest.id === l.htmlFor ? [] : [l.textContent + ' is nearest #' + nearest.id];
        });
      })()`),
      'the audit filters at 360 px',
    ).toEqual([]);
    // (Its entries' table scrolls sideways inside itself, as wide tables do.)
    expect(await pastTheEdge(admin.page, 'form'), 'the audit filters at 360 px').toEqual([]);
    await admin.ctx.close();
    expect(problems).toEqual([]);
  });

  it('on the visit page: the partner list keeps everyone, the Needed list is what leaving is refused for, and it leaves', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ('heath-lane', '9002', 'Kofi', 'Mensah', $1)`,
      [JSON.stringify({ line1: '7 Beck Side', town: 'Exampleton', postcode: 'EX1 2AB' })],
    );
    await db.query(
      `INSERT INTO pupil_contacts (school_id, pupil_mis_id, priority, name, relationship, phone, parental_responsibility)
       VALUES ('heath-lane', '9002', 1, 'Parent of Kofi', 'Mother', '07700 900011', true)`,
    );
    const { ctx, page } = await pageAs('office');
    const olive = await sessionFor(db, u.office!);
    const asked = await app.inject({
      method: 'POST',
      url: '/api/visits',
      headers: { cookie: olive.cookie, 'x-csrf-token': olive.csrf },
      payload: { school: 'heath-lane', pupilMisId: '9002', reason: 'absent four days' },
    });
    const visitId = asked.json().id as string;
    await page.goto(`${base}/visits/${visitId}`);
    const form = page.locator('form#depart');
    await form.waitFor();

    // The contacts have their own heading, not the pupil flags'.
    await page.getByRole('heading', { name: 'Contacts' }).waitFor();
    expect(await page.locator('section#contacts li').allTextContents()).toEqual([
      'Parent of Kofi (Mother, parental responsibility) 07700 900011',
    ]);

    // The office picks the lead: "Going with" still offers everyone else.
    const partner = form.locator('select[name=partner]');
    expect(await partner.locator('option').allTextContents()).toEqual([
      '— nobody —',
      'Dan DSL',
      'Vera Visit',
      'Wes Visit',
    ]);
    await form.locator('select[name=lead]').selectOption({ label: 'Wes Visit' });
    expect(await partner.locator('option').allTextContents()).toEqual([
      '— nobody —',
      'Dan DSL',
      'Vera Visit',
    ]);

    const needed = async () =>
      (await page.locator('#departure-findings li.block').allTextContents()).map((t) =>
        t.replace(/^Needed: /, ''),
      );
    const neededNow = (want: (list: string[]) => boolean) =>
      until(
        async () => {
          const list = await needed();
          return want(list) ? list : null;
        },
        10_000,
        'the Needed list',
      );
    // Wes alone: a first visit without anyone experienced, and no fob of his own.
    await neededNow((l) => l.includes('a first home visit is made with an experienced member of staff'));
    await form.locator('input[name=expectedReturn]').fill(inAnHour());
    await form.locator('#f-risksRead').check();
    let list = await neededNow((l) => !l.some((m) => /expected return|risk notes/.test(m)));
    // Leaving is not offered while the list says what it would be refused for: the reason points at it.
    const leave = form.getByRole('button', { name: 'Leave for the visit' });
    expect(await leave.isDisabled()).toBe(true);
    expect(await page.locator('#leave-why').textContent()).toBe(
      'Not yet: leaving waits for what is “Needed” in the list above.',
    );
    // The list is exactly what leaving would be refused for (the form's draft, sent as it would be).
    const refused = await app.inject({
      method: 'POST',
      url: `/api/visits/${visitId}/depart`,
      headers: { cookie: olive.cookie, 'x-csrf-token': olive.csrf },
      payload: {
        leadUserId: u.wes!.id,
        expectedReturnAt: new Date(Date.now() + 3_600_000).toISOString(),
        risksRead: true,
      },
    });
    expect(refused.statusCode).toBe(422);
    list = await needed();
    expect(String(refused.json().message).slice('cannot leave yet: '.length).split('; ')).toEqual(list);
    expect(list).toEqual([
      'the family must be told of the visit first (sms)',
      'the risk must be assessed first (by safeguarding)',
      'a first home visit is made with an experienced member of staff',
      'the policy asks you to carry a lone-worker fob registered to you',
      'the policy asks you to carry your identification (your ID badge on show, photo ID with you): confirm you have it',
    ]);
    // The way to another day is on the page before leaving (a visit leaves on its day only).
    expect(await page.locator('form#change-date > p').first().textContent()).toMatch(
      /\(today\)\. A visit leaves on its day only\./,
    );
    // Heath Lane: "If alone on a home visit do not enter the property" — a note, not a block.
    expect(await page.locator('#departure-findings li.warn').allTextContents()).toContain(
      'Note: going alone: do not enter the property — speak at the door',
    );

    // Vera (experienced, her fob) leads with Wes; the DSL assesses the risk; the family is texted
    // from the school phone (no SMS channel here) and recorded so.
    await form.locator('select[name=lead]').selectOption({ label: 'Vera Visit' });
    await partner.selectOption({ label: 'Wes Visit' });
    // "Have academy ID visible": confirmed on the form.
    await form.locator('#f-identification').check();
    await neededNow((l) => !l.some((m) => /experienced|fob|identification/.test(m)));
    const dsl = await sessionFor(db, u.dsl!);
    await app.inject({
      method: 'POST',
      url: `/api/visits/${visitId}/assess-risk`,
      headers: { cookie: dsl.cookie, 'x-csrf-token': dsl.csrf },
      payload: { level: 'low', reason: 'no concerns known' },
    });
    expect(await page.locator('#family-text blockquote').textContent()).toMatch(/Heath Lane Academy/);
    await page.locator('#f-familyHow').selectOption({ label: 'a text sent by staff from a school phone' });
    await page.getByRole('button', { name: 'Record', exact: true }).click();
    await page.getByText(/Family told by a text sent from a school phone/).waitFor();
    // The form is gone (what was recorded is shown, with "Change how the family was told"): the
    // keyboard is on its section's heading, not lost to the page's body.
    await focusOn(page, 'h2 Telling the family', 'recording the family told');
    // The departure form, half filled in, was kept: its list is asked for again.
    list = await neededNow((l) => l.length === 0);
    expect(list).toEqual([]);
    await until(async () => !(await leave.isDisabled()), 10_000, 'Leave offered');
    await leave.click();
    // In school hours the office is at its screen: it knows. Out of hours the example's ladders text
    // groups over an SMS channel it does not configure: the office's screen alone, and whom to phone.
    const departed =
      /^Departure recorded: (the office knows where you are\.|it is on the office’s screen, but nobody may be watching it)/;
    await page.locator('#message', { hasText: departed }).waitFor();
    // The departure form gone: the line saying so has the keyboard.
    await focusOn(page, new RegExp(`^div#message ${departed.source.slice(1)}`), 'leaving');
    // The office records a check-in for them (asked first); the keyboard goes back to its button,
    // where the page was (not sent to its top).
    const checkIn = page.getByRole('button', {
      name: 'Record a check-in: I spoke to them and they are safe',
    });
    await checkIn.click();
    const yes = page.getByRole('button', { name: 'Yes, I spoke to them: they are safe' });
    await yes.scrollIntoViewIfNeeded();
    await page.evaluate('window.scrollBy(0, 40)');
    const scrolled = await page.evaluate<number>('window.scrollY');
    await yes.click();
    await page
      .locator('#message', { hasText: 'Check-in recorded: you spoke to them and they are safe.' })
      .waitFor();
    await focusOn(page, 'button Record a check-in: I spoke to them and they are safe', 'checking in');
    expect(await page.evaluate<number>('window.scrollY')).toBe(scrolled);
    await ctx.close();
    expect(problems).toEqual([]);
  });

  it('the data page and the board agree on the fob feed; the board words an alarm once, its level in the ladder', async () => {
    await db.query(
      `INSERT INTO imports (school_id, source, unit, status, started_at, pupils_inserted, marks_inserted)
       VALUES ('heath-lane', 'sims-xml', 'example-marks.xml', 'applied', now(), 0, 928)`,
    );
    const { ctx, page } = await pageAs('data');
    await page.goto(`${base}/data`);
    await page.locator('#fob-feeds').waitFor();
    expect(await page.locator('#fob-feeds p').first().textContent()).toBe(
      'No event from the broker yet: fob alarms are not known to arrive.',
    );
    await page.getByRole('button', { name: 'Test MIS connection' }).waitFor();
    // "applied" on one line, not "applie" / "d".
    const status = page.locator('section[aria-labelledby=imports-h] table tbody tr td').nth(3);
    expect(await status.textContent()).toBe('applied');
    // How many lines the cell's text takes: the distinct tops of its text's boxes.
    const lines = await page.evaluate(
      `(() => { const r = document.createRange(); r.selectNodeContents(document.querySelector('section[aria-labelledby=imports-h] table tbody tr td:nth-child(4)')); return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size; })()`,
    );
    expect(lines).toBe(1);
    await ctx.close();

    // An SOS whose texts could not go (no SMS channel here), three steps into its 2-level ladder.
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO alarms (school_id, dedup_key, unknown_device, type, status, raised_at, policy, escalation_step)
       VALUES ('heath-lane', 'newcomer-sos', false, 'sos', 'open', now() - interval '5 minutes', $1, 3) RETURNING id`,
      [JSON.stringify(config.schools[0]!.escalation.alarm)],
    );
    const alarmId = String(rows[0]!.id);
    // Its first level's text to the on-call leaders failed, and again in the next round: one line.
    await db.query(
      `INSERT INTO notifications (alarm_id, step, target, status, last_error)
       VALUES ($1, 0, 'sms:on-call-leaders', 'failed', 'channels.sms is not configured'),
              ($1, 2, 'sms:on-call-leaders', 'failed', 'channels.sms is not configured')`,
      [alarmId],
    );
    const office = await pageAs('office');
    await office.page.goto(`${base}/board`);
    const card = office.page.locator(`li[data-alarm-id="${alarmId}"]`);
    await card.waitFor();
    expect(await office.page.locator('#broker').textContent()).toBe('No fob message yet');
    await card.getByText('level 1 of 2 sent (round 2)').waitFor();
    // Failed deliveries fold the retries as the card's Told lines do: one line, with its count.
    await card.getByText(/sms → on-call-leaders: FAILED.* \(2 times\)$/).waitFor();
    expect(await office.page.locator('#failed-h').textContent()).toBe('Failed deliveries (1)');
    expect(await office.page.locator('#failed li').allTextContents()).toEqual([
      expect.stringMatching(
        new RegExp(
          `^FAILED Alarm ${alarmId}: sms → on-call-leaders at \\d\\d:\\d\\d–\\d\\d:\\d\\d: FAILED.* \\(2 times\\)$`,
        ),
      ),
    ]);
    expect(await office.page.locator('#push-toggle').count()).toBe(0);
    await card.getByRole('button', { name: `Acknowledge alarm ${alarmId}` }).click();
    await office.page.getByText(`Alarm ${alarmId} acknowledged.`).waitFor();
    // Its button gone, the keyboard is on the card's heading.
    await focusOn(office.page, new RegExp(`^h3#alarm-${alarmId}-title ACKNOWLEDGED`), 'acknowledging');
    expect(await office.page.locator('#message').textContent()).toBe(`Alarm ${alarmId} acknowledged.`);
    await office.page.waitForTimeout(500);
    await office.ctx.close();
    expect(problems).toEqual([]);
  });
  it('"Sound off" silences the alarms open when pressed, in this page only: a new alarm, a reload or the next person has the sound on', async () => {
    const { ctx, page } = await pageAs('office');
    const sounding = (want: 'true' | 'false') =>
      until(
        async () => (await page.evaluate('document.body.dataset.sounding')) === want,
        15_000,
        `the board's sound ${want === 'true' ? 'on' : 'off'}`,
      );
    const first = await raiseAlarm('sound-first');
    await page.goto(`${base}/board`);
    await page.locator(`li.alarm.unacknowledged[data-alarm-id="${first}"]`).waitFor();
    await sounding('true');
    // Its words stay; pressed says whether it is on (not "Sound off, not pressed").
    const toggle = page.getByRole('button', { name: 'Alarm sound', exact: true });
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    await toggle.click();
    await sounding('false');
    // Silent, said in the largest words while the alarm is open.
    const band = page.locator('#sound-off[role="alert"]', { hasText: 'SOUND IS OFF' });
    await band.waitFor();
    expect(await toggle.getAttribute('aria-pressed')).toBe('false');
    expect(await toggle.textContent()).toBe('Alarm sound');

    // Not kept past this page: read again, it sounds.
    await page.reload();
    await page.locator(`li.alarm[data-alarm-id="${first}"]`).waitFor();
    await sounding('true');
    expect(await band.count()).toBe(0);

    // Silenced again, then a new alarm comes: it sounds, the band goes.
    await toggle.click();
    await sounding('false');
    await band.waitFor();
    const second = await raiseAlarm('sound-second', 'missed_check_in');
    await page.locator(`li.alarm[data-alarm-id="${second}"]`).waitFor();
    await sounding('true');
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    await band.waitFor({ state: 'detached' });

    // Silenced, then signed out: the next person to sign in on this browser hears the alarms.
    await toggle.click();
    await sounding('false');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    await page.getByLabel('Username').fill('dan');
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/board');
    await page.locator(`li.alarm[data-alarm-id="${second}"]`).waitFor();
    await sounding('true');
    expect(await band.count()).toBe(0);
    await ctx.close();
    await db.query(
      `UPDATE alarms SET status = 'resolved', resolved_at = now(), resolution_reason = 'test' WHERE id = ANY($1::bigint[])`,
      [[first, second]],
    );
    // The one expected: the board's stream or re-read refused (401) between signing out and the
    // sign-in page (the sign-out ends the board's stream at once).
    expect(problems.filter((p) => !p.includes('status of 401'))).toEqual([]);
    problems.length = 0;
  });
  it('an overdue visit is on top and still among today\'s visits, marked OVERDUE: never "No visits today"', async () => {
    // The day's one visit (Kofi's, out since the walk above) is past its return time.
    await db.query(
      `UPDATE visits SET expected_return_at = now() - interval '2 minutes' WHERE school_id = 'heath-lane' AND departed_at IS NOT NULL AND returned_at IS NULL`,
    );
    const { ctx, page } = await pageAs('office');
    await page.goto(`${base}/board`);
    await page.locator('#overdue li.visit', { hasText: 'Kofi Mensah' }).waitFor();
    expect(await page.locator('#overdue-h').textContent()).toBe('Overdue visits (1)');
    expect(await page.locator('#today-h').textContent()).toBe("Today's visits (1)");
    expect(await page.locator('#today li.visit').allTextContents()).toEqual([
      expect.stringMatching(/^Kofi Mensah — 7 Beck Side.*OVERDUE/),
    ]);
    expect(await page.locator('#today p.empty').count()).toBe(0);
    await ctx.close();
    expect(problems).toEqual([]);
  });
  it('signing in says so and holds the button while the server answers; a refusal gives it back', async () => {
    const { ctx, page } = await pageAs(null);
    await page.goto(`${base}/login`);
    // Each sign-in is held until the test lets it through (a busy server taking seconds).
    const held: (() => void)[] = [];
    await page.route('**/api/login', (route) => {
      held.push(() => void route.continue().catch(() => {}));
    });
    const button = page.getByRole('button', { name: 'Sign in' });
    const status = page.locator('#message');
    await page.getByLabel('Username').fill('olive');
    await page.getByLabel('Password').fill('not her password at all');
    await button.click();
    await until(async () => held.length === 1, 10_000, 'the sign-in to be sent');
    expect(await status.textContent()).toBe('Signing in…');
    expect(await button.isDisabled()).toBe(true);
    // A second press while it is on its way sends nothing more.
    await page.getByLabel('Password').press('Enter');
    held.shift()!();
    await page.locator('#message[role=alert]').waitFor();
    expect(await button.isDisabled()).toBe(false);
    expect(held).toEqual([]);
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await button.click();
    await until(async () => held.length === 1, 10_000, 'the second sign-in to be sent');
    expect(await status.textContent()).toBe('Signing in…');
    expect(await button.isDisabled()).toBe(true);
    held.shift()!();
    await page.waitForURL((url) => url.pathname === '/board');
    await ctx.close();
    // The one expected: the refused password's 401.
    expect(problems.filter((p) => !p.includes('status of 401'))).toEqual([]);
    problems.length = 0;
  });
  it("a refusal naming a field says the form's own label for it, not the API's name", async () => {
    const dora = await pageAs('data');
    await dora.page.goto(`${base}/users`);
    await dora.page.getByText('Record training for wes').click();
    await dora.page.locator(`#t-homeVisitTrainedOn-${u.wes!.id}`).fill('2099-01-01');
    await dora.page.getByRole('button', { name: 'Save training for wes' }).click();
    await dora.page
      .locator('#message[role=alert]', {
        hasText: /^Home-visit training completed on: expected a date that has passed$/,
      })
      .waitFor();
    await dora.ctx.close();

    // A group of boxes is said by its legend.
    const ada = await pageAs('admin');
    await ada.page.goto(`${base}/users`);
    await ada.page.getByText('Add an account').click();
    const add = ada.page.locator('#add-account');
    await add.getByLabel('Username (lower case)').fill('norole');
    await add.getByLabel('Name people see').fill('No Role');
    await add.getByLabel('First password (at least 12 characters)').fill(TEST_PASSWORD);
    await add.getByRole('button', { name: 'Create account' }).click();
    await ada.page
      .locator('#message[role=alert]', { hasText: /^Roles: expected some of office, / })
      .waitFor();
    await ada.ctx.close();

    // A visit asked for a day gone by: "Planned for", as the request form says it.
    const olive = await pageAs('office');
    await olive.page.goto(`${base}/visits`);
    await olive.page.getByText('Request a visit').click();
    await olive.page.getByLabel('Find the pupil').fill('Mensah');
    await olive.page.locator('#pupil option', { hasText: 'Kofi' }).waitFor({ state: 'attached' });
    await olive.page.getByLabel('Reason for the visit').fill('absent again');
    await olive.page.getByLabel('Risk level').selectOption('low');
    await olive.page.getByLabel('Planned for').fill('2020-01-06');
    await olive.page.getByRole('button', { name: 'Request visit' }).click();
    await olive.page.locator('#message[role=alert]', { hasText: /^Planned for: / }).waitFor();
    await olive.ctx.close();
    // The expected: the three refusals' 400s.
    expect(problems.filter((p) => !p.includes('status of 400'))).toEqual([]);
    problems.length = 0;
  });
});
