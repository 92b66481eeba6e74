import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { academicYearOf, addDays, londonDate, weekday } from '../../src/domain/attendance/dates.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { launchChromium, sendVisitRequest } from '../helpers/browser.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { freePort, runCli, type Spawned, waitForHttp, writeTempConfig } from '../helpers/spawn.ts';
import { until } from '../helpers/wait.ts';

/**
 * The evidence the DSL sees and the data manager's page, in a browser against the real `doorstep
 * start`: this academic year's marks dropped as CSV and synced from the data page ("Sync now"), the
 * import with its rejected rows grouped by reason and the trust overview; the triggers the import
 * raises on the board, each card linking to the pupil page (calendar by category, counted days,
 * rate); a visit asked for from a card waits for the DSL, who is told on their channel and reaches
 * the evidence from the visit page. Visiting staff are refused the pupil page.
 */
const PASSWORD = 'e2e correct horse battery';
const OUT = 'test-results';
const id = uniqueName('e2eev');
const AXE_SOURCE = readFileSync('node_modules/axe-core/axe.min.js', 'utf8');
let base: string;
let server: Spawned;
let db: Db;
let browser: Browser;
let fakes: Server;
let drop: string;
const dslChannel: { text?: string }[] = [];

// This academic year's weekdays up to yesterday (the config gives no terms: every weekday counts).
const today = londonDate(new Date());
const yearStart = `${academicYearOf(today)}-09-01`;
const days: string[] = [];
for (let d = yearStart; d < today; d = addDays(d, 1)) if (weekday(d) !== 0 && weekday(d) !== 6) days.push(d);
// Amelia: six days of N ending a week ago (unresolved after 5 school days), a day of illness, a trip.
const ameliaN = new Set(days.slice(-12, -6));
const ameliaCode = (d: string, i: number): [string, string] =>
  ameliaN.has(d) ? ['N', 'N'] : i === 2 ? ['I', 'I'] : i === 3 ? ['B', 'B'] : ['/', '\\'];
// Ben: in school for the first third of the year, then not.
const benCode = (_d: string, i: number): [string, string] => (i < days.length / 3 ? ['/', '\\'] : ['N', 'N']);
const attended = (codes: [string, string][]) =>
  codes.flat().filter((c) => ['/', '\\', 'B'].includes(c)).length;
const ameliaCodes = days.map(ameliaCode);
const benCodes = days.map(benCode);
const ameliaRate = (100 * attended(ameliaCodes)) / (2 * days.length);
const benRate = (100 * attended(benCodes)) / (2 * days.length);

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

async function signIn(username: string, width = 1280): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${base}/`);
  await page.waitForURL(/\/login/);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  return page;
}

/** A file written elsewhere, dated a minute ago (settled) and moved into the drop folder in one step. */
function dropFile(name: string, text: string, ageSeconds: number) {
  const tmp = join(mkdtempSync(join(tmpdir(), 'doorstep-e2e-file-')), name);
  writeFileSync(tmp, text);
  const t = new Date(Date.now() - ageSeconds * 1000);
  utimesSync(tmp, t, t);
  renameSync(tmp, join(drop, name));
}

function startTeams(): Promise<string> {
  fakes = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      dslChannel.push(JSON.parse(body));
      res.writeHead(200).end('1');
    });
  });
  return new Promise((r) =>
    fakes.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(fakes.address() as AddressInfo).port}`)),
  );
}

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  const teams = await startTeams();
  const policies = mkdtempSync(join(tmpdir(), 'doorstep-e2e-policies-'));
  copyFileSync('config/policies/statutory.yaml', join(policies, 'statutory.yaml'));
  writeFileSync(
    join(policies, 'e2e.yaml'),
    'id: e2e\ntitle: E2E\nsource: test\nrules: []\nvisits:\n  authorisation: { required: true, by: [safeguarding] }\n  pairs: optional\n',
  );
  drop = mkdtempSync(join(tmpdir(), 'doorstep-e2e-drop-'));
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
    mis: { kind: csv, dropFolder: ${drop} }
    records: { sink: preview }
    policies: [statutory, e2e]
    channels:
      teams: { url: "\${E2E_TEAMS_URL}" }
    notices:
      awaitingAuthorisation: [teams]
`);
  const env = { DATABASE_URL: TEST_DATABASE_URL, E2E_TEAMS_URL: `${teams}/teams`, LOG_LEVEL: 'warn' };
  server = runCli(['start', '--config', file], env);
  await waitForHttp(`${base}/readyz`, 200, 30_000);
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema: id });
  for (const [u, n, r] of [
    ['office', 'Olive Office', 'office'],
    ['dsl', 'Dee Safeguarding', 'safeguarding'],
    ['sam', 'Sam Visitor', 'visiting-staff'],
    ['dm', 'Dana Data', 'data-manager'],
  ] as const) {
    const p = runCli(['user', 'add', '-c', file, '-u', u, '-n', n, '-r', r], {
      ...env,
      DOORSTEP_PASSWORD: PASSWORD,
    });
    const { code } = await p.exited;
    if (code !== 0) throw new Error(`user add ${u}: ${p.stderr()}`);
  }
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.child.kill('SIGTERM');
  await server?.exited;
  await db?.close();
  fakes?.close();
  await dropSchema(id);
  await dropRedisPrefix(new Redis(TEST_REDIS_URL), id.replace(/_/g, '-'));
});

describe('evidence for the DSL, and the data manager in the browser', () => {
  it('the data manager syncs this year’s marks from the data page and sees the import, its rejected rows by reason and the overview', async () => {
    // The run needs a fortnight of this year's school days (every date but the first days of September).
    expect(days.length, 'weekdays since 1 September').toBeGreaterThanOrEqual(13);
    const dm = await signIn('dm');
    await dm.goto(`${base}/data`);
    await dm.getByRole('heading', { name: 'Imports' }).waitFor();
    dropFile(
      'pupils.csv',
      'ID,UPN,Legal Forename,Legal Surname,DOB,Year,Address Line 1,Town,Postcode\n' +
        'P1,A123456789012,Amelia,Okonkwo,2016-03-09,Year 5,14 Rosebank Terrace,Leeds,LS6 2QT\n' +
        'P2,B223456789012,Ben,Ashworth,2016-05-01,Year 5,3 Mill Lane,Leeds,LS6 1AA\n' +
        'P3,C323456789012,Cara,Lindqvist,2016-07-21,Year 5,9 Park View,Leeds,LS6 3BB\n',
      120,
    );
    const lines = ['PersonID,AttendanceDate,AM,PM'];
    days.forEach((d, i) => {
      lines.push(`P1,${d},${ameliaCode(d, i).join(',')}`);
      lines.push(`P2,${d},${benCode(d, i).join(',')}`);
      lines.push(`P3,${d},/,\\`);
    });
    // Rejected, not refused: a pupil the school does not have (twice) and a date in the future.
    lines.push(`P9,${days[0]},/,\\`, `P8,${days[0]},/,\\`, `P3,${addDays(today, 30)},/,\\`);
    dropFile('marks.csv', `${lines.join('\n')}\n`, 60);

    await dm.getByRole('button', { name: 'Sync now' }).click();
    await dm.getByRole('status').filter({ hasText: 'Sync queued' }).waitFor();
    // Re-read the page until both files are in (the drop folder's own watcher may take one first).
    await until(
      async () => {
        await dm.reload();
        await dm.getByRole('heading', { name: 'Imports' }).waitFor();
        return (await dm.locator('td', { hasText: 'marks.csv' }).count()) > 0 || undefined;
      },
      60_000,
      'the marks import on the data page',
    );
    const row = dm.locator('tr', { has: dm.locator('td', { hasText: 'marks.csv' }) });
    expect(await row.textContent()).toContain('applied');
    // The sync that ran, and the import it applied, each said as what it is.
    expect(await dm.locator('#last-sync').textContent()).toMatch(/\d\d:\d\d/);
    expect(await dm.locator('#last-applied').textContent()).toMatch(/\d\d:\d\d/);
    const pupilsRow = dm.locator('tr', { has: dm.locator('td', { hasText: 'pupils.csv' }) });
    expect(await pupilsRow.textContent()).toContain('3 added, 0 updated');
    const rejected = dm.locator('details.rejections', { hasText: 'marks.csv' });
    await rejected.locator('summary').click();
    const text = await rejected.textContent();
    expect(text).toContain('3 rejected rows');
    expect(text).toContain("2 × unknown pupil: not in the school's pupil list (import pupils first)");
    expect(text).toContain('1 × date in the future');
    // The overview, from the stored marks: Ben is below 50%, Amelia only below 90% if her week of N
    // did it — once the year has the 20 possible sessions the rules judge a pupil on.
    const judged = 2 * days.length >= 20;
    const cells = await dm.locator('#overview tbody tr td').allTextContents();
    expect(cells.slice(0, 4)).toEqual([
      'Lime Hills Academy',
      '3',
      String(judged ? (ameliaRate <= 90 ? 1 : 0) + (benRate <= 90 ? 1 : 0) : 0),
      String(judged && benRate <= 50 ? 1 : 0),
    ]);
    expect(cells[5]).toBe('0');
    await dm.screenshot({ path: join(OUT, 'data-after-import.png'), fullPage: true });
    expect(await axe(dm)).toEqual([]);
  });

  it('a trigger card links to the pupil page: the calendar by category with the counted days, the rate from the marks', async () => {
    await until(
      async () =>
        (
          await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM trigger_episodes WHERE pupil_mis_id = 'P1' AND rule_key = 'statutory:n-unresolved'`,
          )
        ).rows[0]!.n > 0 || undefined,
      60_000,
      'Amelia’s trigger',
    );
    const dsl = await signIn('dsl');
    await dsl.goto(`${base}/board`);
    const card = dsl.locator('li.trigger', { hasText: 'Reason for absence not established' }).filter({
      hasText: 'Amelia Okonkwo',
    });
    await card.waitFor({ timeout: 15_000 });
    await card.getByRole('link', { name: 'Amelia Okonkwo' }).click();
    await dsl.waitForURL(/\/pupils\/P1\?school=lime$/);
    await dsl.getByRole('heading', { name: 'Amelia Okonkwo', level: 1 }).waitFor();
    expect(await dsl.locator('#rate-value').textContent()).toBe(`${ameliaRate.toFixed(1)}%`);
    expect(await dsl.locator('#rate').textContent()).toContain(
      `${attended(ameliaCodes)} of ${2 * days.length} possible sessions`,
    );
    // The counted days are exactly her days of N; every school day so far is in the calendar.
    const counted = await dsl
      .locator('td.counted')
      .evaluateAll((tds) => tds.map((t) => t.getAttribute('data-date')));
    expect(counted).toEqual([...ameliaN]);
    expect(await dsl.locator('td[data-date]').count()).toBe(days.length + (weekday(today) % 6 === 0 ? 0 : 1));
    expect(await dsl.locator(`td[data-date="${days[2]}"] .cat-authorised_absence`).count()).toBe(2);
    expect(await dsl.locator(`td[data-date="${days[3]}"] .cat-approved_activity`).count()).toBe(2);
    expect(await dsl.locator(`td[data-date="${[...ameliaN][0]}"] .cat-unauthorised_absence`).count()).toBe(2);
    const triggers = await dsl
      .locator('section', { has: dsl.getByRole('heading', { name: 'Triggers' }) })
      .textContent();
    expect(triggers).toContain('Reason for absence not established within 5 school days (N)');
    expect(triggers).toContain('12 session(s) still coded N');
    await dsl.screenshot({ path: join(OUT, 'pupil-page.png'), fullPage: true });
    expect(await axe(dsl)).toEqual([]);
    // On a phone the page fits its width (wide tables scroll inside themselves).
    await dsl.setViewportSize({ width: 360, height: 780 });
    await until(
      async () => (await dsl.evaluate<number>('document.documentElement.clientWidth')) === 360 || undefined,
      5_000,
      'the 360 px viewport',
    );
    expect(await dsl.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
  });

  it('a visit asked for from a card waits for the DSL, who is told on their channel and reaches the evidence from the visit page', async () => {
    const office = await signIn('office');
    await office.goto(`${base}/board`);
    const card = office.locator('li.trigger', { hasText: 'Reason for absence not established' }).filter({
      hasText: 'Amelia Okonkwo',
    });
    await card.waitFor({ timeout: 15_000 });
    await card.getByRole('button', { name: 'Request a visit for Amelia Okonkwo' }).click();
    await card.getByRole('link', { name: /The evidence: attendance, triggers and visits of/ }).waitFor();
    await card.getByLabel('Risk level').selectOption('minor');
    await sendVisitRequest(office, card, 'Request the visit');
    const visitId = office.url().split('/').pop()!;
    await office.getByText('Waiting for authorisation by safeguarding').waitFor();

    const told = await until(
      async () => dslChannel.find((m) => String(m.text).includes(`#${visitId} (pupil A.O.)`)),
      30_000,
      'the awaiting-authorisation notice on the DSL’s channel',
    );
    expect(told.text).toContain('waits for authorisation by safeguarding');

    const dsl = await signIn('dsl');
    await dsl.goto(`${base}/board`);
    await dsl.locator('#awaiting li', { hasText: 'Amelia Okonkwo' }).waitFor({ timeout: 15_000 });
    await dsl.goto(`${base}/visits/${visitId}`);
    await dsl.getByRole('button', { name: 'Authorise this visit' }).waitFor();
    // The authorisation page says why the visit was asked for, from the trigger.
    expect(await dsl.locator('#visit-trigger').textContent()).toBe(
      `Why: Reason for absence not established within 5 school days (N) — 12 session(s) still coded N 5 or more school days later (first ${[...ameliaN][0]})`,
    );
    await dsl.getByRole('link', { name: 'Attendance, triggers and visits (the evidence)' }).click();
    await dsl.waitForURL(/\/pupils\/P1\?school=lime$/);
    const visits = await dsl
      .locator('section', { has: dsl.getByRole('heading', { name: 'Visits' }) })
      .textContent();
    expect(visits).toContain(`#${visitId}`);
    expect(visits).toContain('requested');
  });

  it('visiting staff are refused the pupil page with the 403 page', async () => {
    const sam = await signIn('sam', 360);
    const r = await sam.goto(`${base}/pupils/P1?school=lime`);
    expect(r?.status()).toBe(403);
    await sam.getByRole('heading', { name: 'Not allowed' }).waitFor();
    expect(await sam.content()).not.toContain('Okonkwo');
  });
});
