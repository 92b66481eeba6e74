import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFobEvent } from '../../../src/alarms/ingest.ts';
import { londonDate } from '../../../src/domain/attendance/dates.ts';
import { catalog } from '../../../src/queue/catalog.ts';
import { Producer } from '../../../src/queue/producer.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import { appendAudit, listAudit } from '../../../src/store/audit.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import type { User } from '../../../src/store/users.ts';
import { configWith } from '../../helpers/config.ts';
import { fobEvent } from '../../helpers/fob.ts';
import { insertTestRecords } from '../../helpers/outbox.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

const schema = uniqueName('webapi');
const prefix = uniqueName('webapi');
const drop = mkdtempSync(join(tmpdir(), 'doorstep-drop-'));
const config = configWith({
  mis: `{ kind: sims-xml, dropFolder: ${drop} }`,
  school:
    '    fobs: { devices: [{ deviceId: PS-0001, staffId: st-1 }, { deviceId: PS-0002, staffId: st-2 }] }\n',
});
let db: Db;
let app: FastifyInstance;
let producer: Producer<typeof catalog>;
let conn: Awaited<ReturnType<typeof connectRedis>>;
const as = new Map<string, { cookie: string; csrf: string }>();
let office: User;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  app = await buildWebApp(config, db, { prefix, producer, publisher: conn });
  office = await addUser(db, 'office', ['office']);
  const wearer = await addUser(db, 'wearer', ['visiting-staff'], {
    staffId: 'st-1',
    displayName: 'Wendy Wearer',
    phone: '+447700900333',
  });
  as.set('wearer', await sessionFor(db, wearer));
  for (const [name, roles] of [
    ['office', null],
    ['dm', ['data-manager']],
    ['admin', ['admin']],
    ['sg', ['safeguarding']],
  ] as const) {
    const u = roles ? await addUser(db, name, [...roles]) : office;
    as.set(name, await sessionFor(db, u));
  }
});
afterAll(async () => {
  await app.close();
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

const call = (who: string, method: 'GET' | 'POST', url: string, payload?: unknown) =>
  app.inject({
    method,
    url,
    headers: { cookie: as.get(who)!.cookie, 'x-csrf-token': as.get(who)!.csrf },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

describe('caching', () => {
  it('no answer is for a cache (the day list, the board, a page) unless its route says so (assets: no-cache, etag)', async () => {
    for (const url of [
      '/visits/list?school=alpha',
      '/api/board?school=alpha',
      '/board',
      '/api/visits?school=alpha',
    ]) {
      const r = await call('office', 'GET', url);
      expect({ url, status: r.statusCode < 500, cache: r.headers['cache-control'] }).toEqual({
        url,
        status: true,
        cache: 'no-store',
      });
    }
    expect((await app.inject({ url: '/assets/app.css' })).headers['cache-control']).toBe('no-cache');
  });
});

describe('the board API', () => {
  it('names the person whose fob raised the alarm, with the next step, and acknowledges once', async () => {
    const r = await ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      config.schools[0]!,
      fobEvent('api-1', {
        location: { lat: 53.8, lon: -1.55, accuracyM: 10, fixAt: null },
      }),
      { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
    );
    const alarmId = (r as { alarmId: string }).alarmId;
    const board = (await call('office', 'GET', '/api/board?school=alpha')).json();
    expect(board.alarms[0]).toMatchObject({
      id: alarmId,
      type: 'sos',
      status: 'open',
      staffName: 'Wendy Wearer',
      staffPhone: '+447700900333',
      location: { lat: 53.8 },
    });
    const ack = await call('office', 'POST', `/api/alarms/${alarmId}/acknowledge`, {});
    expect(ack.json()).toEqual({ outcome: 'acknowledged' });
    expect((await call('office', 'POST', `/api/alarms/${alarmId}/acknowledge`, {})).json()).toEqual({
      outcome: 'already-acknowledged',
    });
    const after = (await call('office', 'GET', '/api/board?school=alpha')).json();
    // Paused from the acknowledgement, not from when the next step's job finds out: no next step shown.
    expect(after.alarms[0]).toMatchObject({
      status: 'acknowledged',
      acknowledgedBy: 'office',
      level: null,
      nextStep: null,
    });
    const bad = await call('office', 'POST', `/api/alarms/${alarmId}/resolve`, { reason: 'bored' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(
      /^reason: expected one of worker_safe_contacted, worker_safe_running_late, test, false_alarm/,
    );
    expect(
      (
        await call('office', 'POST', `/api/alarms/${alarmId}/resolve`, {
          reason: 'false_alarm',
          note: 'pressed in a pocket',
        })
      ).json(),
    ).toEqual({ outcome: 'resolved' });
    const { rows } = await db.query<{ type: string }>(
      `SELECT type FROM board_events WHERE payload->>'alarmId' = $1 ORDER BY id`,
      [alarmId],
    );
    expect(rows.map((x) => x.type)).toEqual(['alarm.raised', 'alarm.acknowledged', 'alarm.resolved']);
  });

  it('a fob that sent its SOS late (out of signal): the card says when it reached Doorstep, after the press', async () => {
    const at = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
    const raise = async (id: string, occurredAt: string) => {
      const r = await ingestFobEvent(
        { db, producer, publisher: conn, prefix },
        config.schools[0]!,
        fobEvent(id, { deviceId: 'PS-0003', occurredAt }),
        { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
      );
      return (r as { alarmId: string }).alarmId;
    };
    const late = await raise('api-late', at(7 * 60_000));
    const prompt = await raise('api-prompt', at(5_000));
    // A clock reset to 1970: raised at its arrival (src/domain/fob/trust.ts), so not "late".
    const wrongClock = await raise('api-1970', '1970-01-01T00:00:05Z');
    const board = (await call('office', 'GET', '/api/board?school=alpha')).json();
    const card = (id: string) => board.alarms.find((a: { id: string }) => a.id === id);
    expect(Date.parse(card(late).arrivedAt) - Date.parse(card(late).raisedAt)).toBeGreaterThanOrEqual(
      7 * 60_000,
    );
    expect(card(prompt).arrivedAt).toBeNull();
    expect(card(wrongClock).arrivedAt).toBeNull();
    for (const id of [late, prompt, wrongClock])
      await call('office', 'POST', `/api/alarms/${id}/acknowledge`, {});
    for (const id of [late, prompt, wrongClock])
      await call('office', 'POST', `/api/alarms/${id}/resolve`, { reason: 'false_alarm' });
  });

  it('the person an alarm is about (an office account wearing the fob) may neither take nor close it, and is not offered to', async () => {
    const both = await addUser(db, 'office-wearer', ['office', 'visiting-staff'], { staffId: 'st-2' });
    const s = await sessionFor(db, both);
    const post = (url: string, payload: object) =>
      app.inject({ method: 'POST', url, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf }, payload });
    const r = await ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      config.schools[0]!,
      fobEvent('api-own', { deviceId: 'PS-0002' }),
      { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
    );
    const alarmId = (r as { alarmId: string }).alarmId;
    const mine = (
      await app.inject({ method: 'GET', url: '/api/board?school=alpha', headers: { cookie: s.cookie } })
    ).json();
    expect(mine.alarms.find((a: { id: string }) => a.id === alarmId)).toMatchObject({ aboutYou: true });
    for (const [url, payload] of [
      [`/api/alarms/${alarmId}/acknowledge`, {}],
      [`/api/alarms/${alarmId}/resolve`, { reason: 'false_alarm' }],
    ] as const) {
      const refused = await post(url, payload);
      expect(refused.statusCode).toBe(403);
      expect(refused.json().message).toBe(
        'this alarm is about you (its wearer, or a person on its visit): someone else in the office takes and closes it',
      );
    }
    const theirs = (await call('office', 'GET', '/api/board?school=alpha')).json();
    expect(theirs.alarms.find((a: { id: string }) => a.id === alarmId)).toMatchObject({
      status: 'open',
      aboutYou: false,
    });
    expect((await call('office', 'POST', `/api/alarms/${alarmId}/acknowledge`, {})).json()).toEqual({
      outcome: 'acknowledged',
    });
    expect(
      (await call('office', 'POST', `/api/alarms/${alarmId}/resolve`, { reason: 'false_alarm' })).json(),
    ).toEqual({
      outcome: 'resolved',
    });
  });

  it('puts a person in danger above an older overdue visit, and shows the device’s latest battery', async () => {
    await db.query(
      `INSERT INTO alarms (school_id, dedup_key, unknown_device, type, status, raised_at, policy)
       VALUES ('alpha', 'board-order-overdue', false, 'overdue_visit', 'open', now() - interval '1 hour', '{"levels":[{"afterMinutes":0,"notify":["board"]}],"repeat":0,"condition":"if-not-resolved"}')`,
    );
    const ingest = (id: string, o: Parameters<typeof fobEvent>[1]) =>
      ingestFobEvent({ db, producer, publisher: conn, prefix }, config.schools[0]!, fobEvent(id, o), {
        transport: 'mqtt',
        profile: 'peoplesafe-style',
        raw: Buffer.from('{}'),
      });
    await ingest('order-sos', { deviceId: 'PS-0777', batteryPercent: 82 });
    await ingest('order-low', { deviceId: 'PS-0777', type: 'low_battery', batteryPercent: 9 });
    const board = (await call('office', 'GET', '/api/board?school=alpha')).json();
    const open = board.alarms.filter((a: { status: string }) => a.status === 'open');
    const sosAt = open.findIndex((a: { deviceId: string }) => a.deviceId === 'PS-0777');
    const overdueAt = open.findIndex((a: { type: string }) => a.type === 'overdue_visit');
    expect(sosAt).toBeGreaterThanOrEqual(0);
    expect(sosAt).toBeLessThan(overdueAt);
    expect(open[sosAt].latestBattery).toMatchObject({ percent: 9, low: true });

    // Who was told sits on the alarm's own card; a failed send is also counted under Failed
    // deliveries (naming its alarm), so that section's count is every delivery that failed.
    await db.query(
      `INSERT INTO notifications (alarm_id, step, target, status, last_error) VALUES ($1, 0, 'sms:on-call-leaders', 'failed', 'refused')`,
      [open[sosAt].id],
    );
    const again = (await call('office', 'GET', '/api/board?school=alpha')).json();
    const card = again.alarms.find((a: { id: string }) => a.id === open[sosAt].id);
    expect(card.notifications).toEqual([
      expect.objectContaining({ target: 'sms:on-call-leaders', status: 'failed', error: 'refused' }),
    ]);
    expect(again.failed.filter((f: { what: string }) => f.what === 'notification')).toEqual([
      expect.objectContaining({
        alarmId: open[sosAt].id,
        detail: 'sms:on-call-leaders',
        error: 'FAILED (refused)',
      }),
    ]);
  });

  it('refuses a school the user does not work at', async () => {
    const res = await call('office', 'GET', '/api/board?school=nowhere');
    expect(res.statusCode).toBe(404);
  });
});

describe('the data manager API', () => {
  it('shows quarantined files, the outbox and its records, and runs a connection test', async () => {
    mkdirSync(join(drop, 'quarantine'), { recursive: true });
    writeFileSync(join(drop, 'quarantine', 'marks-2026-11-20.xml'), '<broken');
    writeFileSync(join(drop, 'quarantine', 'marks-2026-11-20.xml.error.txt'), 'line 1: unexpected end');
    await insertTestRecords(db, 2, 'preview', 'dm');
    const d = (await call('dm', 'GET', '/api/data?school=alpha')).json();
    expect(d.quarantined.map((q: { file: string }) => q.file)).toEqual(['marks-2026-11-20.xml']);
    expect(d.connectors).toMatchObject({ mis: 'sims-xml', records: 'preview' });
    // No sync has failed here (the page warns when every sync since a time has).
    expect(d.sync).toMatchObject({ failingSince: null, failures: 0 });
    // The retention settings (defaults here) and the last purge (none yet).
    expect(d.retention).toMatchObject({ fobEventDays: 31, leaverShownDays: 28 });
    // Every setting has its words for the page.
    expect(Object.keys(d.retentionWords).sort()).toEqual(Object.keys(d.retention).sort());
    expect(d.lastPurge).toBeNull();
    // Ladder levels that reach no one, per ladder and level (no SMS channel here).
    expect(d.reachability).toContainEqual(
      expect.objectContaining({
        ladder: 'alarm',
        level: 1,
        target: 'sms:on-call-leaders',
        kind: 'reaches-no-one',
        warning: true,
      }),
    );
    // A ladder that only ever shows on the board is a warning too: an empty office hears nothing.
    expect(d.reachability).toContainEqual(
      expect.objectContaining({ ladder: 'alarm', kind: 'no-person', warning: true }),
    );
    expect(
      Object.values(d.outbox as Record<string, number>).reduce((a, b) => a + b, 0),
    ).toBeGreaterThanOrEqual(2);
    const rec = (await call('dm', 'GET', `/api/outbox/${d.records[0].id}`)).json();
    expect(rec.body).toEqual(expect.any(String));
    // What go-live would send besides the text: the category its kind is filed under, and its date.
    expect(rec).toMatchObject({
      status: 'preview',
      category: expect.any(String),
      occurred_at: expect.any(String),
    });
    const test = (
      await call('dm', 'POST', '/api/data/test-connection', { school: 'alpha', connector: 'records' })
    ).json();
    expect(test.results).toEqual([expect.objectContaining({ ok: true, name: 'alpha records:preview' })]);
    expect(
      (await call('dm', 'POST', '/api/data/test-connection', { school: 'alpha', connector: 'ftp' }))
        .statusCode,
    ).toBe(400);
  });
});

describe('the audit API', () => {
  it('shows the data manager an event id re-used with other content, and that its SOS raised an alarm', async () => {
    const ingest = (type: 'test' | 'sos') =>
      ingestFobEvent(
        { db, producer, publisher: conn, prefix },
        config.schools[0]!,
        fobEvent('re-used-1', { type, occurredAt: '2025-11-18T10:02:00Z' }),
        { transport: 'mqtt', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
      );
    await ingest('test');
    const sos = await ingest('sos');
    expect(sos).toMatchObject({ outcome: 'accepted', idConflict: true });
    const d = (await call('dm', 'GET', '/api/data?school=alpha')).json();
    expect(d.fobIdConflicts).toEqual([
      expect.objectContaining({
        vendorEventId: 're-used-1',
        type: 'sos',
        alarmId: (sos as { alarmId: string }).alarmId,
      }),
    ]);
    expect(d.fobFeedsDown).toEqual([]);
  });

  it('exports CSV that a spreadsheet cannot mistake for formulas', async () => {
    await appendAudit(db, {
      actor: `user:${office.id}`,
      action: 'test.csv',
      schoolId: 'alpha',
      entityType: 'note',
      entityId: '=HYPERLINK("http://evil")',
      after: { text: 'a, "quoted" line' },
    });
    const res = await call('admin', 'GET', '/api/audit.csv?action=test.');
    expect(res.headers['content-type']).toMatch(/text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/attachment/);
    const [head, row] = res.body.trim().split('\r\n');
    expect(head).toBe('id,at,actor,actor_name,action,school_id,entity_type,entity_id,before,after');
    expect(row).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(row).toContain(',office,test.csv,alpha,note,');
    expect(row).toContain('"{""text"":""a, \\""quoted\\"" line""}"');
    const json = (await call('admin', 'GET', '/api/audit?action=test.')).json();
    expect(json.entries).toHaveLength(1);
    expect((await call('office', 'GET', '/api/audit')).statusCode).toBe(403);
  });

  it('leaves the minute heartbeats out unless asked for (they would fill the page)', async () => {
    for (let i = 0; i < 3; i++)
      await appendAudit(db, {
        actor: 'system:heartbeat',
        action: 'heartbeat',
        entityType: 'job',
        entityId: `hb-${i}`,
      });
    const actions = async (q: string) =>
      ((await call('admin', 'GET', `/api/audit${q}`)).json().entries as { action: string }[]).map(
        (e) => e.action,
      );
    expect(await actions('')).not.toContain('heartbeat');
    expect((await actions('?heartbeats=1')).filter((a) => a === 'heartbeat')).toHaveLength(3);
    expect(await actions('?action=heart')).toEqual(['heartbeat', 'heartbeat', 'heartbeat']);
    expect((await call('admin', 'GET', '/api/audit.csv')).body).not.toContain(',heartbeat,');
    expect((await call('admin', 'GET', '/api/audit?heartbeats=yes')).statusCode).toBe(400);
  });
});

describe('the "sorry you weren\'t in" slip', () => {
  it('prints the time, who called and the number to ring, with names escaped', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ('alpha', 'S1', 'Ann', 'Lee', $1)`,
      [JSON.stringify({ line1: '1 High St', postcode: 'LS1 1AA' })],
    );
    const staff = await addUser(db, 'slipper', ['visiting-staff'], { displayName: '<b>Sam</b> & Co' });
    const s = await sessionFor(db, staff);
    const made = await app.inject({
      method: 'POST',
      url: '/api/visits',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
      payload: { school: 'alpha', pupilMisId: 'S1', reason: 'no contact' },
    });
    expect(made.statusCode).toBe(201);
    const slip = await app.inject({ url: `/visits/${made.json().id}/slip`, headers: { cookie: s.cookie } });
    expect(slip.statusCode).toBe(200);
    expect(slip.body).toContain("Sorry you weren't in");
    expect(slip.body).toContain('&#60;b&#62;Sam&#60;/b&#62; &#38; Co');
    expect(slip.body).not.toContain('<b>Sam</b>');
    expect(slip.body).toContain('Alpha Primary');
    // The time printed is the time of the visit at the door, not of the printing.
    await db.query(`UPDATE visits SET arrived_at = '2025-11-18T14:05:00Z' WHERE id = $1`, [made.json().id]);
    const later = await app.inject({ url: `/visits/${made.json().id}/slip`, headers: { cookie: s.cookie } });
    expect(later.body).toMatch(/We called to see you on <strong>[^<]*14:05/);

    // Another visiting member of staff can neither read this visit nor print its slip.
    const other = await sessionFor(db, await addUser(db, 'other.visitor', ['visiting-staff']));
    expect(
      (await app.inject({ url: `/api/visits/${made.json().id}`, headers: { cookie: other.cookie } }))
        .statusCode,
    ).toBe(404);
    expect(
      (await app.inject({ url: `/visits/${made.json().id}/slip`, headers: { cookie: other.cookie } }))
        .statusCode,
    ).toBe(404);
    const detail = await app.inject({ url: `/api/visits/${made.json().id}`, headers: { cookie: s.cookie } });
    expect(detail.statusCode).toBe(200);
    // Where the outcome's record goes (this school records in preview): the page words it so.
    expect(detail.json().outcomeRecordsTo).toEqual(['preview']);
    expect(typeof detail.json().concernsTold).toBe('boolean');
  });
});

describe('the slip is offered only to whom the server prints it for', () => {
  it('the visiting staff and the office see `print-slip` and print it; the safeguarding team neither sees it offered nor prints it', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ('alpha', 'S2', 'Bea', 'Ng', $1)`,
      [JSON.stringify({ line1: '2 High St', postcode: 'LS1 1AB' })],
    );
    const staff = await addUser(db, 'slip.sender', ['visiting-staff']);
    as.set('slip.sender', await sessionFor(db, staff));
    const made = await call('slip.sender', 'POST', '/api/visits', {
      school: 'alpha',
      pupilMisId: 'S2',
      reason: 'no contact',
    });
    expect(made.statusCode).toBe(201);
    const id = made.json().id as string;
    // Out, no outcome yet: when the page offers the slip to those who may print it.
    await db.query(
      `UPDATE visits SET status = 'departed', lead_user_id = $2, departed_at = now(), expected_return_at = now() + interval '1 hour' WHERE id = $1`,
      [id, staff.id],
    );
    const offered = async (who: string) => {
      const seen = await call(who, 'GET', `/api/visits/${id}`);
      expect(seen.statusCode, who).toBe(200);
      return (seen.json().actions as string[]).includes('print-slip');
    };
    const printed = async (who: string) => (await call(who, 'GET', `/visits/${id}/slip`)).statusCode;
    for (const who of ['slip.sender', 'office']) {
      expect(await offered(who), who).toBe(true);
      expect(await printed(who), who).toBe(200);
    }
    // The DSL sees the visit, but the slip is left at the door by whoever calls: not offered, not printed.
    expect(await offered('sg')).toBe(false);
    expect(await printed('sg')).toBe(403);
  });
});

describe('an admin does on a visit what the office does ("admin may do what every role does")', () => {
  it('reveals the safe word of a visit out, audited under its own name, as the office does', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ('alpha', 'AD1', 'Ada', 'Min', $1)`,
      [JSON.stringify({ line1: '3 High St', postcode: 'LS1 1AB' })],
    );
    const worker = await addUser(db, 'admin.case.lead', ['visiting-staff']);
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by, authorised_by,
         authorised_at, lead_user_id, departed_at, expected_return_at, safe_word)
       VALUES ('alpha', 'AD1', 'welfare', '{"line1": "3 High St", "postcode": "LS1 1AB"}', $1, 'departed', $2, $2,
         now(), $3, now(), now() + interval '1 hour', 'bluebell')
       RETURNING id::text`,
      [londonDate(new Date()), office.id, worker.id],
    );
    const id = rows[0]!.id;
    for (const who of ['office', 'admin']) {
      const seen = (await call(who, 'GET', `/api/visits/${id}`)).json();
      expect(seen.actions, who).toContain('reveal-safe-word');
      const r = await call(who, 'POST', `/api/visits/${id}/safe-word`, {});
      expect({ who, status: r.statusCode, body: r.json() }).toEqual({
        who,
        status: 200,
        body: { safeWord: 'bluebell' },
      });
    }
    const { rows: audit } = await db.query<{ actor: string }>(
      `SELECT actor FROM audit_log WHERE action = 'visit.safe-word-revealed' AND entity_id = $1 ORDER BY id`,
      [id],
    );
    const { rows: adminRow } = await db.query<{ id: string }>(
      `SELECT id::text FROM users WHERE username = 'admin'`,
    );
    expect(audit.map((a) => a.actor)).toEqual([`user:${office.id}`, `user:${adminRow[0]!.id}`]);
  });

  it('records a follow-up done as the office does, and is told of an unknown one as the office is (404, not 403)', async () => {
    const { rows } = await db.query<{ id: string }>(
      `SELECT id::text FROM visits WHERE pupil_mis_id = 'AD1' ORDER BY id DESC LIMIT 1`,
    );
    await db.query(
      `INSERT INTO follow_ups (school_id, visit_id, pupil_mis_id, action, owner, due_on)
       VALUES ('alpha', $1, 'AD1', 'letter home', 'office', NULL)`,
      [rows[0]!.id],
    );
    const { rows: items } = await db.query<{ id: string }>(
      `SELECT id::text FROM follow_ups WHERE pupil_mis_id = 'AD1'`,
    );
    const unknown = async (who: string) => {
      const r = await call(who, 'POST', '/api/follow-ups/424242/done', { note: 'done' });
      return { status: r.statusCode, message: r.json().message };
    };
    expect(await unknown('office')).toEqual({ status: 404, message: 'no follow-up 424242' });
    expect(await unknown('admin')).toEqual(await unknown('office'));
    const done = await call('admin', 'POST', `/api/follow-ups/${items[0]!.id}/done`, { note: 'letter sent' });
    expect(done.statusCode, done.body).toBe(200);
    const { rows: after } = await db.query<{ done_note: string | null }>(
      'SELECT done_note FROM follow_ups WHERE id = $1',
      [items[0]!.id],
    );
    expect(after[0]!.done_note).toBe('letter sent');
  });
});

describe('leaving for a visit nobody leads (the office for a worker who phoned)', () => {
  it('lists every visiting member of staff to choose from, needs the lead named, and takes the phone and fob from that lead', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ('alpha', 'N1', 'Lia', 'Hart', $1)`,
      [JSON.stringify({ line1: '3 Mill Lane', postcode: 'LS3 3CC' })],
    );
    const kim = await addUser(db, 'kim.lead', ['visiting-staff'], { displayName: 'Kim Lead' });
    const made = await call('office', 'POST', '/api/visits', {
      school: 'alpha',
      pupilMisId: 'N1',
      reason: 'rang in',
    });
    const id = made.json().id as string;
    // Visiting staff see themselves among those who may go (as the lead of a visit nobody leads).
    const k = await sessionFor(db, kim);
    const seen = await app.inject({ url: `/api/visits/${id}`, headers: { cookie: k.cookie } });
    expect(seen.json().staff.map((x: { displayName: string }) => x.displayName)).toEqual(
      expect.arrayContaining(['Kim Lead', 'Wendy Wearer']),
    );
    // …and find it on their Visits page, where nobody leads it yet (not only by its address).
    const listed = await app.inject({ url: '/api/visits?school=alpha', headers: { cookie: k.cookie } });
    expect(listed.json().visits.map((v: { id: string }) => v.id)).toContain(id);
    const detail = (await call('office', 'GET', `/api/visits/${id}`)).json();
    expect(detail.actions).toContain('depart');
    expect(detail.staff.some((x: { id: string }) => x.id === office.id)).toBe(false);
    const go = { expectedReturnAt: new Date(Date.now() + 3_600_000).toISOString(), risksRead: true };
    const unnamed = await call('office', 'POST', `/api/visits/${id}/depart`, go);
    expect(unnamed.statusCode).toBe(422);
    expect(unnamed.json().message).toMatch(/^leadUserId: nobody leads this visit: name who is going/);
    const self = await call('office', 'POST', `/api/visits/${id}/depart`, { ...go, leadUserId: office.id });
    expect(self.statusCode).toBe(422);
    expect(self.json().message).toMatch(/^leadUserId: the lead must be active visiting staff of this school/);
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM users WHERE username = 'wearer'`);
    const wearer = String(rows[0]!.id);
    expect(
      (await call('office', 'POST', `/api/visits/${id}/depart`, { ...go, leadUserId: wearer })).statusCode,
    ).toBe(200);
    const out = (await call('office', 'GET', `/api/visits/${id}`)).json().visit;
    expect(out).toMatchObject({ leadUserId: wearer, workerPhone: '+447700900333', fobDeviceId: 'PS-0001' });
    // The board's number for the worker is the one they left with (the departure form's "phone while
    // out"), not only their account's: the office must reach them when they are overdue.
    await db.query(`UPDATE visits SET worker_phone = '+447700900444' WHERE id = $1`, [id]);
    const onBoard = (await call('office', 'GET', '/api/board?school=alpha')).json();
    expect(onBoard.visits.find((v: { id: string }) => v.id === id)?.phones.lead).toBe('+447700900444');
    // "I need help" is raised at once, without a position; the page learns its alarm's id and sends
    // the phone's position when it has one — once, and only to that visit's help alarm.
    const help = (await call('wearer', 'POST', `/api/visits/${id}/help`, { pressId: 'press-0001' })).json();
    expect(help).toEqual({ ok: true, alarmId: expect.stringMatching(/^\d+$/) });
    // The page sends the same press again when its answer was lost: the same alarm, not a second.
    const retried = (
      await call('wearer', 'POST', `/api/visits/${id}/help`, { pressId: 'press-0001' })
    ).json();
    expect(retried.alarmId).toBe(help.alarmId);
    const { rows: helps } = await db.query(`SELECT id FROM alarms WHERE visit_id = $1 AND type = 'sos'`, [
      Number(id),
    ]);
    expect(helps).toHaveLength(1);
    const position = { lat: 53.8, lon: -1.55, accuracyM: 12 };
    const located = await call('wearer', 'POST', `/api/visits/${id}/help-position`, {
      alarmId: help.alarmId,
      location: position,
    });
    expect(located.statusCode).toBe(200);
    const { rows: at } = await db.query<{ location: unknown }>('SELECT location FROM alarms WHERE id = $1', [
      help.alarmId,
    ]);
    expect(at[0]!.location).toEqual(position);
    const again = await call('wearer', 'POST', `/api/visits/${id}/help-position`, {
      alarmId: help.alarmId,
      location: { ...position, lat: 0 },
    });
    expect(again.statusCode).toBe(409);
    const { rows: others } = await db.query<{ id: string }>(
      `SELECT id FROM alarms WHERE visit_id IS DISTINCT FROM $1 LIMIT 1`,
      [Number(id)],
    );
    // Another alarm (the fob's, earlier in this file) is not this visit's.
    expect(others).toHaveLength(1);
    expect(
      (
        await call('wearer', 'POST', `/api/visits/${id}/help-position`, {
          alarmId: String(others[0]!.id),
          location: position,
        })
      ).statusCode,
    ).toBe(409);
    const events = await db.query<{ type: string }>(
      `SELECT type FROM board_events WHERE type = 'alarm.located' AND payload->>'alarmId' = $1`,
      [help.alarmId],
    );
    expect(events.rows).toHaveLength(1);
    // Led by someone else now: no longer on Kim's list.
    const after = await app.inject({ url: '/api/visits?school=alpha', headers: { cookie: k.cookie } });
    expect(after.json().visits.map((v: { id: string }) => v.id)).not.toContain(id);
    expect((await call('office', 'POST', `/api/visits/${id}/back-safe`, {})).statusCode).toBe(200);
    // Back: the day's list and the board say when, not a "back by" time that no longer matters.
    const day = (await call('office', 'GET', '/api/visits?school=alpha')).json();
    const listedBack = day.visits.find((v: { id: string }) => v.id === id);
    expect(listedBack.returnedAt).toEqual(expect.any(String));
    const board = (await call('office', 'GET', '/api/board?school=alpha')).json();
    expect(board.visits.find((v: { id: string }) => v.id === id)?.returnedAt).toBe(listedBack.returnedAt);
  });

  it("signing the day's list needs the visits the signer was shown", async () => {
    const r = await call('sg', 'POST', '/api/visits/sign-list', { school: 'alpha', date: '2026-11-24' });
    expect(r.statusCode).toBe(400);
    expect(r.json().message).toMatch(/^visits: /);
  });
});

describe('triggers on the board', () => {
  it('lists an open trigger until a visit is asked for from it; the visit takes pupil and reason from it', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ('alpha', 'T1', 'Tia', 'Moss', $1)`,
      [JSON.stringify({ line1: '9 Low Rd', postcode: 'LS2 2BB' })],
    );
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
       VALUES ('alpha', 'T1', 'heath-lane:absent-3-days', 'Absent 3 school days', 'home-visit', 'attendance-coordinator', 'open', '2026-11-20', 'x', '{"from":"2026-11-16","to":"2026-11-18"}')
       RETURNING id`,
    );
    const triggerId = String(rows[0]!.id);
    const before = (await call('office', 'GET', '/api/board?school=alpha')).json();
    expect(before.triggers).toEqual([
      expect.objectContaining({
        id: triggerId,
        pupilName: 'Tia Moss',
        title: 'Absent 3 school days',
        action: 'home-visit',
        openedOn: '2026-11-20',
        firstDay: '2026-11-16', // the first day of the absence, not the day it was raised
      }),
    ]);
    const made = await call('office', 'POST', '/api/visits', {
      school: 'alpha',
      triggerEpisodeId: triggerId,
    });
    expect(made.statusCode).toBe(201);
    const after = (await call('office', 'GET', '/api/board?school=alpha')).json();
    expect(after.triggers).toEqual([]);
    const visit = after.visits.find((v: { id: string }) => v.id === made.json().id);
    expect(visit).toMatchObject({
      status: 'requested',
      reason: 'Absent 3 school days',
      pupilName: 'Tia Moss',
      address: '9 Low Rd, LS2 2BB',
    });
  });
});

describe('a visit and the trigger it answers', () => {
  const trigger = async (pupil: string, action: string, openedOn: string) => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
       VALUES ('alpha', $1, $2, $3, $2, 'attendance-coordinator', 'open', $4, 'x', '{}') RETURNING id`,
      [pupil, action, `${action} for ${pupil}`, openedOn],
    );
    return String(rows[0]!.id);
  };
  const address = JSON.stringify({ line1: '4 High St', postcode: 'LS1 1AA' });

  it('a visit asked for by hand for a pupil with an open visit trigger is that trigger’s visit (the oldest; never a phone call’s)', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ('alpha', 'H1', 'Hal', 'Ng', $1)`,
      [address],
    );
    const phone = await trigger('H1', 'phone-call', '2026-11-16');
    const later = await trigger('H1', 'follow-up-visit', '2026-11-20');
    const first = await trigger('H1', 'home-visit', '2026-11-18');
    const made = await call('office', 'POST', '/api/visits', {
      school: 'alpha',
      pupilMisId: 'H1',
      reason: 'welfare check',
    });
    expect(made.statusCode, made.body).toBe(201);
    const { rows } = await db.query<{ trigger_episode_id: string }>(
      'SELECT trigger_episode_id::text FROM visits WHERE id = $1',
      [made.json().id],
    );
    expect(rows[0]!.trigger_episode_id).toBe(first);
    const waiting = (await call('office', 'GET', '/api/board?school=alpha'))
      .json()
      .triggers.map((t: { id: string }) => t.id);
    expect(waiting).toEqual(expect.arrayContaining([phone, later]));
    expect(waiting).not.toContain(first);
  });

  it('asking again from a card that has its visit, from a closed trigger, or naming another pupil: said, and no second visit', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ('alpha', 'H2', 'Ivy', 'Ng', $1), ('alpha', 'H3', 'Jo', 'Ng', $1)`,
      [address],
    );
    const t = await trigger('H2', 'home-visit', '2026-11-18');
    const one = await call('office', 'POST', '/api/visits', { school: 'alpha', triggerEpisodeId: t });
    expect(one.statusCode).toBe(201);
    const two = await call('office', 'POST', '/api/visits', { school: 'alpha', triggerEpisodeId: t });
    expect(two.statusCode).toBe(409);
    expect(two.json().message).toBe(
      `visit ${one.json().id} was already asked for from this trigger: open it (or cancel it first)`,
    );
    const other = await call('office', 'POST', '/api/visits', {
      school: 'alpha',
      triggerEpisodeId: t,
      pupilMisId: 'H3',
    });
    expect(other.statusCode).toBe(400);
    const closed = await trigger('H3', 'home-visit', '2026-11-18');
    await db.query(`UPDATE trigger_episodes SET status = 'closed', closed_on = '2026-11-20' WHERE id = $1`, [
      closed,
    ]);
    const late = await call('office', 'POST', '/api/visits', { school: 'alpha', triggerEpisodeId: closed });
    expect(late.statusCode).toBe(409);
    expect(late.json().message).toMatch(/^this trigger closed on 2026-11-20/);
    const { rows } = await db.query(`SELECT 1 FROM visits WHERE pupil_mis_id IN ('H2', 'H3')`);
    expect(rows).toHaveLength(1);
  });
});

describe('accounts (admin)', () => {
  it('creates an account that can sign in, names a bad field, refuses a taken name, and disabling ends its sessions', async () => {
    const body = {
      username: 'new.person',
      displayName: 'New Person',
      password: 'a long enough passphrase',
      roles: ['office'],
      schools: ['alpha'],
    };
    const made = await call('admin', 'POST', '/api/users', body);
    expect(made.statusCode).toBe(201);
    expect((await call('admin', 'POST', '/api/users', body)).statusCode).toBe(409);
    // A fob's staff id another account holds: the board would not know whose SOS it is — named, 409.
    const taken = await call('admin', 'POST', '/api/users', {
      ...body,
      username: 'second.wearer',
      staffId: 'st-1',
    });
    expect({ status: taken.statusCode, message: taken.json().message }).toEqual({
      status: 409,
      message:
        'staffId: "st-1" is already wearer\'s (one person per fob staff id): take it off that account first, or give this one another',
    });
    const bad = await call('admin', 'POST', '/api/users', { ...body, username: 'other', roles: ['janitor'] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/^roles\.0: expected some of office/);
    const nowhere = await call('admin', 'POST', '/api/users', {
      ...body,
      username: 'other',
      schools: ['nowhere'],
    });
    expect(nowhere.json().message).toMatch(/^schools\.0: expected some of alpha/);

    const login = await app.inject({
      method: 'POST',
      url: '/api/login',
      payload: { username: 'new.person', password: body.password },
    });
    expect(login.statusCode).toBe(200);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    expect((await app.inject({ url: '/api/me', headers: { cookie } })).statusCode).toBe(200);
    expect((await call('admin', 'POST', `/api/users/${made.json().id}/disable`, {})).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/me', headers: { cookie } })).statusCode).toBe(401);
    const listed = (await call('admin', 'GET', '/api/users')).json();
    // The form's choices are the server's own lists (a position added there is offered at once).
    expect(listed.positions).toContain('head-of-school');
    expect(listed.roles).toEqual(['office', 'visiting-staff', 'safeguarding', 'data-manager', 'admin']);
    const list = listed.users;
    expect(list.find((u: { username: string }) => u.username === 'new.person')).toMatchObject({
      disabled: true,
    });
    expect((await call('office', 'GET', '/api/users')).statusCode).toBe(403);
  });
});

describe('a welfare concern set by hand', () => {
  it('is set and cleared by the safeguarding team with a reason, audited, and shown apart from the MIS flags', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, flags) VALUES ('alpha', 'WC1', 'Wendy', 'Case', '{"cpPlan": false}')`,
    );
    const url = '/api/pupils/WC1/welfare-concern';
    expect(
      (await call('office', 'POST', url, { school: 'alpha', set: true, reason: 'seen upset' })).statusCode,
    ).toBe(403);
    expect(
      (await call('sg', 'POST', url, { school: 'alpha', set: true, reason: ' ' })).json().message,
    ).toMatch(/expected the reason/);
    expect(
      (
        await call('sg', 'POST', '/api/pupils/NOPE/welfare-concern', {
          school: 'alpha',
          set: true,
          reason: 'x',
        })
      ).statusCode,
    ).toBe(404);
    expect(
      (await call('sg', 'POST', url, { school: 'alpha', set: true, reason: 'disclosure at lunch' }))
        .statusCode,
    ).toBe(200);
    const { rows } = await db.query<{
      flags: unknown;
      manual_flags: Record<string, { reason: string; by: string }>;
    }>(`SELECT flags, manual_flags FROM pupils WHERE school_id = 'alpha' AND mis_id = 'WC1'`);
    // The MIS's flags are untouched; the hand-set one lives apart.
    expect(rows[0]!.flags).toEqual({ cpPlan: false });
    expect(rows[0]!.manual_flags.welfareConcern).toMatchObject({
      reason: 'disclosure at lunch',
      by: expect.stringMatching(/^user:/),
    });
    expect(
      (await call('sg', 'POST', url, { school: 'alpha', set: false, reason: 'resolved with family' }))
        .statusCode,
    ).toBe(200);
    const after = await db.query<{ manual_flags: unknown }>(
      `SELECT manual_flags FROM pupils WHERE mis_id = 'WC1'`,
    );
    expect(after.rows[0]!.manual_flags).toEqual({});
    const audit = await listAudit(db, { entityType: 'pupil', entityId: 'WC1' });
    expect(audit.map((a) => [a.action, (a.after as { reason: string }).reason])).toEqual(
      expect.arrayContaining([
        ['pupil.flag.set', 'disclosure at lunch'],
        ['pupil.flag.cleared', 'resolved with family'],
      ]),
    );
  });

  it("queues the school's trigger evaluation at once (the rules read the flag), not leaving it to the nightly run", async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, flags) VALUES ('alpha', 'WC2', 'Walt', 'Case', '{}')`,
    );
    const queue = producer.queueFor('evaluate-triggers');
    const evaluations = async () =>
      (await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active']))
        .filter((j) => j.name === 'evaluate-triggers' && j.data.reason === 'manual')
        .map((j) => j.data);
    await queue.drain(true);
    expect(await evaluations()).toEqual([]);
    const url = '/api/pupils/WC2/welfare-concern';
    expect(
      (await call('sg', 'POST', url, { school: 'alpha', set: true, reason: 'disclosure at lunch' }))
        .statusCode,
    ).toBe(200);
    // No pupil id in the job (personal data in Redis): the school's pupils, once while it waits.
    expect(await evaluations()).toEqual([{ schoolId: 'alpha', reason: 'manual' }]);
    expect(
      (await call('sg', 'POST', url, { school: 'alpha', set: false, reason: 'resolved' })).statusCode,
    ).toBe(200);
    expect(await evaluations()).toEqual([{ schoolId: 'alpha', reason: 'manual' }]);
  });
});

describe('asking for a visit for a pupil the MIS has no address for', () => {
  it('refuses without an address, saying so, and takes one typed in', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname) VALUES ('alpha', 'NA1', 'No', 'Address')`,
    );
    const without = await call('office', 'POST', '/api/visits', {
      school: 'alpha',
      pupilMisId: 'NA1',
      reason: 'absence',
    });
    expect(without.statusCode).toBe(400);
    expect(without.json().message).toMatch(/the MIS has no address for this pupil; type one in/);
    const typed = await call('office', 'POST', '/api/visits', {
      school: 'alpha',
      pupilMisId: 'NA1',
      reason: 'absence',
      address: { line1: '4 Elm Row', town: 'Leeds', postcode: 'LS4 4DD' },
    });
    expect(typed.statusCode).toBe(201);
    const { rows } = await db.query<{ address: unknown }>('SELECT address FROM visits WHERE id = $1', [
      typed.json().id,
    ]);
    expect(rows[0]!.address).toMatchObject({ line1: '4 Elm Row', postcode: 'LS4 4DD' });
  });
});

describe('the request form’s pupil search', () => {
  it('gives each pupil’s contacts with parental responsibility first, and no phone numbers or e-mails', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname) VALUES ('alpha', 'PR1', 'Parent', 'Firstly')`,
    );
    await db.query(
      `INSERT INTO pupil_contacts (school_id, pupil_mis_id, priority, name, relationship, phone, email, parental_responsibility)
       VALUES ('alpha', 'PR1', 1, 'Sam Lee', 'STEP_FATHER', '07700 900002', 'sam@example.org', false),
              ('alpha', 'PR1', 2, 'Kim Firstly', 'AUNT', '07700 900003', NULL, NULL),
              ('alpha', 'PR1', 3, 'Grace Firstly', 'MOTHER', '07700 900001', 'grace@example.org', true)`,
    );
    const res = await call('office', 'GET', '/api/pupils?school=alpha&q=Firstly');
    expect(res.statusCode).toBe(200);
    const [p] = res.json().pupils as { mis_id: string; contacts: unknown[] }[];
    expect(p!.mis_id).toBe('PR1');
    expect(p!.contacts).toEqual([
      { name: 'Grace Firstly', relationship: 'MOTHER', parentalResponsibility: true },
      { name: 'Sam Lee', relationship: 'STEP_FATHER', parentalResponsibility: false },
      { name: 'Kim Firstly', relationship: 'AUNT', parentalResponsibility: null },
    ]);
    expect(res.body).not.toMatch(/07700|@example/);
  });
});

describe("the day's visit list", () => {
  it('prints each visit with parents, attendance since September and who authorised it', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, year_group, address) VALUES ('alpha', 'L1', 'Lily', 'Park', '5', $1)`,
      [JSON.stringify({ line1: '3 Oak Way', postcode: 'LS3 3CC' })],
    );
    await db.query(
      `INSERT INTO pupil_contacts (school_id, pupil_mis_id, priority, name, relationship, phone) VALUES ('alpha', 'L1', 1, 'Jo <Park>', 'mother', '07700 900444')`,
    );
    for (const [date, session, category] of [
      ['2026-11-16', 'AM', 'present'],
      ['2026-11-16', 'PM', 'present'],
      ['2026-11-17', 'AM', 'present'],
      ['2026-11-17', 'PM', 'unauthorised_absence'],
    ])
      await db.query(
        `INSERT INTO attendance_marks (school_id, pupil_mis_id, date, session, code, category, import_id) VALUES ('alpha', 'L1', $1, $2, '/', $3, 0)`,
        [date, session, category],
      );
    // A visit is asked for today or later (the real clock here): the list of its day.
    const today = londonDate(new Date());
    const made = await call('office', 'POST', '/api/visits', {
      school: 'alpha',
      pupilMisId: 'L1',
      reason: 'absence',
      plannedFor: today,
    });
    expect(made.statusCode).toBe(201);
    const res = await call('office', 'GET', `/visits/list?school=alpha&date=${today}`);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(
      '<td>Lily Park</td><td>5</td><td>3 Oak Way, LS3 3CC</td><td>Jo &#60;Park&#62; (mother) 07700 900444</td><td>75.0%</td><td>absence</td><td>not needed (the school’s policy asks for none)</td>',
    );
    expect((await call('dm', 'GET', `/visits/list?school=alpha&date=${today}`)).statusCode).toBe(403);
  });
});

describe('address flags', () => {
  it('are shown on every visit to the address, and removed with a reason the audit keeps', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ('alpha', 'F1', 'Finn', 'Ray', $1)`,
      [JSON.stringify({ line1: '7 Elm Row', postcode: 'LS7 7FF' })],
    );
    const visit = (
      await call('office', 'POST', '/api/visits', { school: 'alpha', pupilMisId: 'F1', reason: 'welfare' })
    ).json().id;
    const added = await call('sg', 'POST', '/api/address-flags', {
      school: 'alpha',
      postcode: 'ls7 7ff',
      line1: '7 Elm Row',
      level: 'dangerous',
      note: 'Aggressive adult at this address',
    });
    expect(added.statusCode).toBe(201);
    // Heath Lane: recorded on the record of each child who lives there (the school's sinks).
    const { rows: records } = await db.query<{
      kind: string;
      pupil_ids: string[];
      title: string;
      body: string;
    }>(`SELECT kind, pupil_ids, title, body FROM outbox WHERE kind = 'address_flag'`);
    expect(records).toEqual([
      {
        kind: 'address_flag',
        pupil_ids: ['F1'],
        title: 'Home address flagged DANGEROUS: 7 Elm Row, LS7 7FF',
        body: expect.stringContaining('Aggressive adult at this address'),
      },
    ]);
    const flags = (await call('office', 'GET', `/api/visits/${visit}`)).json().addressFlags;
    expect(flags).toEqual([
      expect.objectContaining({ level: 'dangerous', note: 'Aggressive adult at this address' }),
    ]);
    expect(
      (await call('office', 'POST', `/api/address-flags/${flags[0].id}/remove`, { reason: 'x' })).statusCode,
    ).toBe(403);
    expect((await call('sg', 'POST', `/api/address-flags/${flags[0].id}/remove`, {})).json().message).toMatch(
      /^reason: /,
    );
    expect(
      (await call('sg', 'POST', `/api/address-flags/${flags[0].id}/remove`, { reason: 'family moved away' }))
        .statusCode,
    ).toBe(200);
    expect((await call('office', 'GET', `/api/visits/${visit}`)).json().addressFlags).toEqual([]);
    const { rows } = await db.query<{ before: { note: string }; after: { reason: string } }>(
      `SELECT before, after FROM audit_log WHERE action = 'address-flag.removed'`,
    );
    expect(rows).toEqual([
      {
        before: expect.objectContaining({ note: 'Aggressive adult at this address' }),
        after: { reason: 'family moved away' },
      },
    ]);
    // A flag on the postcode alone covers a street of households: it goes on no child's record (a
    // neighbour at 9 Elm Row would get 7 Elm Row's danger and its note), though it raises every visit.
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ('alpha', 'F2', 'Gil', 'Ray', $1)`,
      [JSON.stringify({ line1: '9 Elm Row', postcode: 'LS7 7FF' })],
    );
    const street = await call('sg', 'POST', '/api/address-flags', {
      school: 'alpha',
      postcode: 'LS7 7FF',
      level: 'caution',
      note: 'Dog loose on the street',
    });
    expect(street.statusCode).toBe(201);
    const { rows: after } = await db.query(`SELECT pupil_ids FROM outbox WHERE kind = 'address_flag'`);
    expect(after).toEqual([{ pupil_ids: ['F1'] }]);
  });
});
