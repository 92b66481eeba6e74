import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETENTION_DEFAULTS } from '../../src/config/sections/retention.ts';
import { appendAudit } from '../../src/store/audit.ts';
import type { Db } from '../../src/store/db.ts';
import { finishPurgeRun, lastPurgeRuns, startPurgeRun } from '../../src/store/purge-runs.ts';
import { academicYearStart, purgeSchool, type RetentionPlan } from '../../src/store/retention.ts';
import { BACKENDS, DAY, insert, type TestStore } from './dp-fixtures.ts';

/**
 * Retention removes exactly what is due and nothing else: every kind of data is seeded twice for
 * school alpha — once past its period, once within it — and once more for school beta, whose data
 * a purge of alpha must never touch.
 */
const NOW = new Date('2026-03-15T12:00:00Z');
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);

function plan(schoolId: string, batchSize = 3): RetentionPlan {
  return {
    schoolId,
    now: NOW,
    periods: { ...RETENTION_DEFAULTS },
    trustAuditDetailDays: RETENTION_DEFAULTS.auditDetailDays,
    batchSize,
    maxRowsPerRun: 100_000,
  };
}

/** Seeds one school; returns the ids that must go and those that must stay, per table. */
async function seed(db: Db, school: string) {
  const ids: Record<string, { gone: string[]; kept: string[] }> = {};
  const note = (table: string, fate: 'gone' | 'kept', id: string) => {
    ids[table] ??= { gone: [], kept: [] };
    ids[table][fate].push(id);
  };
  const user = await insert(db, 'users', {
    username: `u-${school}`,
    display_name: 'Sam Staff',
    password_hash: 'x',
    roles: ['visiting-staff'],
    staff_id: `st-${school}`,
  });
  // Pupils: one on roll, one who left 40 days ago (hidden, kept), one who left 400 days ago (erased).
  for (const [id, left] of [
    ['p1', null],
    ['p2', '2026-02-03'],
    ['p3', '2025-02-07'],
  ] as const)
    await insert(db, 'pupils', {
      school_id: school,
      mis_id: id,
      forename: `F${id}`,
      surname: 'S',
      left_on: left,
    });
  for (const [date, fate] of [
    ['2023-10-02', 'gone'],
    ['2024-08-30', 'gone'],
    ['2024-09-02', 'kept'],
    ['2026-03-02', 'kept'],
  ] as const) {
    await insert(db, 'attendance_marks', {
      school_id: school,
      pupil_mis_id: 'p1',
      date,
      session: 'AM',
      code: 'N',
      category: 'unauthorised_absence',
      import_id: 1,
    });
    note('attendance_marks', fate, `${school}:${date}`);
    // Which MIS record gave the mark goes with it.
    await insert(db, 'mark_records', {
      school_id: school,
      pupil_mis_id: 'p1',
      date,
      session: 'AM',
      record_id: `r-${date}`,
      import_id: 1,
    });
    note('mark_records', fate, `${school}:${date}`);
  }
  // Marks held for a later sync: gone once they can never apply — dated before the marks' cutoff
  // (1 September 2024), or held two months with their day a month gone (no sync of their source
  // since applied them, nor dropped them as its own); kept while a sync can still apply or drop them.
  const day = (days: number) => ago(days).toISOString().slice(0, 10);
  for (const [pupil, date, session, heldDaysAgo, fate] of [
    ['p1', '2023-10-03', 'AM', 900, 'gone'],
    ['p1', '2024-08-30', 'AM', 1, 'gone'], // held yesterday, but outside the years kept
    ['p1', '2024-09-02', 'AM', 1, 'kept'],
    ['p1', day(31), 'AM', 61, 'gone'], // its pupil known, yet not applied in a month: its source is gone
    ['p1', day(31), 'PM', 59, 'kept'],
    ['p1', day(29), 'AM', 400, 'kept'], // its day not a month gone
    ['p1', '2026-06-01', 'AM', 400, 'kept'], // a planned absence held ahead: its day has not come
    ['upn:A123456789012', day(70), 'AM', 65, 'gone'], // a CTF's UPN no pupil ever had
    ['p9', day(40), 'AM', 40, 'kept'], // its source's sync drops it, and says so
  ] as const) {
    await insert(db, 'held_marks', {
      school_id: school,
      source: 'arbor',
      pupil_mis_id: pupil,
      date,
      session,
      mark: 'N',
      why: 'unknown-pupil',
      held_at: ago(heldDaysAgo),
    });
    note('held_marks', fate, `${school}:${pupil}:${date}:${session}`);
  }
  const fob = async (days: number, fate: 'gone' | 'kept') => {
    const id = await insert(db, 'fob_events', {
      school_id: school,
      device_id: 'd1',
      vendor_event_id: `e${days}-${Math.random()}`,
      type: 'sos',
      occurred_at: ago(days),
      received_at: ago(days),
      staff_id: `st-${school}`,
      location: { lat: 53.8, lon: -1.5 },
      transport: 'mqtt',
      profile: 'generic',
      raw: '{"secret":"position"}',
    });
    note('fob_events', fate, id);
    return id;
  };
  await fob(40, 'gone'); // past 31 days, nothing refers to it
  await fob(5, 'kept');
  const alarm = async (eventId: string, status: string, resolvedDaysAgo: number | null) =>
    insert(db, 'alarms', {
      school_id: school,
      fob_event_id: eventId,
      device_id: 'd1',
      staff_id: `st-${school}`,
      unknown_device: false,
      type: 'sos',
      status,
      raised_at: ago(resolvedDaysAgo ?? 40),
      resolved_at: resolvedDaysAgo === null ? null : ago(resolvedDaysAgo),
      resolution_reason: resolvedDaysAgo === null ? null : 'false_alarm',
    });
  // A resolved alarm 100 days ago: its notifications go (90), the alarm stays (6 years), its event loses its position.
  const scrubbed = await fob(100, 'kept');
  const a1 = await alarm(scrubbed, 'resolved', 100);
  note('alarms', 'kept', a1);
  const n1 = await insert(db, 'notifications', { alarm_id: a1, step: 0, target: 'board', status: 'sent' });
  await insert(db, 'notification_recipients', { notification_id: n1, recipient_key: 'k', receipt: 'r' });
  note('notifications', 'gone', n1);
  // An alarm still open on an old event: its event keeps everything.
  const openEvent = await fob(60, 'kept');
  note('alarms', 'kept', await alarm(openEvent, 'open', null));
  // A resolved alarm 7 years ago: gone with its timeline and notifications, then its event (now free).
  const veryOld = await fob(7 * 366, 'gone');
  const a2 = await alarm(veryOld, 'resolved', 7 * 366);
  note('alarms', 'gone', a2);
  await insert(db, 'alarm_timeline', { alarm_id: a2, event: 'raised' });
  note(
    'notifications',
    'gone',
    await insert(db, 'notifications', { alarm_id: a2, step: 0, target: 'board', status: 'sent' }),
  );
  // An alarm's incident notice (with the resolver's note, naming people) goes with its alarm.
  const incident = (alarmId: string, visitId: string | null, days: number) =>
    insert(db, 'notices', {
      school_id: school,
      kind: 'incident',
      visit_id: visitId,
      notice_key: `alarm:${alarmId}`,
      target: 'email:dsl',
      subject: `lone-worker incident: alarm #${alarmId}`,
      text: `Alarm #${alarmId} was resolved as an incident: Mr X threatened Sam at 3 Nettlebed Row`,
      created_at: ago(days),
    });
  note('notices', 'gone', await incident(a2, null, 7 * 366));
  note('notices', 'kept', await incident(a1, null, 100));

  for (const [days, fate] of [
    [31, 'gone'],
    [29, 'kept'],
  ] as const)
    note(
      'rejected_events',
      fate,
      await insert(db, 'rejected_events', {
        school_id: school,
        transport: 'mqtt',
        profile: 'generic',
        reason: 'bad',
        raw: 'junk',
        received_at: ago(days),
      }),
    );
  for (const [days, fate] of [
    [8, 'gone'],
    [6, 'kept'],
  ] as const)
    note(
      'board_events',
      fate,
      await insert(db, 'board_events', { school_id: school, type: 'x', payload: {}, created_at: ago(days) }),
    );
  for (const [days, fate] of [
    [91, 'gone'],
    [89, 'kept'],
  ] as const)
    note(
      'imports',
      fate,
      await insert(db, 'imports', {
        school_id: school,
        source: 'csv',
        unit: 'pupils.csv',
        status: 'applied',
        started_at: ago(days),
        finished_at: ago(days),
      }),
    );
  const episode = async (status: string, closedDaysAgo: number | null, fate: 'gone' | 'kept') => {
    const id = await insert(db, 'trigger_episodes', {
      school_id: school,
      pupil_mis_id: 'p1',
      rule_key: `r:${Math.random()}`,
      title: 't',
      action: 'home-visit',
      role: 'dsl',
      status,
      opened_on: '2023-01-09',
      closed_on: closedDaysAgo === null ? null : ago(closedDaysAgo).toISOString().slice(0, 10),
      explanation: 'e',
      evidence: {},
    });
    note('trigger_episodes', fate, id);
    return id;
  };
  await episode('closed', 800, 'gone');
  await episode('closed', 700, 'kept');
  await episode('open', null, 'kept');
  const referenced = await episode('closed', 800, 'kept'); // a kept visit refers to it

  const visit = async (days: number, extra: Record<string, unknown>, fate: 'gone' | 'kept') => {
    const id = await insert(db, 'visits', {
      school_id: school,
      pupil_mis_id: 'p1',
      reason: 'absence',
      address: { line1: '1 High St', postcode: 'LS1 1AA' },
      planned_for: ago(days).toISOString().slice(0, 10),
      status: 'completed',
      requested_by: user,
      departed_at: ago(days),
      returned_at: ago(days),
      completed_at: ago(days),
      outcome: { childSeen: true },
      updated_at: ago(days),
      ...extra,
    });
    note('visits', fate, id);
    return id;
  };
  const oldVisit = await visit(4 * 366, {}, 'gone');
  await insert(db, 'visit_check_ins', { visit_id: oldVisit, at: ago(4 * 366), source: 'phone' });
  await insert(db, 'visit_return_changes', {
    visit_id: oldVisit,
    at: ago(4 * 366),
    new_at: ago(4 * 366),
    reason: 'late',
  });
  const visitAlarm = await insert(db, 'alarms', {
    school_id: school,
    visit_id: oldVisit,
    dedup_key: `visit:${oldVisit}:overdue`,
    unknown_device: false,
    type: 'overdue',
    status: 'resolved',
    raised_at: ago(4 * 366),
    resolved_at: ago(4 * 366),
    resolution_reason: 'worker_safe',
  });
  note('alarms', 'gone', visitAlarm);
  note('notices', 'gone', await incident(visitAlarm, oldVisit, 4 * 366));
  // A lone-worker incident on that visit is the worker's record: kept alarmDays, cut from the visit.
  const visitIncident = await insert(db, 'alarms', {
    school_id: school,
    visit_id: oldVisit,
    dedup_key: `visit:${oldVisit}:help:${user}:press`,
    unknown_device: false,
    type: 'sos',
    status: 'resolved',
    raised_at: ago(4 * 366),
    resolved_at: ago(4 * 366),
    resolution_reason: 'incident_without_dispatch',
    resolution_note: 'threatened at 1 High St',
    location: { lat: 53.8, lon: -1.5 },
  });
  note('alarms', 'kept', visitIncident);
  await insert(db, 'alarm_timeline', { alarm_id: visitIncident, event: 'raised' });
  const awaiting = await visit(4 * 366, { outcome: { childSeen: false } }, 'kept'); // follow-up still to record
  // A visit's alarm, long resolved: it and its notice stay as long as their visit does.
  const keptVisitAlarm = await insert(db, 'alarms', {
    school_id: school,
    visit_id: awaiting,
    dedup_key: `visit:${awaiting}:overdue`,
    unknown_device: false,
    type: 'overdue',
    status: 'resolved',
    raised_at: ago(7 * 366),
    resolved_at: ago(7 * 366),
    resolution_reason: 'worker_safe',
  });
  note('alarms', 'kept', keptVisitAlarm);
  note('notices', 'kept', await incident(keptVisitAlarm, awaiting, 7 * 366));
  await visit(4 * 366, { departed_at: ago(1), returned_at: null, status: 'departed' }, 'kept'); // out now
  // Long back, but an SOS raised on it is not resolved: the visit and its alarm stay (its ladder runs).
  const sosVisit = await visit(4 * 366, {}, 'kept');
  const openSos = await insert(db, 'alarms', {
    school_id: school,
    visit_id: sosVisit,
    dedup_key: `visit:${sosVisit}:help`,
    unknown_device: false,
    type: 'sos',
    status: 'open',
    raised_at: ago(4 * 366),
  });
  note('alarms', 'kept', openSos);
  await visit(30, { trigger_episode_id: referenced }, 'kept');

  const record = async (status: string, deliveredDaysAgo: number | null, fate: 'gone' | 'kept') => {
    const at = ago(deliveredDaysAgo ?? 400);
    const id = await insert(db, 'outbox', {
      school_id: school,
      kind: 'trigger_note',
      pupil_ids: JSON.stringify(['p1']),
      title: 'Absence: Fp1 S',
      body: 'Fp1 S has been absent',
      occurred_at: at,
      sink: 'cpoms',
      idempotency_key: `k:${school}:${Math.random()}`,
      status,
      source_type: 'trigger_episode',
      source_id: '1',
      delivered_at: deliveredDaysAgo === null ? null : at,
      updated_at: at,
    });
    note('outbox', fate, id);
    return id;
  };
  const bodyGone = await record('delivered', 40, 'kept');
  const bodyKept = await record('delivered', 20, 'kept');
  await record('delivered', 400, 'gone');
  await record('pending', null, 'kept');
  // A preview (a school not live yet) goes as a delivered record does; a record that failed to reach
  // its sink stays however old, until a person retries it: never deleted unsent.
  await record('preview', null, 'gone');
  await record('failed', null, 'kept');

  const oldAudit = await appendAudit(db, {
    actor: 'system:t',
    action: 't',
    schoolId: school,
    after: { v: 'old' },
  });
  const newAudit = await appendAudit(db, {
    actor: 'system:t',
    action: 't',
    schoolId: school,
    after: { v: 'new' },
  });
  // Back-date the first entry's details (the entry itself cannot be changed, and need not be).
  await db.query('UPDATE audit_details SET at = $2 WHERE audit_id = $1', [oldAudit, ago(400)]);
  note('audit_details', 'gone', oldAudit);
  note('audit_details', 'kept', newAudit);
  return { ids, bodyGone, bodyKept, scrubbed, openEvent, a1, visitIncident };
}

const KEYS: Record<string, string> = {
  attendance_marks: "school_id || ':' || to_char(date, 'YYYY-MM-DD')",
  mark_records: "school_id || ':' || to_char(date, 'YYYY-MM-DD')",
  held_marks: "school_id || ':' || pupil_mis_id || ':' || to_char(date, 'YYYY-MM-DD') || ':' || session",
  audit_details: 'audit_id',
};

describe.each(BACKENDS)('retention on $name', ({ open }) => {
  let store: TestStore;
  let db: Db;
  let alpha: Awaited<ReturnType<typeof seed>>;
  let beta: Awaited<ReturnType<typeof seed>>;
  let betaCounts: Record<string, number>;

  const countsOf = async (school: string) => {
    const out: Record<string, number> = {};
    for (const t of [
      'fob_events',
      'alarms',
      'visits',
      'outbox',
      'board_events',
      'imports',
      'attendance_marks',
      'held_marks',
      'pupils',
      'notices',
    ]) {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${t} WHERE school_id = $1`,
        [school],
      );
      out[t] = rows[0]!.n;
    }
    return out;
  };

  beforeAll(async () => {
    store = await open();
    db = store.db;
    alpha = await seed(db, 'alpha');
    beta = await seed(db, 'beta');
    betaCounts = await countsOf('beta');
  });
  afterAll(async () => store.close());

  it('removes exactly what is due, in bounded batches, and nothing of another school', async () => {
    const first = await purgeSchool(db, plan('alpha'));
    expect(first.complete).toBe(true);
    for (const [table, { gone, kept }] of Object.entries(alpha.ids)) {
      const key = KEYS[table] ?? 'id';
      const { rows } = await db.query<{ k: string }>(
        `SELECT ${key}::text AS k FROM ${table} WHERE ${key}::text = ANY($1::text[])`,
        [[...gone, ...kept]],
      );
      const left = rows.map((r) => r.k);
      expect({ table, left: left.filter((k) => gone.includes(k)) }).toEqual({ table, left: [] });
      expect({ table, kept: kept.filter((k) => !left.includes(k)) }).toEqual({ table, kept: [] });
    }
    // Stripped, not removed: the delivered record's text, the resolved alarm's event position.
    const bodies = await db.query<{ id: string; body: string }>(
      'SELECT id::text, body FROM outbox WHERE id = ANY($1::bigint[])',
      [[alpha.bodyGone, alpha.bodyKept]],
    );
    expect(Object.fromEntries(bodies.rows.map((r) => [r.id, r.body]))).toEqual({
      [alpha.bodyGone]: '',
      [alpha.bodyKept]: 'Fp1 S has been absent',
    });
    const events = await db.query<{ id: string; raw: string; location: unknown }>(
      'SELECT id::text, raw, location FROM fob_events WHERE id = ANY($1::bigint[])',
      [[alpha.scrubbed, alpha.openEvent]],
    );
    expect(Object.fromEntries(events.rows.map((r) => [r.id, r.raw]))).toEqual({
      [alpha.scrubbed]: '',
      [alpha.openEvent]: '{"secret":"position"}',
    });
    // The incident on the visit that went: kept with its timeline, without the visit, its position or its address.
    const kept = await db.query<{
      visit_id: unknown;
      location: unknown;
      resolution_note: string;
      events: number;
    }>(
      `SELECT visit_id, location, resolution_note,
              (SELECT count(*)::int FROM alarm_timeline t WHERE t.alarm_id = a.id) AS events
       FROM alarms a WHERE id = $1`,
      [alpha.visitIncident],
    );
    expect(kept.rows).toEqual([
      { visit_id: null, location: null, resolution_note: 'threatened at [erased]', events: 1 },
    ]);
    // Leavers: hidden after 28 days, erased after a year; the pupil on roll untouched.
    const pupils = await db.query<{ mis_id: string; hidden: boolean }>(
      `SELECT mis_id, hidden_at IS NOT NULL AS hidden FROM pupils WHERE school_id = 'alpha' ORDER BY mis_id`,
    );
    expect(pupils.rows).toEqual([
      { mis_id: 'p1', hidden: false },
      { mis_id: 'p2', hidden: true },
    ]);
    expect(first.removed).toMatchObject({
      notifications: 2,
      alarms: 1,
      visits: 1,
      'trigger-episodes': 1,
      'fob-events': 2,
      'fob-locations': 1,
      'rejected-events': 1,
      'board-events': 1,
      imports: 1,
      'attendance-marks': 2,
      'held-marks': 4,
      'record-bodies': 1,
      records: 2,
      'leavers-hidden': 2,
      'leavers-erased': 1,
    });
    expect(await countsOf('beta')).toEqual(betaCounts);
    expect(beta.ids.visits!.gone.length).toBe(1);

    // A second run finds nothing more to do.
    expect((await purgeSchool(db, plan('alpha'))).removed).toEqual({});
  });

  it('removes expired sessions, acknowledged alerts past their period and SMS replies that matched no alarm', async () => {
    const user = (await db.query<{ id: string }>('SELECT id::text FROM users ORDER BY id LIMIT 1')).rows[0]!
      .id;
    await insert(db, 'sessions', {
      token_hash: 'gone-session',
      user_id: user,
      csrf_token: 'c',
      expires_at: ago(1),
    });
    await insert(db, 'sessions', {
      token_hash: 'kept-session',
      user_id: user,
      csrf_token: 'c',
      expires_at: ago(-1),
    });
    const alert = (acknowledged: Date | null) =>
      insert(db, 'alerts', {
        school_id: 'alpha',
        kind: 'delivery_failed',
        message: 'outbox 1',
        acknowledged_at: acknowledged,
        created_at: ago(400),
      });
    const oldAck = await alert(ago(RETENTION_DEFAULTS.importDays + 1));
    const newAck = await alert(ago(1));
    const open = await alert(null);
    const reply = (sid: string, at: Date) =>
      insert(db, 'sms_replies', {
        message_sid: sid,
        school_id: 'alpha',
        received_at: at,
        sender_hash: 'h',
        outcome: 'unknown-sender',
      });
    await reply('SM-old', ago(RETENTION_DEFAULTS.notificationDays + 1));
    await reply('SM-new', ago(1));
    const r = await purgeSchool(db, plan('alpha'));
    expect(r.removed).toMatchObject({
      'expired-sessions': 1,
      'acknowledged-alerts': 1,
      'orphan-sms-replies': 1,
    });
    expect(
      (await db.query('SELECT token_hash FROM sessions WHERE token_hash LIKE $1', ['%-session'])).rows,
    ).toEqual([{ token_hash: 'kept-session' }]);
    const alerts = await db.query<{ id: string }>(
      'SELECT id::text FROM alerts WHERE id = ANY($1::bigint[]) ORDER BY id',
      [[oldAck, newAck, open]],
    );
    expect(alerts.rows.map((a) => a.id)).toEqual([newAck, open].map(String));
    expect(
      (await db.query("SELECT message_sid FROM sms_replies WHERE message_sid LIKE 'SM-%'")).rows,
    ).toEqual([{ message_sid: 'SM-new' }]);
  });

  it('stops at the per-run bound and says so; the next run goes on', async () => {
    const p = { ...plan('beta', 1), maxRowsPerRun: 1 };
    const r = await purgeSchool(db, p);
    expect(r.complete).toBe(false);
    expect(Math.max(...Object.values(r.removed))).toBe(1);
  });

  it('records runs as counts only, the latest per school', async () => {
    const id = await startPurgeRun(db, 'alpha', NOW);
    await finishPurgeRun(db, id, NOW, { removed: { imports: 3 }, complete: true });
    const [run] = await lastPurgeRuns(db, 'alpha');
    expect(run).toMatchObject({ schoolId: 'alpha', removed: { imports: 3 }, complete: true, error: null });
  });
});

describe('academic years', () => {
  it('start on 1 September (Europe/London)', () => {
    expect(academicYearStart(new Date('2026-03-15T12:00:00Z'), 1)).toBe('2024-09-01');
    expect(academicYearStart(new Date('2025-09-01T00:30:00+01:00'), 0)).toBe('2025-09-01');
    expect(academicYearStart(new Date('2025-08-31T23:30:00Z'), 0)).toBe('2025-09-01');
  });
});
