import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
 * Thames View 2.7 and 4.2/4.3 in a browser against the real `doorstep start`: the office sets a
 * visit's appointment time on the visit page and its appointment record reaches a fake CPOMS and a
 * fake Arbor; then records an agreement of a made visit as not kept, and the note reaches Arbor and
 * the reminder letter prints from the visit page.
 */
const PASSWORD = 'e2e correct horse battery';
const OUT = 'test-results';
const id = uniqueName('e2eagree');
const ADDRESS = JSON.stringify({ line1: '14 Rosebank Terrace', town: 'Leeds', postcode: 'LS6 2QT' });
let base: string;
let server: Spawned;
let cpoms: FakeCpoms;
let fakes: Server;
let db: Db;
let browser: Browser;
const arborNotes: { request?: { pastoralNote?: { summary?: string; content?: string } } }[] = [];

function startArbor(): Promise<string> {
  fakes = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/arbor/rest-v2/pastoral-notes') {
        arborNotes.push(JSON.parse(body));
        res
          .writeHead(201, { 'content-type': 'application/json' })
          .end(JSON.stringify({ pastoralNote: { entityType: 'PastoralNote', id: 700 + arborNotes.length } }));
        return;
      }
      // The student's notes, as the published client queries them: read before each write.
      if (req.method === 'GET' && req.url?.startsWith('/arbor/rest-v2/PastoralNotes?')) {
        const student = new URL(req.url, 'http://x').searchParams.get('filters.student.equals');
        const pastoralNotes = arborNotes
          .map((n, i) => ({ id: 701 + i, ...(n.request?.pastoralNote ?? {}) }))
          .filter((n) => (n as { student?: { href?: string } }).student?.href === student);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pastoralNotes }));
        return;
      }
      res.writeHead(404).end();
    });
  });
  return new Promise((r) =>
    fakes.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(fakes.address() as AddressInfo).port}`)),
  );
}

async function signIn(username: string): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 360, height: 780 } });
  const page = await ctx.newPage();
  await page.goto(`${base}/`);
  await page.waitForURL(/\/login/);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  return page;
}

const visit = async (status: string, outcome: unknown): Promise<string> => {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by, outcome,
       departed_at, returned_at, completed_at)
     SELECT 'thames', 'P1', 'attendance below 90%', $1, (now() AT TIME ZONE 'Europe/London')::date, $2, u.id, $3,
       CASE WHEN $2 = 'completed' THEN now() - interval '2 hours' END,
       CASE WHEN $2 = 'completed' THEN now() - interval '1 hour' END,
       CASE WHEN $2 = 'completed' THEN now() - interval '1 hour' END
     FROM users u WHERE u.username = 'olive' RETURNING id`,
    [ADDRESS, status, outcome === null ? null : JSON.stringify(outcome)],
  );
  return String(rows[0]!.id);
};

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  cpoms = await startFakeCpoms({ token: 'e2e-token', students: { A123456789012: 'cpoms-student-1' } });
  const arbor = await startArbor();
  const policies = mkdtempSync(join(tmpdir(), 'doorstep-e2e-policies-'));
  copyFileSync('config/policies/statutory.yaml', join(policies, 'statutory.yaml'));
  // Thames View's appointment and agreement clauses, with no list to sign (the visit is booked once it has its time).
  writeFileSync(
    join(policies, 'e2e.yaml'),
    `id: e2e\ntitle: E2E\nsource: test\nrules: []\nvisits:\n  pairs: optional\n  appointmentRecords: { source: "2.7" }\n  agreements: { reminderLetter: true, attendanceNote: true, followUpVisitAfter: 2 }\n`,
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
  - id: thames
    name: Thames View Junior
    phone: "01632 960123"
    mis: { kind: csv, dropFolder: ./data/drop/e2e-agreements }
    records: { sink: cpoms, baseUrl: "${cpoms.url}", token: "\${E2E_CPOMS_TOKEN}" }
    alsoRecordTo:
      - { sink: arbor-pastoral, arborStudentIds: true, baseUrl: "${arbor}/arbor", username: doorstep, password: "\${E2E_ARBOR_PASSWORD}", kinds: [visit_appointment, agreement_broken] }
    policies: [statutory, e2e]
`);
  const env = {
    DATABASE_URL: TEST_DATABASE_URL,
    E2E_CPOMS_TOKEN: 'e2e-token',
    E2E_ARBOR_PASSWORD: 'arbor-pass',
    LOG_LEVEL: 'warn',
  };
  server = runCli(['start', '--config', file], env);
  await waitForHttp(`${base}/readyz`, 200, 30_000);
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema: id });
  await db.query(
    `INSERT INTO pupils (school_id, mis_id, upn, forename, surname, address) VALUES ('thames', 'P1', 'A123456789012', 'Amelia', 'Okonkwo', $1)`,
    [ADDRESS],
  );
  const p = runCli(['user', 'add', '-c', file, '-u', 'olive', '-n', 'Olive Office', '-r', 'office'], {
    ...env,
    DOORSTEP_PASSWORD: PASSWORD,
  });
  const { code } = await p.exited;
  if (code !== 0) throw new Error(`user add: ${p.stderr()}`);
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

describe('appointments and agreements in a browser', () => {
  it('the appointment time set on the visit page reaches CPOMS and Arbor as the appointment record', async () => {
    const visitId = await visit('requested', null);
    const olive = await signIn('olive');
    await olive.goto(`${base}/visits/${visitId}`);
    await olive.getByRole('heading', { name: 'Appointment' }).waitFor();
    await olive.getByLabel(/^Time on /).fill('15:30');
    await olive.getByRole('button', { name: 'Record the time' }).click();
    await olive.getByRole('status').filter({ hasText: 'Appointment recorded.' }).waitFor();
    await olive.getByText(/Arranged for .*15:30/).waitFor();
    const atCpoms = await until(
      async () =>
        [...cpoms.incidents.values()].find(
          (i) => recordKey(i.idempotencyKey) === `visit-appointment:thames:${visitId}:1`,
        ),
      30_000,
      'the appointment record at the fake CPOMS',
    );
    expect(JSON.stringify(atCpoms.body)).toContain('15:30');
    expect(JSON.stringify(atCpoms.body)).toContain('14 Rosebank Terrace, Leeds, LS6 2QT');
    await until(
      async () => arborNotes.find((n) => String(n.request?.pastoralNote?.content).includes('appointment')),
      30_000,
      'the appointment record as an Arbor note',
    );
    await olive.screenshot({ path: join(OUT, 'visit-appointment.png'), fullPage: true });
  });

  it('an agreement recorded as not kept: the note reaches Arbor and the reminder letter prints', async () => {
    const visitId = await visit('completed', {
      childSeen: true,
      noOneHome: false,
      agreements: ['Amelia in school by 8:45 every day'],
      concerns: [],
      followUp: [],
      recordedBy: '1',
      recordedAt: new Date().toISOString(),
    });
    const olive = await signIn('olive');
    await olive.goto(`${base}/visits/${visitId}`);
    await olive.getByRole('heading', { name: 'Agreements' }).waitFor();
    await olive.getByLabel('What happened').fill('Arrived at 9:40, no reason given');
    await olive.getByRole('button', { name: 'Record the agreement as not kept' }).click();
    await olive.getByRole('status').filter({ hasText: 'Recorded.' }).waitFor();
    await until(
      async () =>
        arborNotes.find((n) => String(n.request?.pastoralNote?.content).includes('Arrived at 9:40')),
      30_000,
      'the attendance note at the fake Arbor',
    );
    await olive.getByRole('link', { name: 'reminder letter' }).click();
    await olive.getByRole('heading', { name: 'A reminder of what we agreed' }).waitFor();
    expect(await olive.locator('main').textContent()).toContain('Amelia in school by 8:45 every day');
    await olive.screenshot({ path: join(OUT, 'reminder-letter.png'), fullPage: true });
  });
});
