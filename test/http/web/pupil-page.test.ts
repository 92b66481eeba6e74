import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { configWith } from '../../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * The pupil page from stored marks, episodes and visits: the rate counted as the trigger rules count,
 * the calendar by statutory category with the counted days outlined, the evidence in words; office and
 * safeguarding only.
 */
const schema = uniqueName('pupilpage');
// Tue 1 Sep 2026 – Fri 23 Oct; Fri 11 Sep an INSET day. "Today" is Wed 16 Sep.
const config = configWith({
  school: `    calendar:
      terms: [{ start: "2026-09-01", end: "2026-10-23" }]
      closures: [{ from: "2026-09-11", kind: inset, note: "training" }]`,
});
const now = new Date('2026-09-16T14:00:00Z');
let db: Db;
let app: FastifyInstance;
let conn: Awaited<ReturnType<typeof connectRedis>>;
const as = new Map<string, { cookie: string; csrf: string }>();

const CATEGORY: Record<string, string> = {
  '/': 'present',
  '\\': 'present',
  N: 'unauthorised_absence',
  I: 'authorised_absence',
  B: 'approved_activity',
  X: 'not_possible',
};
async function mark(date: string, am: string, pm = am) {
  for (const [session, code] of [
    ['AM', am],
    ['PM', pm],
  ] as const)
    await db.query(
      `INSERT INTO attendance_marks (school_id, pupil_mis_id, date, session, code, category, import_id)
       VALUES ('alpha', 'p1', $1, $2, $3, $4, 1)`,
      [date, session, code, CATEGORY[code]],
    );
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, publisher: conn, now: () => now });
  for (const [name, roles, schools] of [
    ['sg', ['safeguarding'], []],
    ['office', ['office'], []],
    ['visitor', ['visiting-staff'], []],
    ['dm', ['data-manager'], []],
    ['elsewhere', ['safeguarding'], ['beta']],
  ] as const)
    as.set(name, await sessionFor(db, await addUser(db, name, [...roles], { schools: [...schools] })));
  await db.query(
    `INSERT INTO pupils (school_id, mis_id, upn, forename, surname, year_group, flags, manual_flags)
     VALUES ('alpha', 'p1', 'A123456789012', 'Ann', '<b>Okafor</b>', '5', '{"cpPlan": true, "lac": false}',
             '{"welfareConcern": {"reason": "seen hungry", "by": "1", "at": "2026-09-10T09:00:00Z"}}')`,
  );
  await mark('2026-09-01', '/', '\\');
  await mark('2026-09-02', '/', '\\');
  await mark('2026-09-03', 'I');
  await mark('2026-09-04', 'B', 'X');
  await mark('2026-09-07', 'N');
  await mark('2026-09-08', 'N');
  await mark('2026-09-09', 'N');
  await mark('2026-09-10', '/', 'N');
  await mark('2026-09-11', '/'); // the INSET day: shown, not counted
  await mark('2026-09-14', '/', '\\');
  await mark('2026-09-15', '/', '\\');
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
     VALUES ('alpha', 'p1', 'heath-lane:absent-3-days', 'Absent 3 school days', 'home-visit', 'attendance-officer', 'open',
             '2026-09-09', 'absent 3 school days in a row (2026-09-07 to 2026-09-09)', $1) RETURNING id`,
    [
      JSON.stringify({
        from: '2026-09-07',
        to: '2026-09-09',
        days: ['07', '08', '09'].map((d) => ({ date: `2026-09-${d}`, am: 'N', pm: 'N' })),
      }),
    ],
  );
  await db.query(
    `INSERT INTO visits (school_id, pupil_mis_id, trigger_episode_id, reason, address, planned_for, status,
       requested_by, outcome, completed_at)
     SELECT 'alpha', 'p1', $1, 'Absent 3 school days', '{"line1":"1 Road","postcode":"AB1 2CD"}', '2026-09-10',
       'completed', u.id, '{"childSeen": false, "noOneHome": true, "recordedAt": "2026-09-10T11:00:00Z"}', now()
     FROM users u WHERE u.username = 'sg'`,
    [rows[0]!.id],
  );
});
afterAll(async () => {
  await app.close();
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

const page = (who: string, url: string) =>
  app.inject({ url, headers: { cookie: as.get(who)!.cookie, accept: 'text/html' } });

describe('the pupil page', () => {
  it('shows the year counted as the trigger rules count it, from the stored marks', async () => {
    const r = await page('sg', '/pupils/p1?school=alpha');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    // School days 1–4, 7–10, 14–15 Sep (11 is INSET): 20 sessions marked, X not possible → 19 possible;
    // attended: 1, 2, 14, 15 (8) + B (1) + the morning of the 10th (1) = 10.
    expect(r.body).toContain('<strong id="rate-value">52.6%</strong> — 10 of 19 possible sessions');
    expect(r.body).toContain('persistent absence');
    expect(r.body).toContain('Authorised absence 2, unauthorised 7, not required or not possible 1 sessions');
    // Names escaped; the MIS's flags and the one set by hand apart.
    expect(r.body).toContain('&#60;b&#62;Okafor&#60;/b&#62;');
    expect(r.body).not.toContain('<b>Okafor');
    expect(r.body).toMatch(/Child protection plan <span class="hint">\(from the MIS\)/);
    expect(r.body).not.toContain('Looked after');
    expect(r.body).toMatch(/Welfare concern <span class="hint">\(set in Doorstep 2026-09-10: seen hungry\)/);
  });

  it('lays out every AM and PM by category, outlines the days the trigger counted, greys the INSET day', async () => {
    const r = await page('sg', '/pupils/p1?school=alpha');
    const cell = (date: string) =>
      r.body.match(new RegExp(`<td class="([^"]*)" data-date="${date}">(.*?)</td>`))!;
    for (const d of ['2026-09-07', '2026-09-08', '2026-09-09']) expect(cell(d)[1]).toBe('open counted');
    expect(cell('2026-09-10')[1]).toBe('open');
    expect(cell('2026-09-07')[2]).toContain('class="s cat-unauthorised_absence"');
    expect(cell('2026-09-03')[2]).toContain('I<span class="visually-hidden"> illness, authorised absence');
    expect(cell('2026-09-04')[2]).toMatch(/cat-approved_activity.*cat-not_possible/);
    expect(cell('2026-09-11')[1]).toBe('closed');
    // Only weekdays, from 1 September to today.
    expect(r.body).not.toContain('data-date="2026-09-05"');
    expect(r.body).not.toContain('data-date="2026-09-17"');
  });

  it('draws the trend week by week and gives the figures as a table', async () => {
    const r = await page('sg', '/pupils/p1?school=alpha');
    expect(r.body).toMatch(/<svg class="trend"[^>]*role="img"/);
    // Week of 31 Aug: 5 of 7; week of 7 Sep: 1 of 8; week of 14 Sep: 4 of 4 (so far).
    expect(r.body).toContain('<tr><td>31 Aug</td><td>71.4%</td><td>5 / 7</td><td>71.4%</td></tr>');
    expect(r.body).toContain('<tr><td>7 Sept</td><td>12.5%</td><td>1 / 8</td><td>40.0%</td></tr>');
    expect(r.body).toContain('<tr><td>14 Sept</td><td>100.0%</td><td>4 / 4</td><td>52.6%</td></tr>');
  });

  it('lists the trigger with its evidence in words and the visit with its outcome', async () => {
    const r = await page('sg', '/pupils/p1?school=alpha');
    expect(r.body).toContain('Absent 3 school days</strong> <span class="badge">OPEN</span>');
    expect(r.body).toContain('first day counted Mon 7 Sept 2026');
    expect(r.body).toContain(
      'Tue 8 Sept 2026: AM N (reason not yet established), PM N (reason not yet established).',
    );
    expect(r.body).toMatch(/<a href="\/visits\/\d+">#\d+<\/a><\/td><td>2026-09-10<\/td><td>completed/);
    expect(r.body).toContain('no one home; follow-up needed');
    expect(r.body).toContain('href="/pupils/p1/chronology?school=alpha"');
  });

  it('the office sees it without the chronology link; each read is audited', async () => {
    const r = await page('office', '/pupils/p1?school=alpha');
    expect(r.statusCode).toBe(200);
    expect(r.body).not.toContain('/chronology');
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'pupil.page-read' AND entity_id = 'p1'`,
    );
    expect(rows[0]!.n).toBeGreaterThanOrEqual(5);
  });

  it('visiting staff and the data manager get the 403 page; another school’s staff too', async () => {
    for (const who of ['visitor', 'dm', 'elsewhere']) {
      const r = await page(who, '/pupils/p1?school=alpha');
      expect(r.statusCode, who).toBe(403);
      expect(r.body).toContain('<h1>Not allowed</h1>');
      expect(r.body).not.toContain('Okafor');
    }
  });

  it('an unknown pupil is a 404 page; a missing school a 400 page naming the field', async () => {
    const r = await page('sg', '/pupils/nobody?school=alpha');
    expect(r.statusCode).toBe(404);
    expect(r.body).toContain('Page not found');
    const q = await page('sg', '/pupils/p1');
    expect(q.statusCode).toBe(400);
    expect(q.body).toContain('school');
  });

  it('the same facts as JSON', async () => {
    const r = await app.inject({
      url: '/api/pupils/p1/attendance?school=alpha',
      headers: { cookie: as.get('office')!.cookie },
    });
    expect(r.statusCode).toBe(200);
    const m = r.json();
    expect(m.year.total).toMatchObject({ possible: 19, attended: 10 });
    expect(m.episodes[0]).toMatchObject({
      firstDay: '2026-09-07',
      counted: ['2026-09-07', '2026-09-08', '2026-09-09'],
    });
    expect(m.visits).toHaveLength(1);
    const denied = await app.inject({
      url: '/api/pupils/p1/attendance?school=alpha',
      headers: { cookie: as.get('visitor')!.cookie },
    });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().code).toBe('DOORSTEP_FORBIDDEN');
  });

  it('the visit page’s data links to it and says why the visit was asked for', async () => {
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM visits WHERE pupil_mis_id = 'p1'`);
    const r = await app.inject({
      url: `/api/visits/${rows[0]!.id}`,
      headers: { cookie: as.get('sg')!.cookie },
    });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({
      pupilUrl: '/pupils/p1?school=alpha',
      trigger: {
        title: 'Absent 3 school days',
        explanation: 'absent 3 school days in a row (2026-09-07 to 2026-09-09)',
        firstDay: '2026-09-07',
        status: 'open',
      },
    });
  });
});
