import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { actionDayProblem, doneByRecording } from '../../src/domain/triggers/actions.ts';
import { ACTIONS } from '../../src/domain/triggers/rules.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { pupilChronology } from '../../src/store/chronology.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { listEpisodes, updateEpisode } from '../../src/store/triggers.ts';
import type { User } from '../../src/store/users.ts';
import { recordTriggerAction } from '../../src/triggers/action-done.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../helpers/web.ts';

/**
 * A trigger recommending a phone call home, an attendance meeting or telling the local authority sat
 * on the board "awaiting action" with only "Request a visit" under it until its condition ended: the
 * call made could not be said. Now it is recorded done — the day and what was done — once, by the
 * office or safeguarding of its school; it leaves the waiting list and its record goes to the sinks.
 */
const schema = uniqueName('trigaction');
const config = loadConfigFile('config/doorstep.example.yaml', {});
const now = new Date('2026-11-23T10:00:00Z'); // Monday
let db: Db;
let conn: Redis;
let deps: VisitDeps;
let app: FastifyInstance;
let office: User;
let sg: User;
let visiting: User;
let elsewhere: User;
const as = new Map<string, { cookie: string; csrf: string }>();

async function episode(pupil: string, action: string, opts: { openedOn?: string; evidence?: object } = {}) {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
     VALUES ('heath-lane', $1, $2, $3, $4, 'attendance-coordinator', 'open', $5, 'absent', $6) RETURNING id`,
    [
      pupil,
      `heath-lane:${action}-${pupil}`,
      `First day of absence (${action})`,
      action,
      opts.openedOn ?? '2026-11-20',
      JSON.stringify(opts.evidence ?? { days: [{ date: '2026-11-19', am: 'N', pm: 'N' }] }),
    ],
  );
  return String(rows[0]!.id);
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  deps = { db, config, rulesFor: visitRulesLookup(config), prefix: schema, now: () => now, publisher: conn };
  app = await buildWebApp(config, db, { prefix: schema, publisher: conn, now: () => now });
  await db.query(
    `INSERT INTO pupils (school_id, mis_id, forename, surname, upn) VALUES
       ('heath-lane', '7001', 'Ada', 'Brown', 'A123456789012'), ('heath-lane', '7002', 'Ben', 'Cole', NULL),
       ('heath-lane', '7003', 'Cara', 'Dunn', NULL), ('heath-lane', '7004', 'Dev', 'Eze', NULL)`,
  );
  office = await addUser(db, 'olive', ['office'], { schools: ['heath-lane'] });
  sg = await addUser(db, 'sam', ['safeguarding'], { schools: ['heath-lane'] });
  visiting = await addUser(db, 'vic', ['visiting-staff'], { schools: ['heath-lane'] });
  elsewhere = await addUser(db, 'eli', ['office'], { schools: ['kings-gomer'] });
  as.set('office', await sessionFor(db, office));
  as.set('elsewhere', await sessionFor(db, elsewhere));
  as.set('visiting', await sessionFor(db, visiting));
});
afterAll(async () => {
  await app.close();
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

const post = (who: string, url: string, payload: object) =>
  app.inject({
    method: 'POST',
    url,
    headers: { cookie: as.get(who)!.cookie, 'x-csrf-token': as.get(who)!.csrf },
    payload,
  });
const board = async () =>
  (
    await app.inject({ url: '/api/board?school=heath-lane', headers: { cookie: as.get('office')!.cookie } })
  ).json();

describe('which actions are recorded done', () => {
  it('every action but a visit; a day not after today nor before the first day', () => {
    expect(ACTIONS.filter(doneByRecording)).toEqual([
      'phone-call',
      'la-notification',
      'removal-from-roll-review',
      'attendance-meeting',
      'missing-education-check',
    ]);
    expect(doneByRecording('unknown-action')).toBe(false);
    expect(actionDayProblem('2026-11-23', '2026-11-19', '2026-11-23')).toBeNull();
    expect(actionDayProblem('2026-11-24', '2026-11-19', '2026-11-23')).toMatch(/after today/);
    expect(actionDayProblem('2026-11-18', '2026-11-19', '2026-11-23')).toMatch(
      /before the trigger's first day/,
    );
    expect(actionDayProblem('2026-02-30', '2026-01-01', '2026-11-23')).toMatch(/expected a date/);
    expect(actionDayProblem('23/11/2026', '2026-01-01', '2026-11-23')).toMatch(/expected a date/);
  });
});

describe('a phone call home recorded done', () => {
  it('the board offers it only where the action is not a visit; recorded once, it leaves the list with its record', async () => {
    const call = await episode('7001', 'phone-call');
    const visit = await episode('7002', 'home-visit');
    const before = await board();
    const card = (id: string) => before.triggers.find((t: { id: string }) => t.id === id);
    expect(card(call)).toMatchObject({ recordable: true, doneText: 'Phone call home made' });
    expect(card(visit)).toMatchObject({ recordable: false, doneText: null });

    // Not by someone of another school, nor by visiting staff; a note is required.
    expect(
      (await post('elsewhere', `/api/triggers/${call}/action-done`, { school: 'heath-lane', note: 'x' }))
        .statusCode,
    ).toBe(403);
    const mine = await post('visiting', `/api/triggers/${call}/action-done`, {
      school: 'heath-lane',
      note: 'x',
    });
    expect(mine.statusCode).toBe(403);
    const empty = await post('office', `/api/triggers/${call}/action-done`, {
      school: 'heath-lane',
      note: '  ',
    });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().message).toMatch(/note: expected what was done/);
    const future = await post('office', `/api/triggers/${call}/action-done`, {
      school: 'heath-lane',
      note: 'spoke to mum',
      doneOn: '2026-11-24',
    });
    expect(future.statusCode).toBe(400);
    expect(future.json().message).toMatch(/doneOn: 2026-11-24 is after today/);
    const early = await post('office', `/api/triggers/${call}/action-done`, {
      school: 'heath-lane',
      note: 'spoke to mum',
      doneOn: '2026-11-18',
    });
    expect(early.json().message).toMatch(/before the trigger's first day \(2026-11-19\)/);
    // A visit's trigger is done by asking for the visit.
    const byVisit = await post('office', `/api/triggers/${visit}/action-done`, {
      school: 'heath-lane',
      note: 'went',
    });
    expect(byVisit.statusCode).toBe(409);
    expect(byVisit.json().message).toMatch(/ask for the visit from it/);
    // Hostile ids and shapes: 400, never 500.
    expect(
      (await post('office', '/api/triggers/1%3B--/action-done', { school: 'heath-lane', note: 'x' }))
        .statusCode,
    ).toBe(400);
    expect(
      (
        await post('office', `/api/triggers/${call}/action-done`, {
          school: 'heath-lane',
          note: 'x'.repeat(2001),
        })
      ).statusCode,
    ).toBe(400);
    expect(
      (
        await post('office', `/api/triggers/${call}/action-done`, {
          school: 'heath-lane',
          note: 'x',
          extra: 1,
        })
      ).statusCode,
    ).toBe(400);
    expect(
      (await post('office', '/api/triggers/999999999/action-done', { school: 'heath-lane', note: 'x' }))
        .statusCode,
    ).toBe(404);
    // Nothing was written by any of these.
    const none = await db.query(`SELECT 1 FROM outbox WHERE kind = 'trigger_action'`);
    expect(none.rows).toHaveLength(0);

    const ok = await post('office', `/api/triggers/${call}/action-done`, {
      school: 'heath-lane',
      note: 'Spoke to mum: Ada has a fever, back Wednesday.',
      doneOn: '2026-11-20',
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({ ok: true, already: false });
    // Twice (a double click, a second person): nothing more written.
    const again = await post('office', `/api/triggers/${call}/action-done`, {
      school: 'heath-lane',
      note: 'again',
    });
    expect(again.json()).toEqual({ ok: true, already: true });

    const after = await board();
    expect(after.triggers.map((t: { id: string }) => t.id)).not.toContain(call);
    expect(after.triggers.map((t: { id: string }) => t.id)).toContain(visit);
    const records = await db.query<Record<string, unknown>>(
      `SELECT sink, kind, idempotency_key, pupil_ids, title, body, source_type, source_id FROM outbox WHERE kind = 'trigger_action'`,
    );
    expect(records.rows).toEqual([
      {
        sink: expect.any(String),
        kind: 'trigger_action',
        idempotency_key: `trigger-action:heath-lane:${call}:phone-call`,
        pupil_ids: ['7001'],
        title: 'Phone call home made — pupil 7001',
        body: [
          'Phone call home made for Ada Brown (7001, UPN A123456789012) on 2026-11-20.',
          `Trigger: First day of absence (phone-call) (raised 2026-11-20, Doorstep trigger ${call})`,
          `Recorded by ${office.displayName}, Mon 23 Nov 2026, 10:00`,
          '',
          'What was done:',
          '  Spoke to mum: Ada has a fever, back Wednesday.',
        ].join('\n'),
        source_type: 'trigger_episode',
        source_id: call,
      },
    ]);
    // Audited without the note's text (that is the record's); the episode stays open.
    const audit = await db.query<{ after: Record<string, unknown> }>(
      `SELECT after FROM audit_log WHERE action = 'trigger.action-done'`,
    );
    expect(audit.rows).toHaveLength(1);
    expect(JSON.stringify(audit.rows[0]!.after)).not.toContain('fever');
    const [e] = await listEpisodes(db, 'heath-lane', { pupilId: '7001' });
    expect(e).toMatchObject({
      status: 'open',
      actionsDone: [
        {
          action: 'phone-call',
          on: '2026-11-20',
          byName: office.displayName,
          note: 'Spoke to mum: Ada has a fever, back Wednesday.',
        },
      ],
    });
    // The pupil page and the chronology say it.
    const page = await app.inject({
      url: '/pupils/7001?school=heath-lane',
      headers: { cookie: as.get('office')!.cookie },
    });
    expect(page.body).toContain('<strong>Phone call home made</strong> on');
    expect(page.body).toContain('Ada has a fever');
    const chronology = await pupilChronology(db, 'heath-lane', '7001');
    expect(chronology.filter((c) => c.what.startsWith('trigger action done')).map((c) => c.date)).toEqual([
      '2026-11-20',
    ]);
  });

  it('a closed trigger is not recorded (its condition ended); safeguarding may record; two at once write one record', async () => {
    const closed = await episode('7003', 'attendance-meeting');
    await db.query(`UPDATE trigger_episodes SET status = 'closed', closed_on = '2026-11-21' WHERE id = $1`, [
      closed,
    ]);
    await expect(
      recordTriggerAction(deps, sg, { schoolId: 'heath-lane', episodeId: closed, note: 'met' }),
    ).rejects.toMatchObject({ code: 'DOORSTEP_CONFLICT' });
    // A rate trigger (no first day in its evidence): not before the day it was raised.
    const la = await episode('7004', 'la-notification', {
      openedOn: '2026-11-16',
      evidence: { rate: 0.5, possible: 20 },
    });
    await expect(
      recordTriggerAction(deps, sg, {
        schoolId: 'heath-lane',
        episodeId: la,
        note: 'told',
        doneOn: '2026-11-13',
      }),
    ).rejects.toMatchObject({ code: 'DOORSTEP_BAD_REQUEST' });
    const both = await Promise.all([
      recordTriggerAction(deps, sg, {
        schoolId: 'heath-lane',
        episodeId: la,
        note: 'LA attendance team told by email',
      }),
      recordTriggerAction(deps, office, { schoolId: 'heath-lane', episodeId: la, note: 'told the LA' }),
    ]);
    expect(both.map((r) => r.already).sort()).toEqual([false, true]);
    const { rows } = await db.query(`SELECT 1 FROM outbox WHERE kind = 'trigger_action' AND source_id = $1`, [
      la,
    ]);
    expect(rows).toHaveLength(1);
  });
  // Found by review: the action was kept on the episode itself, so a call recorded hid the home visit
  // the same episode rose to the next day, and the pupil page called the call "Home visit made".
  it('a call recorded, the episode rising to a home visit: back on the board for its visit; the call stays the call', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname) VALUES ('heath-lane', '7005', 'Eve', 'Fox')`,
    );
    const id = await episode('7005', 'phone-call', { openedOn: '2026-11-20' });
    await recordTriggerAction(deps, office, {
      schoolId: 'heath-lane',
      episodeId: id,
      note: 'Spoke to mum: ill',
    });
    expect((await board()).triggers.map((t: { id: string }) => t.id)).not.toContain(id);
    const [before] = await listEpisodes(db, 'heath-lane', { pupilId: '7005' });
    await db.transaction((tx) =>
      updateEpisode(tx, id, {
        ruleKey: before!.ruleKey,
        title: before!.title,
        action: 'home-visit',
        role: before!.role,
        source: 'test',
        fired: true,
        explanation: 'absent 4 days, one without a reason',
        evidence: { days: [{ date: '2026-11-19', am: 'N', pm: 'N' }] },
      }),
    );
    const card = (await board()).triggers.find((t: { id: string }) => t.id === id);
    expect(card).toMatchObject({ action: 'home-visit', recordable: false });
    const page = await app.inject({
      url: '/pupils/7005?school=heath-lane',
      headers: { cookie: as.get('office')!.cookie },
    });
    expect(page.body).toContain('<strong>Phone call home made</strong>');
    expect(page.body).not.toContain('Home visit made');
  });
});
