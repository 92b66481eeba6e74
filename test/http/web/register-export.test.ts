import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import type { User } from '../../../src/store/users.ts';
import { configWith } from '../../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * The register as the school's home-visit spreadsheet: CSV and XLSX (read back with a different
 * XLSX library than the one that wrote it), formula-safe, filtered by role, audited.
 */
const schema = uniqueName('register');
const config = configWith({});
let db: Db;
let conn: Awaited<ReturnType<typeof connectRedis>>;
let app: FastifyInstance;
let lead: User;
let other: User;
let sg: User;
const as = new Map<string, { cookie: string; csrf: string }>();

async function visit(v: Record<string, unknown>): Promise<string> {
  const cols = Object.keys(v);
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO visits (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`,
    cols.map((c) =>
      typeof v[c] === 'object' && v[c] !== null && !(v[c] instanceof Date) ? JSON.stringify(v[c]) : v[c],
    ),
  );
  return String(rows[0]!.id);
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, publisher: conn });
  lead = await addUser(db, 'lead', ['visiting-staff'], { displayName: 'Lee Lead' });
  other = await addUser(db, 'other', ['visiting-staff'], { displayName: 'Olu Other' });
  sg = await addUser(db, 'sg', ['safeguarding'], { displayName: 'Sasha DSL' });
  // Visiting staff who also manage the school's data: a role that gives no right to visits.
  const dm = await addUser(db, 'dm', ['visiting-staff', 'data-manager'], { displayName: 'Dee Data' });
  for (const [name, u] of [
    ['lead', lead],
    ['other', other],
    ['sg', sg],
    ['dm', dm],
  ] as const)
    as.set(name, await sessionFor(db, u));
  await db.query(
    `INSERT INTO pupils (school_id, mis_id, forename, surname) VALUES ('alpha', 'p1', '=HYPERLINK("http://evil","x")', 'Ann'),
       ('alpha', 'p2', 'Bo', 'Brown')`,
  );
  await visit({
    school_id: 'alpha',
    pupil_mis_id: 'p1',
    reason: 'absent 3 days',
    address: { line1: '1 Road', postcode: 'AB1 2CD' },
    planned_for: '2026-03-10',
    status: 'completed',
    requested_by: sg.id,
    authorised_by: sg.id,
    lead_user_id: lead.id,
    partner_user_id: other.id,
    departed_at: '2026-03-10T10:00:00Z',
    returned_at: '2026-03-10T10:45:00Z',
    outcome: {
      childSeen: false,
      noOneHome: true,
      concerns: ['+44 number on the door'],
      followUp: [{ action: 'letter home', by: 'office', due: '2026-03-12' }],
    },
  });
  await visit({
    school_id: 'alpha',
    pupil_mis_id: 'p2',
    reason: 'welfare',
    address: { line1: '2 Lane', postcode: 'AB1 2CE' },
    planned_for: '2026-03-11',
    status: 'cancelled',
    requested_by: sg.id,
    lead_user_id: other.id,
    cancel_reason: 'parent rang: child at hospital',
  });
  await visit({
    school_id: 'alpha',
    pupil_mis_id: 'p2',
    reason: 'out of range',
    address: { line1: '2 Lane', postcode: 'AB1 2CE' },
    planned_for: '2026-04-01',
    status: 'requested',
    requested_by: sg.id,
  });
});
afterAll(async () => {
  await app.close();
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

const get = (who: string, url: string) => app.inject({ url, headers: { cookie: as.get(who)!.cookie } });

describe('the register export', () => {
  it('gives the safeguarding team every visit in the period as CSV, formula-safe', async () => {
    const r = await get('sg', '/api/visits/register.csv?school=alpha&from=2026-03-01&to=2026-03-31');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(r.headers['content-disposition']).toBe(
      'attachment; filename="home-visits-alpha-2026-03-01-to-2026-03-31.csv"',
    );
    const rows: string[][] = parse(r.body, { bom: true });
    expect(rows[0]).toEqual([
      'Visit',
      'Date',
      'Pupil',
      'MIS id',
      'Address',
      'Reason',
      'Risk',
      'Requested by',
      'Authorised by',
      'Staff',
      'Departed',
      'Back',
      'Status',
      'Outcome',
      'Spoke to',
      'Concerns',
      'Follow-up',
    ]);
    expect(rows).toHaveLength(3); // April's visit is outside the period
    const [first, second] = [rows[1]!, rows[2]!];
    expect(first[2]).toBe(`'=HYPERLINK("http://evil","x") Ann`);
    expect(first.slice(9, 16)).toEqual([
      'Lee Lead and Olu Other',
      '10:00',
      '10:45',
      'completed',
      'no one home: child not seen',
      '',
      "'+44 number on the door",
    ]);
    expect(first[16]).toBe('letter home (office, by 2026-03-12)');
    expect(second[13]).toBe('cancelled: parent rang: child at hospital');
    // No cell a spreadsheet would run as a formula.
    for (const cell of rows.flat()) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    const audit = await db.query<{ after: Record<string, unknown> }>(
      `SELECT after FROM audit_log WHERE action = 'register.exported'`,
    );
    expect(audit.rows.at(-1)!.after).toEqual({ format: 'csv', lines: 2, onlyMine: false });
  });

  it('writes an XLSX that another library reads back with the same rows', async () => {
    const r = await get('sg', '/api/visits/register.xlsx?school=alpha&from=2026-03-01&to=2026-03-31');
    expect(r.statusCode).toBe(200);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(r.rawPayload as unknown as ArrayBuffer);
    const sheet = book.getWorksheet('Home visits')!;
    const csv = await get('sg', '/api/visits/register.csv?school=alpha&from=2026-03-01&to=2026-03-31');
    const fromCsv: string[][] = parse(csv.body, { bom: true });
    expect(sheet.rowCount).toBe(fromCsv.length);
    const rows = fromCsv.map((_, r) =>
      Array.from({ length: 17 }, (_, c) => sheet.getRow(r + 1).getCell(c + 1).text),
    );
    expect(rows).toEqual(fromCsv);
    expect(rows[1]![15]).toBe("'+44 number on the door");
  });

  it('gives visiting staff only the visits they requested or went on', async () => {
    const mine = parse(
      (await get('lead', '/api/visits/register.csv?school=alpha&from=2026-03-01&to=2026-03-31')).body,
      {
        bom: true,
      },
    ) as string[][];
    expect(mine.slice(1).map((r) => r[3])).toEqual(['p1']);
    const theirs = parse(
      (await get('other', '/api/visits/register.csv?school=alpha&from=2026-03-01&to=2026-03-31')).body,
      { bom: true },
    ) as string[][];
    expect(theirs.slice(1).map((r) => r[3])).toEqual(['p1', 'p2']);
  });

  it('never tells visiting staff, through a reason taken from the trigger, what the withheld flags say', async () => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
       VALUES ('alpha', 'p2', 'vulnerable-absent', 'Absence of a vulnerable pupil', 'home-visit', 'welfare-staff',
               'open', '2026-05-04', 'there is a safeguarding concern', '{}'::jsonb)
       RETURNING id::text`,
    );
    // Asked for from the trigger by Lee for whoever goes, not Lee: Lee is not shown the pupil's
    // details. (Led by Lee, under this school's policy — no authorisation, the risk assessed at the
    // request — nothing more would clear it to go: the lead is shown them before leaving.)
    await visit({
      school_id: 'alpha',
      pupil_mis_id: 'p2',
      trigger_episode_id: rows[0]!.id,
      reason: 'Absence of a vulnerable pupil',
      address: { line1: '2 Lane', postcode: 'AB1 2CE' },
      planned_for: '2026-05-05',
      status: 'requested',
      requested_by: lead.id,
      lead_user_id: null,
    });
    const reasons = async (who: string) => {
      const [head, ...lines] = parse(
        (await get(who, '/api/visits/register.csv?school=alpha&from=2026-05-01&to=2026-05-31')).body,
        { bom: true },
      ) as string[][];
      const at = head!.findIndex((h) => /reason/i.test(h));
      return lines.map((l) => l[at]);
    };
    expect(await reasons('lead')).toEqual(['Attendance concern (details withheld)']);
    expect(await reasons('sg')).toEqual(['Absence of a vulnerable pupil']);
  });

  it('keeps visiting staff to their own visits when they also hold a role with no right to visits', async () => {
    const rows = parse(
      (await get('dm', '/api/visits/register.csv?school=alpha&from=2026-03-01&to=2026-03-31')).body,
      { bom: true },
    ) as string[][];
    expect(rows.slice(1)).toEqual([]);
    const listed = await get('dm', '/api/visits?school=alpha&date=2026-03-10');
    expect(listed.statusCode).toBe(200);
    expect(listed.json().visits).toEqual([]);
    const { rows: ids } = await db.query<{ id: string }>(
      `SELECT id::text FROM visits WHERE pupil_mis_id = 'p1' AND planned_for = '2026-03-10'`,
    );
    const one = await get('dm', `/api/visits/${ids[0]!.id}`);
    expect([403, 404]).toContain(one.statusCode);
    expect(one.body).not.toContain('1 Road');
    // The safeguarding lead (no visiting-staff role) still sees that visit.
    expect((await get('sg', `/api/visits/${ids[0]!.id}`)).statusCode).toBe(200);
  });

  it('refuses a bad period with a 400 naming the field, and a stranger with a 401', async () => {
    const backwards = await get('sg', '/api/visits/register.csv?school=alpha&from=2026-03-31&to=2026-03-01');
    expect(backwards.statusCode).toBe(400);
    expect(backwards.json().message).toBe('to: expected a date on or after from');
    const fake = await get('sg', '/api/visits/register.csv?school=alpha&from=2026-02-30&to=2026-03-01');
    expect(fake.statusCode).toBe(400);
    expect(fake.json().message).toMatch(/^from: /);
    const long = await get('sg', '/api/visits/register.xlsx?school=alpha&from=2024-01-01&to=2026-03-01');
    expect(long.statusCode).toBe(400);
    expect(
      (await app.inject({ url: '/api/visits/register.csv?school=alpha&from=2026-03-01&to=2026-03-31' }))
        .statusCode,
    ).toBe(401);
  });
});

describe('what was found at the door, in the register', () => {
  it('is withheld, and said to be, from visiting staff who asked for a visit but did not go on it', async () => {
    // Both asked for by Olu, led by Lee: one with a concern, one with nothing found.
    for (const [day, outcome] of [
      [
        '2026-06-08',
        {
          childSeen: true,
          noOneHome: false,
          spokeTo: 'mother',
          concerns: ['bruising on left forearm'],
          followUp: [{ action: 'refer to DSL', by: 'office', due: '2026-06-09' }],
        },
      ],
      ['2026-06-09', { childSeen: true, noOneHome: false, concerns: [], followUp: [] }],
    ] as const)
      await visit({
        school_id: 'alpha',
        pupil_mis_id: 'p2',
        reason: 'welfare',
        address: { line1: '2 Lane', postcode: 'AB1 2CE' },
        planned_for: day,
        status: 'completed',
        requested_by: other.id,
        authorised_by: sg.id,
        authorised_at: `${day}T08:00:00Z`,
        lead_user_id: lead.id,
        departed_at: `${day}T09:00:00Z`,
        returned_at: `${day}T09:40:00Z`,
        outcome,
      });
    const url = (format: string) =>
      `/api/visits/register.${format}?school=alpha&from=2026-06-01&to=2026-06-30`;
    const details = async (who: string) => {
      const [head, ...lines] = parse((await get(who, url('csv'))).body, { bom: true }) as string[][];
      return lines.map((l) =>
        ['Outcome', 'Spoke to', 'Concerns', 'Follow-up'].map((c) => l[head!.indexOf(c)]),
      );
    };
    const withheld = ['child seen', '(details withheld)', '(details withheld)', '(details withheld)'];
    // Never empty: an empty cell would say nothing was found.
    expect(await details('other')).toEqual([withheld, withheld]);
    expect(await details('lead')).toEqual([
      ['child seen', 'mother', 'bruising on left forearm', 'refer to DSL (office, by 2026-06-09)'],
      ['child seen', '', '', ''],
    ]);
    expect((await details('sg'))[0]).toEqual((await details('lead'))[0]);
    // The spreadsheet is written from the same rows.
    const book = new ExcelJS.Workbook();
    await book.xlsx.load((await get('other', url('xlsx'))).rawPayload as unknown as ArrayBuffer);
    const sheet = book.getWorksheet('Home visits')!;
    const cells = Array.from({ length: sheet.rowCount }, (_, r) =>
      Array.from({ length: 17 }, (_, c) => sheet.getRow(r + 1).getCell(c + 1).text),
    );
    expect(JSON.stringify(cells)).not.toMatch(/bruising|mother|refer to DSL/);
    expect(cells[1]!.slice(14)).toEqual(withheld.slice(1));
  });
});
