import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ALARM_POLICY } from '../../src/domain/escalation/ladder.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { raiseVisitAlarm } from '../../src/store/alarm-writer.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { launchChromium } from '../helpers/browser.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, visitSchoolsConfig } from '../helpers/visits.ts';
import { until } from '../helpers/wait.ts';
import { addUser, buildWebApp, sessionFor } from '../helpers/web.ts';

/**
 * The visit page as the worker out (their phone) and the office (the same page, at school) see it,
 * in Debian's Chromium against the web app in-process: each is offered only what the server allows
 * them, in their own words — the office records a check-in for the worker after speaking to them,
 * asked first, and the records say it was the office.
 */
const schema = uniqueName('visit-page-e2e');
const prefix = uniqueName('visit-page-e2e');
// Out of hours now, whatever the time the test runs: the school day is an hour well away from it.
const londonHour = Number(
  new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: '2-digit', hourCycle: 'h23' }).format(
    new Date(),
  ),
);
const schoolDay = londonHour >= 2 && londonHour <= 5 ? '13:00-14:00' : '03:00-04:00';
const config = visitSchoolsConfig(`    outOfHoursPhone: "07700 900123"
    escalationHours:
      schoolDay: "${schoolDay}"
      outOfHours: { alarm: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders] }] } }
`);
let db: Db;
let conn: Redis;
let app: FastifyInstance;
let base = '';
let browser: Browser;
const u: Record<string, User> = {};
/** Console errors and warnings, and uncaught page errors, of every page opened (with the page's URL). */
const problems: string[] = [];

async function pageAs(who: string, width = 1000): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: { width, height: 900 } });
  const s = await sessionFor(db, u[who]!);
  await ctx.addCookies([{ name: 'doorstep_session', value: s.cookie.split('=')[1]!, url: base }]);
  const page = await ctx.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
  return { ctx, page };
}

/** A Hampton visit out now (Vic leading, Pat with her, left `outFor` ago), checking in every 20 minutes. */
async function visitOut(outFor = '30 minutes'): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by, lead_user_id,
       partner_user_id, departed_at, expected_return_at, check_in_minutes, risk_level)
     VALUES ('hampton', 'P1', 'welfare', '{"line1":"14 Rosebank Terrace","town":"Leeds","postcode":"LS6 2QT"}',
       (now() AT TIME ZONE 'Europe/London')::date, 'departed', $1, $1, $2, now() - $3::interval,
       now() + interval '1 hour', 20, 'low') RETURNING id`,
    [u.vic!.id, u.pat!.id, outFor],
  );
  return String(rows[0]!.id);
}

/** A Hampton visit Vic leads, asked for today, the family told by letter and the risk assessed: not left yet. */
async function visitToLeave(): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by, lead_user_id,
       risk_level, risk_assessed_at, family_notice)
     VALUES ('hampton', 'P1', 'welfare', '{"line1":"14 Rosebank Terrace","town":"Leeds","postcode":"LS6 2QT"}',
       (now() AT TIME ZONE 'Europe/London')::date, 'requested', $1, $1, 'low', now(),
       jsonb_build_object('method', 'letter', 'exemption', null, 'note', null, 'at', now(), 'by', $2::text))
     RETURNING id`,
    [u.vic!.id, u.vic!.id],
  );
  return String(rows[0]!.id);
}

/**
 * What leaving says here: out of hours (always, in these tests), Hampton's overdue and missed check-in
 * ladders tell the board alone first — never "the office knows where you are", but whom to phone.
 */
const LEFT_OUT_OF_HOURS =
  /^Departure recorded: it is on the office’s screen, but nobody may be watching it when an alarm comes, and no one is messaged at once if you miss a check-in or are late\. If you need help, phone the on-call number or 999\.$/;

/** The London clock an hour from now, as a time input takes it. */
const inAnHour = () =>
  new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/London',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(Date.now() + 3_600_000));

/** A visit alarm of `type`, raised now by the register (or the page's "I need help"). */
async function raise(visitId: string, type: string): Promise<string> {
  const alarm = await db.transaction((tx) =>
    raiseVisitAlarm(tx, {
      schoolId: 'hampton',
      visitId,
      staffId: null,
      type,
      dedupKey: `visit:${visitId}:${type}:${Date.now()}`,
      raisedAt: new Date(),
      policy: DEFAULT_ALARM_POLICY,
      what: `alarm raised: ${type}`,
      actor: 'system:test',
    }),
  );
  return alarm!.id;
}

/** The visit steps a page posts (path after /api/visits/:id/), as they go. */
function stepsPosted(page: Page): string[] {
  const posted: string[] = [];
  page.on('request', (r: Request) => {
    const m = /\/api\/visits\/\d+\/([a-z-]+)$/.exec(r.url());
    if (r.method() === 'POST' && m && m[1] !== 'departure-check') posted.push(m[1]!);
  });
  return posted;
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix, publisher: conn });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  browser = await launchChromium();
  await addPupils(db, ['hampton']);
  u.vic = await addUser(db, 'vic', ['visiting-staff'], {
    schools: ['hampton'],
    phone: '+447700900456',
    displayName: 'Vic Visitor',
  });
  u.pat = await addUser(db, 'pat', ['visiting-staff'], {
    schools: ['hampton'],
    phone: '+447700900457',
    displayName: 'Pat Partner',
  });
  u.olive = await addUser(db, 'olive', ['office'], { schools: ['hampton'], displayName: 'Olive Office' });
  u.dana = await addUser(db, 'dana', ['safeguarding'], { schools: ['hampton'], displayName: 'Dana DSL' });
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await dropRedisPrefix(conn, prefix);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

describe('the visit page, the worker out and the office', () => {
  it('the office records a check-in for the worker in its own words, asked first; the board says the office spoke to them', async () => {
    const visitId = await visitOut();
    // The number the worker gave on leaving: the office is asked to speak to them, and calls it from here.
    await db.query(`UPDATE visits SET worker_phone = '07700 900456' WHERE id = $1`, [visitId]);
    const missed = await raise(visitId, 'missed_check_in');

    // The worker's phone: their own button, their own banner.
    const vic = await pageAs('vic', 390);
    await vic.page.goto(`${base}/visits/${visitId}`);
    await vic.page.getByRole('button', { name: 'Check in: I am safe' }).waitFor();
    expect(await vic.page.locator('#out-banner').textContent()).toMatch(/Check in now if you are safe/);
    expect(await vic.page.getByRole('button', { name: /^Record a check-in/ }).count()).toBe(0);
    // Not their own number to call: that button is the office's.
    expect(await vic.page.locator('#call-worker').count()).toBe(0);
    await vic.ctx.close();

    // The office, on the same page: never the worker's "I am safe", nor "check in now".
    const olive = await pageAs('olive');
    const posted = stepsPosted(olive.page);
    await olive.page.goto(`${base}/visits/${visitId}`);
    const record = olive.page.getByRole('button', {
      name: 'Record a check-in: I spoke to them and they are safe',
    });
    await record.waitFor();
    expect(await olive.page.getByRole('button', { name: 'Check in: I am safe' }).count()).toBe(0);
    const callWorker = olive.page.locator('a#call-worker');
    expect(await callWorker.getAttribute('href')).toBe('tel:07700900456');
    expect(await callWorker.textContent()).toBe('Call Vic Visitor: 07700 900456');
    const banner = (await olive.page.locator('#out-banner').textContent()) ?? '';
    expect(banner).not.toMatch(/Check in now|if you are safe|Your alarm/);
    expect(banner).toMatch(
      /Check-in missed\. Phone them; once you have spoken to them and they are safe, record a check-in for them\./,
    );
    expect(await olive.page.locator('#next-deadline').textContent()).not.toMatch(/check in now/);

    // Asked first: "No" sends nothing and puts the question away.
    await record.click();
    // (The names isolated: FSI … PDI around each.)
    const ask = olive.page.getByRole('group', {
      name: /^Have you spoken to \u2068Vic Visitor\u2069 and \u2068Pat Partner\u2069, and are they both safe\?$/,
    });
    await ask.waitFor();
    expect(posted).toEqual([]);
    await ask.getByRole('button', { name: 'No, not yet' }).click();
    await ask.waitFor({ state: 'hidden' });
    expect(posted).toEqual([]);
    await record.click();
    await ask.getByRole('button', { name: 'Yes, I spoke to them: they are safe' }).click();
    await olive.page
      .locator('#message', { hasText: 'Check-in recorded: you spoke to them and they are safe.' })
      .waitFor();
    expect(posted).toEqual(['check-in']);
    await olive.page.locator('#out-banner', { hasNotText: 'Check-in missed' }).waitFor();

    // The board: resolved as the office spoke to them, the check-in recorded by Olive — not the worker's.
    await olive.page.goto(`${base}/board`);
    const row = olive.page.locator('li.resolved', { hasText: 'missed check in' });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/as the worker is safe: the office spoke to them/);
    expect(await row.textContent()).toMatch(/check-in recorded by Olive Office \(spoke to the worker\)/);
    expect(await row.textContent()).not.toMatch(/the worker checked in|safe and back/);
    const { rows } = await db.query<{ resolution_reason: string }>(
      'SELECT resolution_reason FROM alarms WHERE id = $1',
      [missed],
    );
    expect(rows[0]!.resolution_reason).toBe('worker_safe_contacted');
    await olive.ctx.close();
    expect(problems).toEqual([]);
  });

  it('the office says back safe by mistake: the worker’s phone says who and when at its top, and “I am still out” watches them again', async () => {
    const visitId = await visitOut();
    const olive = await pageAs('olive');
    await olive.page.goto(`${base}/visits/${visitId}`);
    await olive.page.getByRole('button', { name: 'Back safe' }).click();
    await olive.page.getByRole('button', { name: 'Yes, I spoke to them: back safe' }).click();
    await olive.page.locator('#message', { hasText: 'Recorded as back safe.' }).waitFor();
    // The office may watch them again, in its own words (offered because the server lists it).
    await olive.page.getByRole('button', { name: 'Still out — watch again' }).waitFor();
    await olive.ctx.close();

    const vic = await pageAs('vic', 390);
    const posted = stepsPosted(vic.page);
    await vic.page.goto(`${base}/visits/${visitId}`);
    const told = vic.page.locator('#help-after-back[role=alert]');
    await told.waitFor();
    expect(await told.textContent()).toMatch(
      /Marked back safe at \d\d:\d\d by \u2068Olive Office\u2069 — still out\? Press “I am still out”\./,
    );
    await told.getByRole('button', { name: 'I need help' }).waitFor();
    await told.getByLabel('Back by').fill(inAnHour());
    await told.getByRole('button', { name: 'I am still out' }).click();
    await vic.page
      .locator('#message', { hasText: /^Watched again: expected back \d\d:\d\d( on \w+ \d+ \w+)?\.$/ })
      .waitFor();
    await vic.page.getByRole('button', { name: 'Check in: I am safe' }).waitFor();
    // Out of hours, Hampton's watch tells the board alone first: never "watched", but who may not be.
    expect(await vic.page.locator('#out-status').textContent()).toMatch(
      /On the office’s screen until back safe, but nobody may be watching it when an alarm comes\./,
    );
    expect(posted).toEqual(['resume-watch']);
    const { rows } = await db.query<{ returned_at: Date | null; status: string }>(
      'SELECT returned_at, status FROM visits WHERE id = $1',
      [visitId],
    );
    expect(rows[0]).toEqual({ returned_at: null, status: 'departed' });
    await vic.ctx.close();
    expect(problems).toEqual([]);
  });

  it('the office records the arrival in its own words, asked first; the worker’s own "I have arrived" is theirs alone', async () => {
    const visitId = await visitOut();
    const olive = await pageAs('olive');
    const posted = stepsPosted(olive.page);
    await olive.page.goto(`${base}/visits/${visitId}`);
    const record = olive.page.getByRole('button', {
      name: 'Record the arrival: I spoke to them and they have arrived',
    });
    await record.waitFor();
    expect(await olive.page.getByRole('button', { name: 'I have arrived' }).count()).toBe(0);
    await record.click();
    const ask = olive.page.getByRole('group', {
      name: /^Have you spoken to \u2068Vic Visitor\u2069 and \u2068Pat Partner\u2069, and have they both arrived\?$/,
    });
    await ask.getByRole('button', { name: 'Yes, I spoke to them: they have arrived' }).click();
    await olive.page.locator('#message', { hasText: 'Arrival recorded: you spoke to them.' }).waitFor();
    expect(posted).toEqual(['arrive']);
    await record.waitFor({ state: 'detached' });
    await olive.ctx.close();

    const pat = await pageAs('pat', 390);
    await pat.page.goto(`${base}/visits/${visitId}`);
    await pat.page.getByRole('button', { name: 'Check in: I am safe' }).waitFor();
    expect(await pat.page.getByRole('button', { name: /^Record / }).count()).toBe(0);
    await pat.ctx.close();
    expect(problems).toEqual([]);
  });

  it('out of hours, "I need help" with every message failed tells the worker to phone whom the button rings: the on-call number', async () => {
    const visitId = await visitOut();
    const vic = await pageAs('vic', 390);
    await vic.page.goto(`${base}/visits/${visitId}`);
    await vic.page.getByRole('link', { name: 'Call the on-call number' }).waitFor();
    const help = await raise(visitId, 'sos');
    await db.query(
      `INSERT INTO notifications (alarm_id, step, target, status, last_error)
       VALUES ($1, 0, 'sms:on-call-leaders', 'failed', 'channels.sms is not configured')`,
      [help],
    );
    await vic.page.reload();
    const banner = vic.page.locator('#out-banner', { hasText: 'no one may know yet' });
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(
      /no one may know yet\. Phone the on-call number now, or 999 if you are in danger\./,
    );
    expect(await banner.textContent()).not.toMatch(/[Pp]hone the office/);
    expect(await vic.page.getByRole('link', { name: 'Call the on-call number' }).getAttribute('href')).toBe(
      'tel:07700900123',
    );
    expect(await vic.page.getByRole('link', { name: /^Call the office/ }).count()).toBe(0);
    await db.query(
      `UPDATE alarms SET status = 'resolved', resolved_at = now(), resolution_reason = 'test' WHERE id = $1`,
      [help],
    );
    await vic.ctx.close();
    expect(problems).toEqual([]);
  });

  it('"Leave for the visit" waits for the Needed list; a check-in interval refused is said by its field, and the list still follows the form', async () => {
    const visitId = await visitToLeave();
    const vic = await pageAs('vic', 390);
    const page = vic.page;
    await page.goto(`${base}/visits/${visitId}`);
    const form = page.locator('form#depart');
    await form.waitFor();
    const leave = form.getByRole('button', { name: 'Leave for the visit' });
    const why = page.locator('#leave-why');
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
    // Not offered while the list says what leaving would be refused for: the reason points at it.
    expect(await needed()).toContain('the policy requires two staff on this visit');
    expect(await leave.isDisabled()).toBe(true);
    expect(await why.textContent()).toBe('Not yet: leaving waits for what is “Needed” in the list above.');
    expect(await why.locator('a').getAttribute('href')).toBe('#departure-findings');

    // A check-in every 3 minutes: the server refuses it (at least 5) — said under the field.
    const every = form.getByLabel('Check in every (minutes)');
    await every.fill('3');
    const refused = form.locator('#f-checkInMinutes-error');
    await refused.waitFor();
    expect(await refused.textContent()).toMatch(/5/);
    expect(await every.getAttribute('aria-invalid')).toBe('true');
    await until(
      async () => (await why.textContent()) === 'Not yet: correct Check in every (minutes) above.',
      10_000,
      'Leave held for the refused interval',
    );
    // The list still follows the form: Pat chosen, two staff are going.
    await form.locator('select[name=partner]').selectOption({ label: 'Pat Partner' });
    await neededNow((l) => !l.includes('the policy requires two staff on this visit'));
    await form.locator('input[name=expectedReturn]').fill(inAnHour());
    await form.locator('#f-risksRead').check();
    await form.locator('#f-identification').check();
    expect(await neededNow((l) => l.length === 0)).toEqual([]);
    expect(await leave.isDisabled()).toBe(true);

    // Corrected: the field's message goes, and Leave is offered.
    await every.fill('20');
    await refused.waitFor({ state: 'detached' });
    await until(async () => !(await leave.isDisabled()), 10_000, 'Leave offered');
    expect(await why.isHidden()).toBe(true);
    expect(await every.getAttribute('aria-invalid')).toBeNull();
    // Once left, the page never asks whether the visit may depart (it did: "a visit that is departed
    // cannot depart"): the form's own re-check is not set, and none runs for a form gone.
    const checksAfter: string[] = [];
    let left = false;
    page.on('request', (r: Request) => {
      if (r.method() !== 'POST') return;
      if (r.url().endsWith(`/api/visits/${visitId}/depart`)) left = true;
      else if (left && r.url().endsWith('/departure-check')) checksAfter.push(r.url());
    });
    await leave.click();
    await page.getByText(LEFT_OUT_OF_HOURS).waitFor();
    // Any re-check the page set when it left (250 ms on) has run before a timer set after it, and
    // its request is out before an answer to one asked after that.
    await page.evaluate(async () => {
      await new Promise((r) => setTimeout(r, 300));
      await fetch('/api/me');
    });
    expect(checksAfter).toEqual([]);
    await vic.ctx.close();
    // The expected: the live check's 400 for the refused interval; never a refused departure's 422.
    expect(problems.filter((p) => !p.includes('status of 400'))).toEqual([]);
    problems.length = 0;
  });

  it('running late: the worker’s own time goes no later than the server takes; past it, the page says whom to phone, in the banner too', async () => {
    const clockIn = (minutes: number) =>
      new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/London',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(new Date(Date.now() + minutes * 60_000));
    // Out 3 h 50 min, nobody else has confirmed them since: their own new time goes up to 10 minutes on.
    const visitId = await visitOut('3 hours 50 minutes');
    const vic = await pageAs('vic', 390);
    const posted = stepsPosted(vic.page);
    await vic.page.goto(`${base}/visits/${visitId}`);
    const late = vic.page.locator('form#running-late');
    const time = late.getByLabel('New return time');
    expect(await vic.page.locator('#f-newReturn-hint').textContent()).toMatch(
      /^Later than now, and no later than \d\d:\d\d( on \w+ \d+ \w+)?$/,
    );
    // Half an hour on: refused on the page, as the server would, with whom to phone — never sent.
    await time.fill(clockIn(30));
    await late.getByLabel('Why').fill('parent late');
    await late.getByRole('button', { name: 'Set the new return time' }).click();
    const said = vic.page.locator('#message[role=alert]', { hasText: /more than 4 hours after/ });
    await said.waitFor();
    expect(await said.textContent()).toMatch(
      /last confirmed you safe: choose a time up to \d\d:\d\d, or phone the on-call number to set a later one\.$/,
    );
    expect(await time.getAttribute('aria-invalid')).toBe('true');
    expect(posted).toEqual([]);
    // A server refusal is said against the form’s own label, not the API’s field name.
    await time.fill(clockIn(5));
    await late.getByLabel('Why').fill('   ');
    await late.getByRole('button', { name: 'Set the new return time' }).click();
    // (Not the first refusal, still there until this one is sent: its "a later one" says "late" too.)
    const refusal = vic.page.locator('#message[role=alert]', { hasText: /^Why:/ });
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/^Why: expected why the worker is late/);
    expect(await refusal.textContent()).not.toMatch(/reason:/);
    await vic.ctx.close();

    // Out 4 h 10 min and overdue: no form the server would refuse whatever is typed; whom to phone.
    const closed = await visitOut('4 hours 10 minutes');
    await raise(closed, 'overdue_visit');
    const again = await pageAs('vic', 390);
    await again.page.goto(`${base}/visits/${closed}`);
    const note = again.page.locator('#running-late-closed');
    await note.waitFor();
    expect(await again.page.locator('form#running-late').count()).toBe(0);
    expect(await note.textContent()).toMatch(
      /since someone other than you last confirmed you safe: call the on-call number on 07700 900123 to set your new return time/,
    );
    expect(await again.page.locator('#out-banner').textContent()).toMatch(
      // Only the board told so far (no ladder step has run): whom to phone, never "alerted".
      /You are overdue: it is on the office’s screen, and no one has been messaged yet\. Phone the on-call number to set your new return time or say you are back safe; if you need help, phone the on-call number or 999\./,
    );
    expect(await again.page.locator('#out-banner').textContent()).not.toMatch(/Set a new return time/);
    await again.ctx.close();
    // The expected: the refused running late's 400.
    expect(problems.filter((p) => !p.includes('status of 400'))).toEqual([]);
    problems.length = 0;
  });

  it('"Leave for the visit" held for what someone else then records is offered without touching the form, and a press while held asks again and leaves once nothing holds it', async () => {
    /** Asked for today, the risk assessed: only the family’s letter (Hampton) is not recorded yet. */
    const noLetterYet = async () => {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by, lead_user_id,
           risk_level, risk_assessed_at)
         VALUES ('hampton', 'P1', 'welfare', '{"line1":"14 Rosebank Terrace","town":"Leeds","postcode":"LS6 2QT"}',
           (now() AT TIME ZONE 'Europe/London')::date, 'requested', $1, $1, 'low', now()) RETURNING id`,
        [u.vic!.id],
      );
      return String(rows[0]!.id);
    };
    const recordLetter = (visitId: string) =>
      db.query(
        `UPDATE visits SET family_notice = jsonb_build_object('method', 'letter', 'exemption', null, 'note', null,
           'at', now(), 'by', $2::text) WHERE id = $1`,
        [visitId, u.olive!.id],
      );
    /** Vic's page for the visit, the form filled in as far as she can: only the letter Needed. */
    const filledIn = async (visitId: string) => {
      const vic = await pageAs('vic', 390);
      const posted = stepsPosted(vic.page);
      await vic.page.goto(`${base}/visits/${visitId}`);
      const form = vic.page.locator('form#depart');
      await form.waitFor();
      await form.locator('select[name=partner]').selectOption({ label: 'Pat Partner' });
      await form.locator('input[name=expectedReturn]').fill(inAnHour());
      await form.locator('#f-risksRead').check();
      await form.locator('#f-identification').check();
      await until(
        async () => {
          const l = await vic.page.locator('#departure-findings li.block').allTextContents();
          return l.length === 1 && /family must be told/.test(l[0]!);
        },
        10_000,
        'only the family notice Needed',
      );
      const leave = form.getByRole('button', { name: 'Leave for the visit' });
      return { ...vic, posted, leave };
    };

    // Held, it stays a button the keyboard reaches and a screen reader reads with why.
    const first = await noLetterYet();
    const a = await filledIn(first);
    expect(await a.leave.isDisabled()).toBe(true);
    expect(await a.leave.getAttribute('disabled')).toBeNull();
    expect(await a.leave.getAttribute('aria-disabled')).toBe('true');
    expect(await a.leave.getAttribute('aria-describedby')).toBe('leave-why');
    // The office records the letter: the page asks again by itself, and Leave is offered, the Needed
    // list empty, what was typed kept.
    await recordLetter(first);
    await until(
      async () => !(await a.leave.isDisabled()),
      40_000,
      'Leave offered once the letter is recorded',
    );
    expect(await a.page.locator('#departure-findings li.block').count()).toBe(0);
    expect(await a.page.locator('#leave-why').isHidden()).toBe(true);
    expect(await a.page.locator('select[name=partner] option:checked').textContent()).toBe('Pat Partner');
    await a.leave.click();
    await a.page.getByText(LEFT_OUT_OF_HOURS).waitFor();
    expect(a.posted).toEqual(['depart']);
    await a.ctx.close();

    // Pressed (from the keyboard) while held: asked again; still held, it says why and sends nothing.
    const second = await noLetterYet();
    const b = await filledIn(second);
    await b.leave.focus();
    await b.page.keyboard.press('Enter');
    await b.page
      .locator('#message[role=alert]', {
        hasText: 'Not yet: leaving waits for what is “Needed” in the list above.',
      })
      .waitFor();
    expect(b.posted).toEqual([]);
    // The letter recorded, pressed again at once: nothing holds it any more, so it leaves.
    await recordLetter(second);
    await b.leave.focus();
    await b.page.keyboard.press('Enter');
    await b.page.getByText(LEFT_OUT_OF_HOURS).waitFor();
    expect(b.posted).toEqual(['depart']);
    await b.ctx.close();
    expect(problems).toEqual([]);
  }, 120_000);
});

describe('before leaving, on a phone', () => {
  it('“I’ll go on this visit” before the departure form: the pupil’s flags and the family’s contacts are read before “I have read” is ticked', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, address, flags)
       VALUES ('hampton', 'P2', 'Ruby', 'Hartley', '{"line1":"12 Orchard Walk","postcode":"LS6 2QT"}', '{"cpPlan": true}')`,
    );
    await db.query(
      `INSERT INTO pupil_contacts (school_id, pupil_mis_id, priority, name, relationship, phone, parental_responsibility)
       VALUES ('hampton', 'P2', 1, 'Jo Hartley', 'MOTHER', '+447700900999', true)`,
    );
    // Asked for by the office, nobody leading it, its risk assessed and the family told.
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by, lead_user_id,
         risk_level, risk_assessed_at, family_notice)
       VALUES ('hampton', 'P2', 'welfare', '{"line1":"12 Orchard Walk","postcode":"LS6 2QT"}',
         (now() AT TIME ZONE 'Europe/London')::date, 'requested', $1, null, 'low', now(),
         jsonb_build_object('method', 'letter', 'exemption', null, 'note', null, 'at', now(), 'by', $1::bigint))
       RETURNING id`,
      [u.olive!.id],
    );
    const visitId = String(rows[0]!.id);
    const vic = await pageAs('vic', 390);
    const page = vic.page;
    await page.goto(`${base}/visits/${visitId}`);
    const hint = page.locator('#pupil-flags-hint');
    await hint.waitFor();
    expect(await hint.textContent()).toBe(
      "The pupil's flags and the family's contacts are shown only to the people going on the visit. Going on it? Say so now to read them before you leave:",
    );
    // No departure form yet, nor its "I have read the risk notes and address flags" box.
    expect(await page.locator('form#depart').count()).toBe(0);
    expect(await page.locator('#f-risksRead').count()).toBe(0);
    // The server does not let Vic leave on it yet (no `depart`): "Leaving now" offers "I'll go" instead.
    expect(await page.locator('#leaving').textContent()).toMatch(
      /Nobody leads this visit yet\. Going on it\? Say so first/,
    );
    expect(
      await page.locator('#leaving').getByRole('button', { name: "I'll go on this visit" }).count(),
    ).toBe(1);
    await page.locator('#pupil-flags').getByRole('button', { name: "I'll go on this visit" }).click();
    await page.getByText('From the MIS:').waitFor();
    expect(await page.locator('#pupil-flags-h + p').textContent()).toBe('From the MIS: CP plan');
    expect(await page.locator('#contacts').textContent()).toContain('+447700900999');
    // The departure form starts with Vic as its lead: no "who is going" to choose.
    const form = page.locator('form#depart');
    await form.waitFor();
    expect(await form.locator('select[name=lead]').count()).toBe(0);
    // Not going after all: nobody leads it again, and the flags are withheld again.
    await page.getByRole('button', { name: 'I am not going on this visit after all' }).click();
    await page.locator('#pupil-flags-hint').waitFor();
    expect(await page.locator('form#depart').count()).toBe(0);
    await vic.ctx.close();
    expect(problems).toEqual([]);
  });
});

describe('a visit the policy refuses at its risk', () => {
  it('offers no leaving form, but the policy’s words and what to do instead', async () => {
    const visitId = await visitToLeave();
    await db.query(`UPDATE visits SET risk_level = 'major', risk_reason = 'aggression' WHERE id = $1`, [
      visitId,
    ]);
    const vic = await pageAs('vic', 390);
    const page = vic.page;
    await page.goto(`${base}/visits/${visitId}`);
    const refused = page.locator('section#risk-refused');
    await refused.waitFor();
    expect(await refused.locator('h2').textContent()).toBe('This visit cannot go ahead: the risk is MAJOR');
    expect(await refused.locator('blockquote').textContent()).toMatch(/unacceptable level of risk/);
    expect(await refused.locator('li').allTextContents()).toEqual([
      "Do not go: the school's policy says no home visit at a MAJOR risk.",
      'If the risk has changed, ask safeguarding to reassess it.',
      'Refer it to the safeguarding team (the DSL): they decide what is done instead of a home visit.',
      'Then cancel this visit below, giving the reason.',
    ]);
    expect(await page.locator('form#depart').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Leave for the visit' }).count()).toBe(0);
    await page.locator('details#cancel').waitFor();
    await vic.ctx.close();
    expect(problems).toEqual([]);
  });
});

describe('a visit moved to a day the school is closed', () => {
  it('is asked to be confirmed by the date, and once confirmed the page says it is no school day', async () => {
    const visitId = await visitToLeave();
    // The next Saturday (London), at least a day on.
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date());
    const at = new Date(`${today}T12:00:00Z`);
    do at.setUTCDate(at.getUTCDate() + 1);
    while (at.getUTCDay() !== 6);
    const saturday = at.toISOString().slice(0, 10);
    const vic = await pageAs('vic', 390);
    const page = vic.page;
    await page.goto(`${base}/visits/${visitId}`);
    const form = page.locator('form#change-date');
    await form.locator('input[name=date]').fill(saturday);
    await form.getByRole('button', { name: 'Move the visit' }).click();
    await page
      .locator('#message[role=alert]', {
        hasText:
          /^Move to: Saturday .* is not a school day at Hampton Infant \(a weekend\) — if the visit is meant for that day, tick “Yes, plan it for that day” and send it again\.$/,
      })
      .waitFor();
    await form.getByLabel('Yes, plan it for that day: I know the school is closed').check();
    await form.getByRole('button', { name: 'Move the visit' }).click();
    await page.getByText(`Moved to ${saturday}.`).waitFor();
    expect(await page.locator('#planned-closed').textContent()).toBe(' (not a school day: a weekend)');
    await vic.ctx.close();
    // The expected: the 409 asking to confirm the day.
    expect(problems.filter((p) => !p.includes('status of 409'))).toEqual([]);
    problems.length = 0;
  });
});

describe('a record replaced before leaving', () => {
  it('the risk assessment and how the family was told: shown as recorded, changed behind “Reassess” / “Change”, saying it replaces it', async () => {
    const visitId = await visitToLeave();
    const dsl = await pageAs('dana');
    const page = dsl.page;
    await page.goto(`${base}/visits/${visitId}`);
    // Recorded: no blank form, but "Reassess the risk", closed, its form filled in with what was recorded.
    const reassess = page.locator('details#reassess-risk');
    await reassess.waitFor();
    expect(await reassess.getAttribute('open')).toBeNull();
    expect(await page.locator('h2', { hasText: 'Assess the risk' }).count()).toBe(0);
    expect(await reassess.locator('summary').textContent()).toMatch(/^Reassess the risk \(assessed LOW, /);
    await reassess.locator('summary').click();
    expect(await page.locator('#f-riskLevel').inputValue()).toBe('low');
    expect(await page.locator('#reassess-replaces').textContent()).toMatch(
      /^This replaces the assessment of .* \(LOW\); the audit keeps both\.$/,
    );
    await page.locator('#f-riskLevel').selectOption('minor');
    await page.locator('[name=riskReason]').fill('dog in the yard');
    await page.getByRole('button', { name: 'Record the new assessment' }).click();
    await page.getByText(/^Risk reassessed: MINOR replaces the assessment of /).waitFor();
    await page.locator('details#reassess-risk summary', { hasText: 'assessed MINOR' }).waitFor();
    // How the family was told: the same, behind "Change how the family was told", filled in.
    const change = page.locator('details#family-notice-change');
    await change.locator('summary').click();
    expect(await page.locator('#f-familyHow').inputValue()).toBe('method:letter');
    expect(await page.locator('#family-notice-replaces').textContent()).toMatch(
      /^This replaces what was recorded /,
    );
    await dsl.ctx.close();
    expect(problems).toEqual([]);
  });
});

describe('the day’s visits on a phone', () => {
  it('fits 360 px without scrolling sideways: every column of the list in view', async () => {
    // As the walk found it: one visit back (its "back at" time), one asked for, with the pack's long reason.
    for (const [status, returned] of [
      ['completed', 'now()'],
      ['requested', 'null'],
    ] as const)
      await db.query(
        `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by, lead_user_id,
           departed_at, returned_at, risk_level)
         VALUES ('hampton', 'P1', 'Absence of a vulnerable pupil', '{"line1":"14 Rosebank Terrace","postcode":"LS6 2QT"}',
           (now() AT TIME ZONE 'Europe/London')::date, $2, $1, $1, ${returned === 'null' ? 'null' : "now() - interval '1 hour'"},
           ${returned}, 'low')`,
        [u.vic!.id, status],
      );
    const vic = await pageAs('vic', 360);
    await vic.page.goto(`${base}/visits`);
    await vic.page.locator('table.fits td', { hasText: 'requested' }).first().waitFor();
    await vic.page.locator('table.fits td', { hasText: /^back at \d\d:\d\d$/ }).waitFor();
    const width = await vic.page.evaluate<{ scrollWidth: number; wider: string[] }>(`(() => {
      const vw = document.documentElement.clientWidth;
      const wider = [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > vw + 0.5)
        .slice(0, 8)
        .map((el) => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' → ' + Math.round(el.getBoundingClientRect().right));
      return { scrollWidth: document.documentElement.scrollWidth, wider };
    })()`);
    expect(width.scrollWidth, width.wider.join('; ')).toBeLessThanOrEqual(360);
    expect(width.wider).toEqual([]);
    await vic.ctx.close();
  });
});
