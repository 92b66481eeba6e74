import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { evaluateTriggers } from '../../jobs/evaluate-triggers.ts';
import { loadPolicyPacks, rulesForSchool } from '../../src/config/policy-packs.ts';
import { createLogger } from '../../src/log/logger.ts';
import { listAudit } from '../../src/store/audit.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { listEpisodes } from '../../src/store/triggers.ts';
import { evaluateSchoolTriggers } from '../../src/triggers/evaluate-school.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

const schema = uniqueName('triggers');
let db: Db;
const config = configWith({
  school: `    calendar:
      terms: [{ start: "2025-09-03", end: "2025-10-24" }, { start: "2025-11-03", end: "2025-12-19" }]
      closures: [{ from: "2025-11-14", kind: inset }]
`,
});
const school = { ...config.schools[0]!, policies: ['heath-lane'] };
const { rules } = rulesForSchool(school, loadPolicyPacks('config/policies'));
const run = (today: string, pupilIds: string[] | 'all' = ['p1']) =>
  evaluateSchoolTriggers(db, school, rules, {
    today,
    pupilIds,
    actor: 'test',
    now: new Date(`${today}T16:00:00Z`),
  });

/** The same school with the statutory pack only (its returns to the local authority). */
const statutory = { ...config.schools[0]!, policies: ['statutory'] };
const statutoryRules = rulesForSchool(statutory, loadPolicyPacks('config/policies')).rules;
const runStatutory = (today: string) =>
  evaluateSchoolTriggers(db, statutory, statutoryRules, {
    today,
    pupilIds: ['p1'],
    actor: 'test',
    now: new Date(`${today}T16:00:00Z`),
  });

/** `n` weekdays from `from` (the test calendar's terms have no closures in them here). */
function weekdays(from: string, n: number): string[] {
  const days: string[] = [];
  for (let d = new Date(`${from}T12:00:00Z`); days.length < n; d.setUTCDate(d.getUTCDate() + 1))
    if (d.getUTCDay() % 6 !== 0) days.push(d.toISOString().slice(0, 10));
  return days;
}

async function mark(pupil: string, date: string, code: string) {
  for (const session of ['AM', 'PM'] as const) await markSession(pupil, date, session, code);
}

async function markSession(pupil: string, date: string, session: 'AM' | 'PM', code: string) {
  // A mark replaced: written through the marks view (a month per row underneath).
  await db.query(
    `DELETE FROM attendance_marks WHERE school_id = 'alpha' AND pupil_mis_id = $1 AND date = $2 AND session = $3`,
    [pupil, date, session],
  );
  await db.query(
    `INSERT INTO attendance_marks (school_id, pupil_mis_id, date, session, code, category, import_id)
     VALUES ('alpha', $1, $2, $3, $4, $5, 1)`,
    [
      pupil,
      date,
      session,
      code,
      code === 'N' || code === 'G' || code === 'O'
        ? 'unauthorised_absence'
        : code === 'I'
          ? 'authorised_absence'
          : code === 'Y4' || code === '#'
            ? 'not_possible'
            : 'present',
    ],
  );
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

describe('trigger episodes', () => {
  beforeEach(async () => {
    await db.query('DELETE FROM attendance_marks');
    await db.query('DELETE FROM outbox');
    await db.query('DELETE FROM trigger_episodes');
    await db.query('DELETE FROM pupils');
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, upn, flags) VALUES ('alpha', 'p1', 'A123456789012', '{}'), ('alpha', 'p2', NULL, '{}')`,
    );
  });

  it('raises once with a trigger note in the outbox, updates while it lasts, closes when it ends', async () => {
    for (const d of ['2025-11-12', '2025-11-13']) await mark('p1', d, '/');
    for (const d of ['2025-11-13', '2025-11-17', '2025-11-18']) await mark('p1', d, 'N');
    expect(await run('2025-11-18')).toEqual({ pupils: 1, raised: 1, updated: 0, closed: 0, escalated: 0 });

    const [episode] = await listEpisodes(db, 'alpha', { status: 'open' });
    expect(episode).toMatchObject({
      pupilMisId: 'p1',
      ruleKey: 'heath-lane:absent-3-days',
      action: 'home-visit',
      role: 'attendance-coordinator',
      openedOn: '2025-11-18',
      evidence: { from: '2025-11-13', to: '2025-11-18', count: 3 },
    });
    const { rows: notes } = await db.query<{
      kind: string;
      status: string;
      title: string;
      body: string;
      idempotency_key: string;
      pupil_ids: string[];
    }>('SELECT kind, status, title, body, idempotency_key, pupil_ids FROM outbox');
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({
      kind: 'trigger_note',
      status: 'preview',
      pupil_ids: ['p1'],
      idempotency_key: `trigger-note:alpha:${episode!.id}`,
      title: 'Not seen for an extended period (3 or more school days) — pupil p1',
    });
    expect(notes[0]!.body).toContain('2025-11-17: N / N');
    expect(notes[0]!.body).toContain('Recommended action: a home visit, by the attendance coordinator.');
    expect(await listAudit(db, { action: 'trigger.raised' })).toHaveLength(1);

    // The same data again: nothing new, nothing written.
    expect(await run('2025-11-18')).toEqual({ pupils: 1, raised: 0, updated: 0, closed: 0, escalated: 0 });

    // Still absent the next day: the same episode, its evidence updated, no second note.
    await mark('p1', '2025-11-19', 'N');
    expect(await run('2025-11-19')).toEqual({ pupils: 1, raised: 0, updated: 1, closed: 0, escalated: 0 });
    expect((await listEpisodes(db, 'alpha', { status: 'open' }))[0]!.evidence).toMatchObject({ count: 4 });
    expect((await db.query('SELECT 1 FROM outbox')).rowCount).toBe(1);

    // Back at school: closed.
    await mark('p1', '2025-11-20', '/');
    expect(await run('2025-11-20')).toEqual({ pupils: 1, raised: 0, updated: 0, closed: 1, escalated: 0 });
    expect(await listEpisodes(db, 'alpha', { status: 'open' })).toEqual([]);
  });

  it('the nightly run covers every pupil; the job evaluates exactly the pupils it is given', async () => {
    for (const p of ['p1', 'p2'])
      for (const d of ['2025-11-13', '2025-11-17', '2025-11-18']) await mark(p, d, 'N');
    const deps = {
      db,
      log: createLogger({ level: 'silent' }),
      producer: undefined as never,
      now: () => new Date('2025-11-18T16:00:00Z'),
      instance: 't',
      config: { ...config, schools: [school] },
    };
    const jobRun = {
      id: '1',
      name: 'evaluate-triggers',
      attempt: 1,
      maxAttempts: 3,
      signal: new AbortController().signal,
    };
    // An import's job names the import, not its pupils: they are read from it.
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO imports (school_id, source, unit, status, started_at, changed_pupils)
       VALUES ('alpha', 'csv', 'p2-only.csv', 'applied', now(), '["p2"]'::jsonb) RETURNING id`,
    );
    expect(
      await evaluateTriggers(
        { schoolId: 'alpha', importId: String(rows[0]!.id), chunk: 0, reason: 'import' },
        jobRun,
        deps,
      ),
    ).toMatchObject({ pupils: 1, raised: 1 });
    // A job queued by an earlier version (its pupils in the payload), waiting across an upgrade: as then.
    expect(
      await evaluateTriggers({ schoolId: 'alpha', pupilIds: ['p2'], reason: 'import' }, jobRun, deps),
    ).toMatchObject({ pupils: 1 });
    expect(await evaluateTriggers({ schoolId: 'alpha', reason: 'nightly' }, jobRun, deps)).toMatchObject({
      pupils: 2,
      raised: 1,
    });
    expect((await listEpisodes(db, 'alpha', { status: 'open' })).map((e) => e.pupilMisId)).toEqual([
      'p1',
      'p2',
    ]);
  });

  it('many pupils raised in one chunk: each episode has its own trigger note and audit entry, linked by its id', async () => {
    const pupils = Array.from({ length: 25 }, (_, i) => `m${String(i).padStart(2, '0')}`);
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, flags) SELECT 'alpha', id, '{}' FROM unnest($1::text[]) AS id`,
      [pupils],
    );
    for (const p of pupils) for (const d of ['2025-11-13', '2025-11-17', '2025-11-18']) await mark(p, d, 'N');
    const report = await run('2025-11-18', pupils);
    expect(report.raised).toBe(25);
    const episodes = await listEpisodes(db, 'alpha', { status: 'open' });
    const mine = episodes.filter((e) => pupils.includes(e.pupilMisId));
    expect(mine.map((e) => e.pupilMisId).sort()).toEqual(pupils);
    const outbox = await db.query<{ idempotency_key: string; source_id: string; pupil_ids: string[] }>(
      `SELECT idempotency_key, source_id, pupil_ids FROM outbox WHERE source_type = 'trigger_episode'`,
    );
    const audit = await listAudit(db, { action: 'trigger.raised', limit: 1000 });
    for (const e of mine) {
      const notes = outbox.rows.filter((o) => o.source_id === e.id);
      expect(notes).toEqual([
        { idempotency_key: `trigger-note:alpha:${e.id}`, source_id: e.id, pupil_ids: [e.pupilMisId] },
      ]);
      const entries = audit.filter((a) => a.entityId === e.id);
      expect(entries.map((a) => (a.after as { pupil: string }).pupil)).toEqual([e.pupilMisId]);
    }
    // Evaluating again raises nothing more.
    expect((await run('2025-11-18', pupils)).raised).toBe(0);
  });

  it('a phone-call episode whose response rises to a home visit writes a new trigger note and audit entry, once per level', async () => {
    const notes = async () =>
      (
        await db.query<{ title: string; body: string; idempotency_key: string; source_id: string }>(
          `SELECT title, body, idempotency_key, source_id FROM outbox WHERE kind = 'trigger_note' ORDER BY id`,
        )
      ).rows;
    // Ill Mon 10 – Wed 12, a parent's reason each day: a phone call.
    for (const d of ['2025-11-10', '2025-11-11', '2025-11-12']) await mark('p1', d, 'I');
    expect(await run('2025-11-12')).toMatchObject({ raised: 1, escalated: 0 });
    const [episode] = await listEpisodes(db, 'alpha', { status: 'open' });
    expect(episode).toMatchObject({ ruleKey: 'heath-lane:absent-3-days', action: 'phone-call' });
    expect((await notes()).map((n) => n.idempotency_key)).toEqual([`trigger-note:alpha:${episode!.id}`]);

    // No answer on Thu 13 (Fri 14 INSET): the same run, now a home visit — told through the outbox.
    await mark('p1', '2025-11-13', 'N');
    expect(await run('2025-11-13')).toEqual({ pupils: 1, raised: 0, updated: 1, closed: 0, escalated: 1 });
    const [same] = await listEpisodes(db, 'alpha', { status: 'open' });
    expect(same).toMatchObject({ id: episode!.id, action: 'home-visit' });
    const after = await notes();
    expect(after.map((n) => n.idempotency_key)).toEqual([
      `trigger-note:alpha:${episode!.id}`,
      `trigger-note:alpha:${episode!.id}:home-visit`,
    ]);
    expect(after[1]).toMatchObject({ source_id: episode!.id });
    expect(after[1]!.title).toContain('now a home visit');
    expect(after[1]!.body).toContain('has risen from a phone call to a home visit');
    expect(after[1]!.body).toContain('Recommended action: a home visit, by the attendance coordinator.');
    const audit = await listAudit(db, { action: 'trigger.escalated' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      entityId: episode!.id,
      before: { action: 'phone-call' },
      after: { pupil: 'p1', rule: 'heath-lane:absent-3-days', action: 'home-visit' },
    });

    // The same data again: nothing more.
    expect(await run('2025-11-13')).toMatchObject({ updated: 0, escalated: 0 });
    // The N is resolved to I (a phone call again), then a new unanswered day: the home visit was told.
    await mark('p1', '2025-11-13', 'I');
    expect(await run('2025-11-13')).toMatchObject({ updated: 1, escalated: 0 });
    await mark('p1', '2025-11-17', 'N');
    expect(await run('2025-11-17')).toMatchObject({ updated: 1, escalated: 0 });
    expect(await notes()).toHaveLength(2);
    expect(await listAudit(db, { action: 'trigger.escalated' })).toHaveLength(1);
  });

  it('an episode raised as a home visit that falls to a phone call and rises again is not told twice', async () => {
    for (const d of ['2025-11-10', '2025-11-11']) await mark('p1', d, 'I');
    await mark('p1', '2025-11-12', 'N');
    expect(await run('2025-11-12')).toMatchObject({ raised: 1 });
    expect((await listEpisodes(db, 'alpha', { status: 'open' }))[0]).toMatchObject({ action: 'home-visit' });
    await mark('p1', '2025-11-12', 'I');
    expect(await run('2025-11-12')).toMatchObject({ updated: 1, escalated: 0 });
    await mark('p1', '2025-11-13', 'N');
    expect(await run('2025-11-13')).toMatchObject({ updated: 1, escalated: 0 });
    expect((await db.query(`SELECT 1 FROM outbox WHERE kind = 'trigger_note'`)).rowCount).toBe(1);
  });

  it('a second run of absence is its own trigger with its own note, whether or not an evaluation ran on the day back (weekly uploads)', async () => {
    await db.query(`UPDATE pupils SET flags = '{"cin": true}' WHERE mis_id = 'p1'`);
    const episodes = async () =>
      (await listEpisodes(db, 'alpha'))
        .map((e) => [e.ruleKey, e.status, e.openedOn, (e.evidence as { from?: string }).from] as const)
        .sort((a, b) => `${a[0]}${a[2]}`.localeCompare(`${b[0]}${b[2]}`));
    const notes = async () => (await db.query("SELECT 1 FROM outbox WHERE kind = 'trigger_note'")).rowCount;
    const secondRun = [
      ['heath-lane:absent-3-days', 'closed', '2025-11-05', '2025-11-03'],
      ['heath-lane:absent-3-days', 'open', '2025-11-11', '2025-11-07'],
      ['heath-lane:vulnerable-absent', 'closed', '2025-11-03', '2025-11-03'],
      ['heath-lane:vulnerable-absent', 'open', '2025-11-11', '2025-11-07'],
    ];
    // Week 1: N Monday 3 to Wednesday 5 November, evaluated each day.
    for (const d of ['2025-11-03', '2025-11-04', '2025-11-05']) await mark('p1', d, 'N');
    for (const d of ['2025-11-03', '2025-11-04', '2025-11-05']) await run(d);
    expect(await notes()).toBe(2);
    // Week 2: back on Thursday 6, N again from Friday 7 to Tuesday 11 — the school's next upload.
    await mark('p1', '2025-11-06', '/');
    for (const d of ['2025-11-07', '2025-11-10', '2025-11-11']) await mark('p1', d, 'N');
    expect(await run('2025-11-11')).toEqual({ pupils: 1, raised: 2, updated: 0, closed: 2, escalated: 0 });
    expect(await episodes()).toEqual(secondRun);
    expect(await notes()).toBe(4);
    // Closed (and audited) as the evaluation on the day back would have closed them, on the day seen.
    const closedOn = async () =>
      (await listEpisodes(db, 'alpha', { status: 'closed' })).map((e) => e.closedOn);
    expect(await closedOn()).toEqual(['2025-11-11', '2025-11-11']);
    const closed = (await listEpisodes(db, 'alpha', { status: 'closed' })).map((e) => e.id);
    const audited = (await listAudit(db, { action: 'trigger.closed', limit: 1000 })).map((a) => a.entityId);
    expect(audited).toEqual(expect.arrayContaining(closed));
    // The same data again changes nothing.
    expect(await run('2025-11-11')).toEqual({ pupils: 1, raised: 0, updated: 0, closed: 0, escalated: 0 });

    // Evaluated on the day back too: the same episodes and notes (closed on the day back).
    await db.query('DELETE FROM outbox');
    await db.query('DELETE FROM trigger_episodes');
    for (const d of ['2025-11-03', '2025-11-04', '2025-11-05', '2025-11-06', '2025-11-11']) await run(d);
    expect(await episodes()).toEqual(secondRun);
    expect(await notes()).toBe(4);
    expect(await closedOn()).toEqual(['2025-11-06', '2025-11-06']);
  });

  it('a whole-school closure the register marks (Y4) keeps an open run open, and it counts on past it', async () => {
    for (const d of ['2025-11-13', '2025-11-17', '2025-11-18']) await mark('p1', d, 'N');
    expect(await run('2025-11-18')).toMatchObject({ raised: 1 });
    await mark('p1', '2025-11-19', 'Y4'); // snow day: not in the config calendar
    expect(await run('2025-11-19')).toMatchObject({ raised: 0, closed: 0 });
    await mark('p1', '2025-11-20', 'N');
    expect(await run('2025-11-20')).toMatchObject({ raised: 0, closed: 0, updated: 1 });
    expect((await listEpisodes(db, 'alpha', { status: 'open' }))[0]!.evidence).toMatchObject({
      from: '2025-11-13',
      to: '2025-11-20',
      count: 4,
    });
  });

  it('the 10-day return is raised for an absence seen only once the pupil is back, and again (a note each) for a second one', async () => {
    const RULE = 'statutory:continuous-unauthorised-10';
    const tenDays = (from: string) => weekdays(from, 10);
    const run = runStatutory;
    const returns = async () =>
      (await listEpisodes(db, 'alpha')).filter((e) => e.ruleKey === RULE).map((e) => [e.status, e.evidence]);
    // Away ten days, back on the eleventh; the days were recorded as I, then recoded G when the
    // family came back from a holiday: the run is seen only now, the pupil in school.
    for (const d of tenDays('2025-09-15')) await mark('p1', d, 'G');
    await mark('p1', '2025-09-29', '/');
    await mark('p1', '2025-09-30', '/');
    await run('2025-09-30');
    expect(await returns()).toEqual([
      ['open', expect.objectContaining({ from: '2025-09-15', to: '2025-09-26', count: 10, ended: true })],
    ]);
    // The same again: nothing new.
    expect(await run('2025-09-30')).toMatchObject({ raised: 0, closed: 0 });
    // A second absence of ten days later in the year: its own return, with its own note.
    for (const d of tenDays('2025-10-06')) await mark('p1', d, 'N');
    await mark('p1', '2025-10-20', '/');
    await run('2025-10-20');
    expect(await returns()).toEqual([
      ['closed', expect.objectContaining({ from: '2025-09-15' })],
      ['open', expect.objectContaining({ from: '2025-10-06', to: '2025-10-17', count: 10, ended: true })],
    ]);
    const { rows } = await db.query<{ title: string }>(
      "SELECT title FROM outbox WHERE kind = 'trigger_note' AND title LIKE '10 school days%' ORDER BY id",
    );
    expect(rows).toHaveLength(2);
  });

  it('the 10-day return waits for its 20th session: the 10:30 sync of day 10 writes no note, nor does the pupil coming in that afternoon', async () => {
    const RULE = 'statutory:continuous-unauthorised-10';
    const sync = (today: string, hhmm: string) =>
      evaluateSchoolTriggers(db, statutory, statutoryRules, {
        today,
        pupilIds: ['p1'],
        actor: 'test',
        now: new Date(`${today}T${hhmm}:00Z`),
      });
    const returns = async () => (await listEpisodes(db, 'alpha')).filter((e) => e.ruleKey === RULE);
    const notes = async () =>
      (
        await db.query<{ body: string }>(
          "SELECT body FROM outbox WHERE kind = 'trigger_note' AND title LIKE '10 school days%'",
        )
      ).rows;
    // O on 3–13 November (9 school days; Friday 14 is INSET), then Monday 17's morning at 10:30.
    for (const d of [...weekdays('2025-11-03', 5), ...weekdays('2025-11-10', 4)]) await mark('p1', d, 'O');
    await markSession('p1', '2025-11-17', 'AM', 'O');
    await sync('2025-11-17', '10:30');
    expect(await returns()).toEqual([]);
    expect(await notes()).toEqual([]);
    // In for the afternoon (the 14:30 sync): 19 sessions, never 10 school days.
    await markSession('p1', '2025-11-17', 'PM', '\\');
    await sync('2025-11-17', '14:30');
    await sync('2025-11-18', '10:30');
    expect(await returns()).toEqual([]);
    expect(await notes()).toEqual([]);
    // Had the afternoon been O: the 20th session, the return and its note.
    await markSession('p1', '2025-11-17', 'PM', 'O');
    await sync('2025-11-17', '14:30');
    expect((await returns()).map((e) => [e.status, e.evidence])).toEqual([
      [
        'open',
        expect.objectContaining({
          from: '2025-11-03',
          fromSession: 'AM',
          to: '2025-11-17',
          toSession: 'PM',
          count: 10,
          sessionsCounted: 20,
        }),
      ],
    ]);
    const [note] = await notes();
    expect(note!.body).toContain(
      'Finding: absent 20 sessions (10 school days) in a row (2025-11-03 AM to 2025-11-17 PM).',
    );
  });

  it('a run already reported by an episode since closed (before runs that ended counted, or a pupil off roll and back) is not raised again', async () => {
    const RULE = 'statutory:continuous-unauthorised-10';
    for (const d of weekdays('2025-09-15', 10)) await mark('p1', d, 'N');
    await mark('p1', '2025-09-29', '/');
    // Reported while it lasted, and closed when the pupil came back (as the code before did).
    await db.query(
      `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, closed_on, explanation, evidence)
       VALUES ('alpha', 'p1', $1, 'Ten days', 'la-notification', 'attendance-officer', 'closed', '2025-09-26', '2025-09-29', '',
               '{"from": "2025-09-15", "to": "2025-09-26", "count": 10}')`,
      [RULE],
    );
    await runStatutory('2025-09-30');
    expect(
      (await listEpisodes(db, 'alpha')).filter((e) => e.ruleKey === RULE && e.status === 'open'),
    ).toEqual([]);
    expect((await db.query("SELECT 1 FROM outbox WHERE title LIKE '10 school days%'")).rowCount).toBe(0);
  });

  it('the illness return: raised at 15 days, and again (a note each) for each later continuous period of illness', async () => {
    const evaluate = runStatutory;
    const returns = async () =>
      (await listEpisodes(db, 'alpha'))
        .filter((e) => e.ruleKey === 'statutory:illness-15')
        .map((e) => [e.status, (e.evidence as { period?: unknown }).period]);
    for (const d of weekdays('2025-09-08', 15)) await mark('p1', d, 'I');
    await mark('p1', '2025-09-29', '/');
    await evaluate('2025-09-29');
    expect(await returns()).toEqual([['open', { from: '2025-09-08', to: '2025-09-26' }]]);
    // Ill again for two days a fortnight later: a new period, its own return.
    for (const d of ['2025-10-13', '2025-10-14']) await mark('p1', d, 'I');
    await mark('p1', '2025-10-15', '/');
    await evaluate('2025-10-15');
    expect(await returns()).toEqual([
      ['closed', { from: '2025-09-08', to: '2025-09-26' }],
      ['open', { from: '2025-10-13', to: '2025-10-14' }],
    ]);
    // The same data again: nothing new.
    expect(await evaluate('2025-10-15')).toMatchObject({ raised: 0, closed: 0 });
  });

  it('re-evaluating any data raises, updates and closes nothing (property)', async () => {
    const days = ['2025-11-10', '2025-11-11', '2025-11-12', '2025-11-13', '2025-11-17', '2025-11-18'];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('/', 'N', 'I', 'G'), { minLength: days.length, maxLength: days.length }),
        async (codes) => {
          await db.query('DELETE FROM attendance_marks');
          for (let i = 0; i < days.length; i++) await mark('p1', days[i]!, codes[i]!);
          await run('2025-11-18');
          expect(await run('2025-11-18')).toEqual({
            pupils: 1,
            raised: 0,
            updated: 0,
            closed: 0,
            escalated: 0,
          });
        },
      ),
      { numRuns: 15 },
    );
  });
});
