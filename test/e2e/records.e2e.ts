import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { launchChromium } from '../helpers/browser.ts';
import { type FakeCpoms, recordKey, startFakeCpoms } from '../helpers/fake-cpoms.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { freePort, runCli, type Spawned, waitForHttp, writeTempConfig } from '../helpers/spawn.ts';
import { until } from '../helpers/wait.ts';

/**
 * What gets written down and who is told, in a browser against the real `doorstep start`: a Heath
 * Lane-style school recording to CPOMS and to Arbor (pastoral notes); a concern raised on the phone
 * reaches the DSL's channel at once and both record systems; the visit outcome reaches both; the
 * register comes out as an XLSX that a different library reads back.
 */
const PASSWORD = 'e2e correct horse battery';
const OUT = 'test-results';
const id = uniqueName('e2erec');
let base: string;
let server: Spawned;
let cpoms: FakeCpoms;
let fakes: Server;
let db: Db;
let browser: Browser;
let visitId: string;
const arborNotes: {
  auth: string | undefined;
  body: { request?: { pastoralNote?: { summary?: string; content?: string } } };
}[] = [];
const dslChannel: { text?: string }[] = [];

/** One local server for the Arbor API (pastoral notes) and the DSL's Teams webhook. */
function startFakes(): Promise<string> {
  fakes = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/arbor/rest-v2/pastoral-notes') {
        if (req.headers.authorization !== `Basic ${Buffer.from('doorstep:arbor-pass').toString('base64')}`) {
          res.writeHead(401).end();
          return;
        }
        arborNotes.push({ auth: req.headers.authorization, body: JSON.parse(body) });
        res
          .writeHead(201, { 'content-type': 'application/json' })
          .end(JSON.stringify({ pastoralNote: { entityType: 'PastoralNote', id: 500 + arborNotes.length } }));
        return;
      }
      // The student's notes, as the published client queries them (`GET /rest-v2/PastoralNotes` with
      // `filters.student.equals`): read before each write, so a retry finds the note it made.
      if (req.method === 'GET' && req.url?.startsWith('/arbor/rest-v2/PastoralNotes?')) {
        const student = new URL(req.url, 'http://x').searchParams.get('filters.student.equals');
        const pastoralNotes = arborNotes
          .map((n, i) => ({ id: 501 + i, ...(n.body.request?.pastoralNote ?? {}) }))
          .filter((n) => (n as { student?: { href?: string } }).student?.href === student);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pastoralNotes }));
        return;
      }
      if (req.method === 'POST' && req.url === '/teams') {
        dslChannel.push(JSON.parse(body));
        res.writeHead(200).end('1');
        return;
      }
      res.writeHead(404).end();
    });
  });
  return new Promise((r) =>
    fakes.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(fakes.address() as AddressInfo).port}`)),
  );
}

async function signIn(username: string, viewport: { width: number; height: number }): Promise<Page> {
  const ctx = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await ctx.newPage();
  await page.goto(`${base}/`);
  await page.waitForURL(/\/login/);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  return page;
}

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  cpoms = await startFakeCpoms({ token: 'e2e-token', students: { A123456789012: 'cpoms-student-1' } });
  const fake = await startFakes();
  const policies = mkdtempSync(join(tmpdir(), 'doorstep-e2e-policies-'));
  copyFileSync('config/policies/statutory.yaml', join(policies, 'statutory.yaml'));
  writeFileSync(
    join(policies, 'e2e.yaml'),
    'id: e2e\ntitle: E2E\nsource: test\nrules: []\nvisits:\n  pairs: optional\n',
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
  - id: heath
    name: Heath Lane Academy
    phone: "01632 960123"
    mis: { kind: csv, dropFolder: ./data/drop/e2e-records }
    records: { sink: cpoms, baseUrl: "${cpoms.url}", token: "\${E2E_CPOMS_TOKEN}" }
    alsoRecordTo:
      - { sink: arbor-pastoral, arborStudentIds: true, baseUrl: "${fake}/arbor", username: doorstep, password: "\${E2E_ARBOR_PASSWORD}", kinds: [visit_outcome, visit_concern] }
    policies: [statutory, e2e]
    channels:
      teams: { url: "\${E2E_TEAMS_URL}" }
    notices:
      concern: [teams]
`);
  const env = {
    DATABASE_URL: TEST_DATABASE_URL,
    E2E_CPOMS_TOKEN: 'e2e-token',
    E2E_ARBOR_PASSWORD: 'arbor-pass',
    E2E_TEAMS_URL: `${fake}/teams`,
    LOG_LEVEL: 'warn',
  };
  server = runCli(['start', '--config', file], env);
  await waitForHttp(`${base}/readyz`, 200, 30_000);
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema: id });
  await db.query(
    `INSERT INTO pupils (school_id, mis_id, upn, forename, surname, address) VALUES ('heath', 'P1', 'A123456789012', 'Amelia', 'Okonkwo', $1)`,
    [JSON.stringify({ line1: '14 Rosebank Terrace', town: 'Leeds', postcode: 'LS6 2QT' })],
  );
  for (const [u, n, r] of [
    ['sam', 'Sam Visitor', 'visiting-staff'],
    ['dsl', 'Dee Safeguarding', 'safeguarding'],
  ] as const) {
    const p = runCli(['user', 'add', '-c', file, '-u', u, '-n', n, '-r', r], {
      ...env,
      DOORSTEP_PASSWORD: PASSWORD,
    });
    const { code } = await p.exited;
    if (code !== 0) throw new Error(`user add ${u}: ${p.stderr()}`);
  }
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by, lead_user_id,
       departed_at, expected_return_at, worker_phone)
     SELECT 'heath', 'P1', 'absent three days', $1, (now() AT TIME ZONE 'Europe/London')::date, 'departed', u.id, u.id,
       now() - interval '20 minutes', now() + interval '1 hour', '+447700900123'
     FROM users u WHERE u.username = 'sam' RETURNING id`,
    [JSON.stringify({ line1: '14 Rosebank Terrace', town: 'Leeds', postcode: 'LS6 2QT' })],
  );
  visitId = String(rows[0]!.id);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.child.kill('SIGTERM');
  await server?.exited;
  await db?.close();
  await cpoms?.close();
  fakes?.close();
  await dropSchema(id);
  await dropRedisPrefix(new Redis(TEST_REDIS_URL), id.replace(/_/g, '-'));
});

describe('records and notices in a browser', () => {
  it('a concern raised on the phone reaches the DSL’s channel at once, and CPOMS and Arbor', async () => {
    const sam = await signIn('sam', { width: 360, height: 780 });
    await sam.goto(`${base}/visits/${visitId}`);
    await sam.getByText('Raise a concern now').click();
    // About the child (the default; an incident against the staff goes to the people named for those).
    expect(await sam.getByLabel('the child (their welfare or safety)').isChecked()).toBe(true);
    await sam
      .getByLabel('What happened or worries you (sent at once)')
      .fill('Younger sibling has a bruise on the cheek');
    await sam.getByRole('button', { name: 'Send the concern now' }).click();
    await sam
      .getByRole('status')
      .filter({
        hasText: "Concern sent to the people the school names for concerns. Sent into the school's records.",
      })
      .waitFor();

    const told = await until(
      async () => dslChannel.find((m) => String(m.text).includes('Younger sibling has a bruise')),
      15_000,
      'the concern on the DSL’s channel',
    );
    expect(told.text).toMatch(
      /Sam Visitor raised a safeguarding concern on home visit #\d+ \(pupil A\.O\.\)/,
    );
    await until(
      async () =>
        [...cpoms.incidents.values()].find((i) =>
          recordKey(i.idempotencyKey).startsWith(`visit-concern:heath:${visitId}:`),
        ),
      30_000,
      'the concern at the fake CPOMS',
    );
    await until(
      async () => arborNotes.find((n) => String(n.body.request?.pastoralNote?.content).includes('bruise')),
      30_000,
      'the concern as an Arbor pastoral note',
    );
  });

  it('a concern whose answer was lost on the way back is sent again as the same concern: one record, one message', async () => {
    const sam = await signIn('sam', { width: 360, height: 780 });
    await sam.clock.install(); // the page's 20-second re-read, run when the test says
    await sam.goto(`${base}/visits/${visitId}`);
    await sam.getByText('Raise a concern now').click();
    await sam
      .getByLabel('What happened or worries you (sent at once)')
      .fill('Father shouting at the toddler');
    // The request reaches the server; its answer is slow and then never reaches the phone (a signal
    // lost on the way back) — and the page re-reads while it is on its way.
    let answerLost = () => {};
    const held = new Promise<void>((resolve) => {
      answerLost = resolve;
    });
    let reached = () => {};
    const atServer = new Promise<void>((resolve) => {
      reached = resolve;
    });
    await sam.route(`**/api/visits/${visitId}/concern`, async (route) => {
      await route.fetch();
      reached();
      await held;
      await route.abort('internetdisconnected');
    });
    await sam.getByRole('button', { name: 'Send the concern now' }).click();
    await atServer;
    const reread = sam.waitForResponse((r) => r.url().endsWith(`/api/visits/${visitId}`));
    await sam.clock.runFor(21_000);
    await reread;
    answerLost();
    await sam.getByRole('alert').waitFor();
    await sam.unroute(`**/api/visits/${visitId}/concern`);
    // The words are still there to send again; sent again, the server finds the first.
    expect(await sam.getByLabel('What happened or worries you (sent at once)').inputValue()).toBe(
      'Father shouting at the toddler',
    );
    await sam.getByRole('button', { name: 'Send the concern now' }).click();
    await sam
      .getByRole('status')
      .filter({ hasText: 'Concern sent to the people the school names for concerns.' })
      .waitFor();
    await until(
      async () => dslChannel.find((m) => String(m.text).includes('Father shouting at the toddler')),
      15_000,
      'the concern on the DSL’s channel',
    );
    await until(
      async () => [...cpoms.incidents.values()].find((i) => JSON.stringify(i).includes('toddler')),
      30_000,
      'the concern at the fake CPOMS',
    );
    const mine = (texts: string[]) => texts.filter((t) => t.includes('Father shouting at the toddler'));
    expect(mine(dslChannel.map((m) => String(m.text)))).toHaveLength(1);
    expect(mine([...cpoms.incidents.values()].map((i) => JSON.stringify(i)))).toHaveLength(1);
  });

  it('the outcome of the visit reaches both CPOMS and Arbor, once each', async () => {
    const sam = await signIn('sam', { width: 360, height: 780 });
    await sam.goto(`${base}/visits/${visitId}`);
    // Back safe asks first (in the page), then ends the watch.
    await sam.getByRole('button', { name: 'Back safe' }).click();
    await sam
      .getByRole('group', { name: /back safe\?/ })
      .getByRole('button', { name: /^Yes, / })
      .click();
    await sam.getByText(/Back safe at \d\d:\d\d/).waitFor();
    await sam.getByLabel('Yes, child seen').check();
    await sam.getByLabel('Spoke to').fill('mother');
    await sam.getByLabel('Agreements').fill('Amelia back in school on Monday');
    await sam.getByRole('button', { name: 'Submit outcome' }).click();
    await sam.getByText(/Completed .*: child seen/).waitFor();
    const atCpoms = await until(
      async () =>
        [...cpoms.incidents.values()].find(
          (i) => recordKey(i.idempotencyKey) === `visit-outcome:heath:${visitId}`,
        ),
      30_000,
      'the outcome at the fake CPOMS',
    );
    expect(JSON.stringify(atCpoms.body)).toContain('Amelia back in school on Monday');
    await until(
      async () =>
        arborNotes.find((n) =>
          String(n.body.request?.pastoralNote?.content).includes('Amelia back in school on Monday'),
        ),
      30_000,
      'the outcome as an Arbor pastoral note',
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(
      arborNotes.filter((n) => String(n.body.request?.pastoralNote?.content).includes('back in school')),
    ).toHaveLength(1);
  });

  it('the DSL exports the register as XLSX and another library reads the visit back', async () => {
    const dsl = await signIn('dsl', { width: 1280, height: 900 });
    await dsl.goto(`${base}/visits?school=heath`);
    const form = dsl.getByRole('form', { name: 'Export the register' });
    await form.waitFor();
    const download = dsl.waitForEvent('download');
    await form.getByRole('button', { name: 'Excel (XLSX)' }).click();
    const file = join(OUT, 'register.xlsx');
    await (await download).saveAs(file);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(readFileSync(file) as unknown as ArrayBuffer);
    const sheet = book.getWorksheet('Home visits')!;
    const header = Array.from({ length: 17 }, (_, c) => sheet.getRow(1).getCell(c + 1).text);
    expect(header.slice(0, 5)).toEqual(['Visit', 'Date', 'Pupil', 'MIS id', 'Address']);
    const row = Array.from({ length: 17 }, (_, c) => sheet.getRow(2).getCell(c + 1).text);
    expect(row[0]).toBe(visitId);
    expect(row[2]).toBe('Amelia Okonkwo');
    expect(row[12]).toBe('completed');
    expect(row[13]).toBe('child seen');
    expect(row[14]).toBe('mother');

    // The pupil's chronology, from the visit page: the concern, the outcome and both records (once
    // every record is marked delivered: the fakes answer before the store records it).
    await until(
      async () =>
        (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE status <> 'delivered'`))
          .rows[0]!.n === 0 || undefined,
      30_000,
      'every record delivered',
    );
    await dsl.goto(`${base}/visits/${visitId}`);
    await dsl.getByRole('link', { name: "The pupil's chronology" }).click();
    await dsl.getByRole('heading', { name: /Chronology: Amelia Okonkwo/ }).waitFor();
    const text = await dsl.locator('tbody').textContent();
    expect(text).toContain('outcome: child seen');
    expect(text).toMatch(/visit outcome to cpoms: delivered/);
    expect(text).toMatch(/visit outcome to arbor-pastoral: delivered/);
    expect(text).toMatch(/visit concern to cpoms: delivered/);
  });
});
