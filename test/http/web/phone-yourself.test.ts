import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ALARM_POLICY } from '../../../src/domain/escalation/ladder.ts';
import { groupsWithNoOneToPhone, peopleToPhone } from '../../../src/domain/escalation/phone-yourself.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { visitSchoolsConfig } from '../../helpers/visits.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

describe('whom the office phones itself when every message failed', () => {
  const contacts = {
    leaders: [
      { name: 'Head', phone: '+447700900001' },
      { name: 'Deputy', phone: '+447700900002' },
    ],
    slt: [
      { name: 'Head again', phone: '07700 900001' },
      { name: 'Chair' },
      { name: 'Bursar', phone: '+447700900003' },
    ],
    dsl: [{ name: 'DSL' }],
  };
  it('the people of every group told, by any channel, once each, in ladder order', () => {
    expect(
      peopleToPhone(['board', 'sms:leaders', 'email:dsl', 'call:slt', 'sms:leaders'], contacts, []),
    ).toEqual([
      { name: 'Head', phone: '+447700900001' },
      { name: 'Deputy', phone: '+447700900002' },
      { name: 'Bursar', phone: '+447700900003' },
    ]);
  });
  it('never a contact entry with the e-mail of someone it is about, whatever phone it carries', () => {
    const withEmail = { leaders: [{ name: 'Head', phone: '+447700900009', email: 'Head@School.example' }] };
    expect(peopleToPhone(['sms:leaders'], withEmail, [], ['head@school.example'])).toEqual([]);
  });

  it('never the person the alarm is about, however their number is written; nothing for unknown groups', () => {
    expect(peopleToPhone(['sms:leaders'], contacts, ['07700 900002', null])).toEqual([
      { name: 'Head', phone: '+447700900001' },
    ]);
    expect(peopleToPhone(['sms:nobody', 'sms:constructor', 'board'], contacts, [])).toEqual([]);
  });

  it('names the groups told that give no one to phone: missing, empty, or no one with a number', () => {
    expect(
      groupsWithNoOneToPhone(
        [
          'board',
          'sms:leaders',
          'email:dsl',
          'sms:nobody',
          'call:empty',
          'email:dsl',
          'teams',
          'sms:constructor',
        ],
        { ...contacts, empty: [] },
      ),
    ).toEqual(['dsl', 'nobody', 'empty', 'constructor']);
    // The people on the visit and the office's own accounts are not contacts groups.
    expect(
      groupsWithNoOneToPhone(['sms:visiting-staff', 'push:office-staff'], {}, [
        'visiting-staff',
        'office-staff',
      ]),
    ).toEqual([]);
  });
});

const schema = uniqueName('phoneyourself');
const config = visitSchoolsConfig();
let db: Db;
let conn: Redis;
let app: FastifyInstance;
const now = new Date('2026-11-23T10:00:00Z');
let session: { cookie: string; csrf: string };

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, now: () => now, publisher: conn });
  session = await sessionFor(db, await addUser(db, 'office', ['office']));
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, schema);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

describe('the board card of an alarm no one was reached about', () => {
  /** The board's texts of levels 1 and 2 about alarm `id` both refused by the provider. */
  const everyMessageFailed = (id: string) =>
    db.query(
      `INSERT INTO notifications (alarm_id, step, target, status, last_error)
       VALUES ($1, 0, 'board', 'sent', NULL),
              ($1, 0, 'sms:on-call-leaders', 'failed', 'refused by the provider'),
              ($1, 1, 'sms:senior-leadership', 'failed', 'refused by the provider')`,
      [id],
    );
  /** Alarm `id`'s card on Lime's board, as the office reads it. */
  const cardOf = async (id: string) =>
    (
      await app.inject({
        url: '/api/board?school=lime',
        headers: { cookie: session.cookie, 'x-csrf-token': session.csrf },
      })
    )
      .json()
      .alarms.find((a: { id: string }) => a.id === id);

  it('lists the people to phone with their numbers — and none once a message got through', async () => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO alarms (school_id, dedup_key, unknown_device, type, status, raised_at, policy, escalation_step)
       VALUES ('lime', 'unheard-1', false, 'sos', 'open', $1, $2, 2) RETURNING id`,
      [new Date(now.getTime() - 120_000), JSON.stringify(config.schools[0]!.escalation.alarm)],
    );
    const id = String(rows[0]!.id);
    await everyMessageFailed(id);
    const card = () => cardOf(id);
    expect(await card()).toMatchObject({
      warning: 'no-one-reached',
      phoneThem: [
        { name: 'Head', phone: '+447700900001' },
        { name: 'Chair', phone: '+447700900002' },
      ],
      phoneNoOneIn: [],
    });
    await db.query(
      `INSERT INTO notifications (alarm_id, step, target, status) VALUES ($1, 2, 'sms:on-call-leaders', 'sent')`,
      [id],
    );
    expect(await card()).toMatchObject({ warning: 'no-response', phoneThem: [], phoneNoOneIn: [] });
  });

  it('with no contact with a phone number in the groups told, names them — never an empty list to phone', async () => {
    // Lime's config has no `dsl` or `attendance` contacts: every message went to groups no one is in.
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO alarms (school_id, dedup_key, unknown_device, type, status, raised_at, policy, escalation_step)
       VALUES ('lime', 'unheard-none', false, 'sos', 'open', $1, $2, 2) RETURNING id`,
      [new Date(now.getTime() - 120_000), JSON.stringify(config.schools[0]!.escalation.alarm)],
    );
    const id = String(rows[0]!.id);
    await db.query(
      `INSERT INTO notifications (alarm_id, step, target, status, last_error)
       VALUES ($1, 0, 'board', 'sent', NULL),
              ($1, 0, 'email:dsl', 'failed', 'channels.email is not configured'),
              ($1, 1, 'sms:attendance', 'failed', 'channels.sms is not configured')`,
      [id],
    );
    expect(await cardOf(id)).toMatchObject({
      warning: 'no-one-reached',
      phoneThem: [],
      phoneNoOneIn: ['dsl', 'attendance'],
    });
  });

  it('never lists the person the alarm is about — the Head on a visit, left with the school’s visit mobile', async () => {
    const head = await addUser(db, 'head', ['visiting-staff'], {
      staffId: 'st-head',
      phone: '+447700900001',
    });
    const visit = await db.query<{ id: string }>(
      `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by, lead_user_id,
         departed_at, expected_return_at, worker_phone)
       VALUES ('lime', 'P1', 'welfare', '{}', '2026-11-23', 'departed', $1, $1, $2, $3, '+447700900555') RETURNING id`,
      [head.id, new Date(now.getTime() - 600_000), new Date(now.getTime() + 3_600_000)],
    );
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO alarms (school_id, dedup_key, unknown_device, type, status, raised_at, policy, escalation_step, staff_id, visit_id)
       VALUES ('lime', 'unheard-head', false, 'sos', 'open', $1, $2, 1, 'st-head', $3) RETURNING id`,
      [
        new Date(now.getTime() - 60_000),
        JSON.stringify(config.schools[0]!.escalation.alarm),
        visit.rows[0]!.id,
      ],
    );
    const id = String(rows[0]!.id);
    await db.query(
      `INSERT INTO notifications (alarm_id, step, target, status, last_error)
       VALUES ($1, 0, 'sms:on-call-leaders', 'failed', 'refused'), ($1, 0, 'sms:senior-leadership', 'failed', 'refused')`,
      [id],
    );
    const card = await cardOf(id);
    expect(card.phoneThem).toEqual([{ name: 'Chair', phone: '+447700900002' }]);
  });

  it('an acknowledged alarm whose ladder runs until resolved says so when every message failed; one paused says nothing', async () => {
    const card = async (condition: string, key: string) => {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO alarms (school_id, dedup_key, unknown_device, type, status, raised_at, policy, escalation_step,
           next_step_at, acknowledged_at, acknowledged_by)
         VALUES ('lime', $1, false, 'overdue_visit', 'acknowledged', $2, $3, 2, $4, $5, 'user:office') RETURNING id`,
        [
          key,
          new Date(now.getTime() - 120_000),
          JSON.stringify({ ...DEFAULT_ALARM_POLICY, condition }),
          new Date(now.getTime() + 10 * 60_000),
          new Date(now.getTime() - 60_000),
        ],
      );
      const id = String(rows[0]!.id);
      await everyMessageFailed(id);
      return cardOf(id);
    };
    // Taken, but its ladder still texts its people until resolved, and none of them is reached.
    expect(await card('if-not-resolved', 'acked-runs')).toMatchObject({
      status: 'acknowledged',
      warning: 'no-one-reached',
      phoneThem: [
        { name: 'Head', phone: '+447700900001' },
        { name: 'Chair', phone: '+447700900002' },
      ],
    });
    // Taken, its ladder paused by the acknowledgement: the person who took it has it.
    expect(await card('if-not-acknowledged', 'acked-paused')).toMatchObject({
      status: 'acknowledged',
      warning: null,
    });
  });

  it('every message failed and the next step is overdue: its people are listed too, never "no one to phone"', async () => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO alarms (school_id, dedup_key, unknown_device, type, status, raised_at, policy, escalation_step, next_step_at)
       VALUES ('lime', 'unheard-stalled', false, 'sos', 'open', $1, $2, 1, $3) RETURNING id`,
      [
        new Date(now.getTime() - 15 * 60_000),
        JSON.stringify(DEFAULT_ALARM_POLICY),
        new Date(now.getTime() - 10 * 60_000),
      ],
    );
    const id = String(rows[0]!.id);
    // Level 1 went to groups with no one to phone, and failed; level 2 (senior leadership) is due.
    await db.query(
      `INSERT INTO notifications (alarm_id, step, target, status, last_error)
       VALUES ($1, 0, 'board', 'sent', NULL),
              ($1, 0, 'email:dsl', 'failed', 'channels.email is not configured')`,
      [id],
    );
    const card = await cardOf(id);
    expect(card).toMatchObject({
      warning: 'no-one-reached',
      nextStep: { overdue: true, notify: ['board', 'sms:senior-leadership'] },
      phoneNoOneIn: ['dsl'],
    });
    expect(card.phoneThem).toEqual([{ name: 'Chair', phone: '+447700900002' }]);
  });

  it('a stalled ladder lists the next step’s people, whom no one is paging', async () => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO alarms (school_id, dedup_key, unknown_device, type, status, raised_at, policy, escalation_step, next_step_at)
       VALUES ('lime', 'stalled-1', false, 'sos', 'open', $1, $2, 1, $3) RETURNING id`,
      [
        new Date(now.getTime() - 15 * 60_000),
        JSON.stringify(DEFAULT_ALARM_POLICY),
        new Date(now.getTime() - 10 * 60_000),
      ],
    );
    const id = String(rows[0]!.id);
    await db.query(
      `INSERT INTO notifications (alarm_id, step, target, status) VALUES ($1, 0, 'sms:on-call-leaders', 'sent')`,
      [id],
    );
    const card = await cardOf(id);
    expect(card).toMatchObject({
      warning: 'ladder-stalled',
      nextStep: { notify: ['board', 'sms:senior-leadership'] },
    });
    expect(card.phoneThem).toEqual([{ name: 'Chair', phone: '+447700900002' }]);
  });
});
