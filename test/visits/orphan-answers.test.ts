import { beforeAll, describe, expect, it } from 'vitest';
import { handleCallKeypress, handleCallStatus } from '../../src/alarms/call-answers.ts';
import { handleDeliveryReport } from '../../src/alarms/delivery-fallback.ts';
import { handleSmsReply } from '../../src/alarms/sms-replies.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { alarmReach } from '../../src/config/school-of.ts';
import { recipientKey } from '../../src/notify/http-channels.ts';
import { placedCallRecipient } from '../../src/store/call-answers.ts';
import { recordDeliveryReport, recordRecipientReceipt } from '../../src/store/notify.ts';
import { alarmsTextedAbout } from '../../src/store/sms-replies.ts';
import type { User } from '../../src/store/users.ts';
import { followUpDone, recordOutcome } from '../../src/visits/outcome.ts';
import { assessRisk, requestVisit } from '../../src/visits/request.ts';
import { resumeWatch } from '../../src/visits/resume-watch.ts';
import { askForHelp, checkInVisit, returnVisit, runningLate } from '../../src/visits/while-out.ts';
import { LIME_HEAD, removedSchoolWorld } from '../helpers/removed-school-world.ts';
import { departTold } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * An alarm open at Hampton, then Hampton taken out of the config: its messages go out through the
 * trust's `orphansTo` school (here the first, Lime Hills) — texts from Lime's number with codes of
 * Lime's token, calls from Lime's, pushes to Lime's office. The answers come back on Lime's routes,
 * and must find the alarm there (and only there): a reply's code, a call's keypress, the provider's
 * delivery reports. Lime's board holds the alarm, with the pupil by initials only; the other boards
 * of the people who may see Lime count it as Lime's. The lead still at the door after the partner's
 * back safe is texted so, and can say "I am still out". Hampton put back (as every warning says to):
 * the answers to what Lime already sent still find the alarm on Lime's routes (each notification
 * keeps whose channels sent it). Lime's office acts for a worker out on a Hampton visit.
 */
let now = new Date('2026-11-23T10:00:00Z');
const w = removedSchoolWorld('orphan_answers', () => now);
let limeAndThames: User;
let visitId = '';
const LIME_AND_THAMES = '+447700900504';

const school = (config: DoorstepConfig, id: string) => config.schools.find((s) => s.id === id)!;
const statusOf = async (id: string) =>
  (await w.db.query<{ status: string }>('SELECT status FROM alarms WHERE id = $1', [id])).rows[0]!.status;

/** "I need help" on the Hampton visit, pressed a minute after the last press (each its own alarm). */
async function help(): Promise<string> {
  now = new Date(now.getTime() + 60_000);
  return askForHelp(w.vdeps, w.lead, visitId, null);
}

/** "I need help" on the Hampton visit, its first level run with Hampton gone: the alarm and its text. */
async function orphanedAlarm(): Promise<{ alarmId: string; code: string; sid: string }> {
  const alarmId = await help();
  await w.firstLevelWithout(alarmId);
  expect(w.texts.map((t) => t.to)).toEqual([LIME_HEAD]);
  const code = /Reply 1 (\d{4})/.exec(w.texts[0]!.body)?.[1];
  if (!code) throw new Error(`expected a code in ${w.texts[0]!.body}`);
  return { alarmId, code, sid: w.texts[0]!.sid };
}

beforeAll(async () => {
  await addUser(w.db, 'lime-head', ['office'], { phone: LIME_HEAD, schools: ['lime'] });
  limeAndThames = await addUser(w.db, 'lime-thames-office', ['office'], {
    phone: LIME_AND_THAMES,
    schools: ['lime', 'thames'],
  });
  visitId = await requestVisit(w.vdeps, w.lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
  await departTold(w.vdeps, w.lead, visitId, {
    expectedReturnAt: new Date('2026-11-23T12:00:00Z'),
    partnerUserId: w.partner.id,
    risksRead: true,
  });
});

/**
 * A reply "1 <code>" to Thames' number finds none of the orphaned alarm (Thames is not the orphansTo
 * school: its replies find its own alarms only); to Lime's, the head takes it.
 */
async function takenAtLimeOnly(config: DoorstepConfig, alarmId: string, code: string, sid: string) {
  const atThames = await handleSmsReply(
    { db: w.db, config },
    school(config, 'thames'),
    { messageSid: `SM-${sid}-thames`, from: LIME_AND_THAMES, body: `1 ${code}` },
    now,
  );
  expect(atThames.outcome).toBe('no-such-alarm');
  const atLime = await handleSmsReply(
    { db: w.db, config },
    school(config, 'lime'),
    { messageSid: `SM-${sid}-lime`, from: LIME_HEAD, body: `1 ${code}` },
    now,
  );
  expect({ outcome: atLime.outcome, alarmId: atLime.alarmId, status: await statusOf(alarmId) }).toEqual({
    outcome: 'taken',
    alarmId,
    status: 'acknowledged',
  });
}

describe('the answers to an orphaned alarm’s messages, on the orphansTo school’s routes', () => {
  it('an SMS reply "1 <code>" to Lime’s number takes it; to another school’s number the code is none of theirs', async () => {
    const { alarmId, code } = await orphanedAlarm();
    const config = w.without();
    // Thames is not the orphansTo school: its replies find its own alarms only, exactly as before.
    await takenAtLimeOnly(config, alarmId, code, 'orphan');
  });

  it('the provider’s report that its text was undelivered, on Lime’s status route, is found and moves the ladder on', async () => {
    const { alarmId, sid } = await orphanedAlarm();
    const config = w.without();
    // Not on Thames' route (nothing is marked there).
    expect(
      await recordDeliveryReport(w.db, {
        school: alarmReach(config, 'thames'),
        messageId: sid,
        report: 'undelivered',
        error: '30003',
        at: now,
      }),
    ).toBeUndefined();
    const r = await handleDeliveryReport(
      { db: w.db, producer: w.producer },
      alarmReach(config, 'lime'),
      { messageId: sid, status: 'undelivered', errorCode: '30003' },
      now,
    );
    expect(r.notification).toMatchObject({ alarmId, schoolId: 'hampton', fresh: true });
    expect(r.fallback).not.toBeNull();
  }, 20_000);

  it('a keypress on a call Lime placed for it takes it, and the call’s status is found (answered and taken)', async () => {
    const alarmId = await help();
    const config = w.without();
    // A ladder call to Lime's head, placed through Lime's channel (as `deliver` does for it).
    const { rows } = await w.db.query<{ id: string }>(
      `INSERT INTO notifications (alarm_id, step, target, status) VALUES ($1, 0, 'call:on-call-leaders', 'sent') RETURNING id::text`,
      [alarmId],
    );
    const notificationId = rows[0]!.id;
    const key = recipientKey(notificationId, LIME_HEAD);
    const callSid = `CA${'7'.repeat(32)}`;
    await recordRecipientReceipt(w.db, notificationId, key, callSid);
    expect(await placedCallRecipient(w.db, alarmReach(config, 'lime'), notificationId, key)).toMatchObject({
      alarmId,
    });
    expect(
      await placedCallRecipient(w.db, alarmReach(config, 'thames'), notificationId, key),
    ).toBeUndefined();
    const pressed = (s: string) =>
      handleCallKeypress(
        { db: w.db, config },
        school(config, s),
        { callSid, to: LIME_HEAD, digits: '1' },
        now,
      );
    expect(await pressed('thames')).toEqual({ outcome: 'unknown-call', alarmId: null });
    expect(await pressed('lime')).toEqual({ outcome: 'taken', alarmId });
    expect(await statusOf(alarmId)).toBe('acknowledged');
    // Completed with the keypress that took it: delivered, not "answered, not taken".
    const status = await handleCallStatus(
      { db: w.db, producer: w.producer },
      alarmReach(config, 'lime'),
      { callSid, status: 'completed' },
      now,
    );
    expect(status).toEqual({ alarmId, fallback: null });
    const { rows: kept } = await w.db.query<{ delivery: string }>(
      'SELECT delivery FROM notification_recipients WHERE notification_id = $1',
      [notificationId],
    );
    expect(kept.map((r) => r.delivery)).toEqual(['delivered']);
  }, 20_000);
});

describe('the orphaned alarm on the boards', () => {
  it('Lime’s board shows it with the pupil by initials (address kept); Thames’ board, of a person who may see Lime, counts it as Lime’s', async () => {
    const alarmId = await help();
    const app = await w.appWithout();
    try {
      const lime = await w.as(app, limeAndThames, 'GET', '/api/board?school=lime');
      const card = (
        lime.json() as { alarms: { id: string; pupilName: string | null; visitAddress: string | null }[] }
      ).alarms.find((a) => a.id === alarmId);
      expect(card).toMatchObject({ pupilName: 'A.O.', visitAddress: expect.stringContaining('Rosebank') });
      const thames = await w.as(app, limeAndThames, 'GET', '/api/board?school=thames');
      const elsewhere = (thames.json() as { elsewhere: { schoolId: string; alarmIds: string[] }[] })
        .elsewhere;
      expect(elsewhere).toContainEqual(
        expect.objectContaining({ schoolId: 'lime', alarmIds: expect.arrayContaining([alarmId]) }),
      );
    } finally {
      await app.close();
    }
  });
});

describe('"I am still out" at a school no longer configured', () => {
  it('after the partner said back safe, the lead is watched again (never a 404), with no notice of the missing school', async () => {
    now = new Date('2026-11-23T11:00:00Z');
    const vdeps = w.vdepsWithout();
    await returnVisit(vdeps, w.partner, visitId);
    // The lead, still at the door, is texted so (as at any school), through Lime's channel with
    // Lime's number to call; Hampton's own records copy of the return is not sent.
    const { rows: told } = await w.db.query<{
      school_id: string;
      kind: string;
      target: string;
      text: string;
    }>('SELECT school_id, kind, target, text FROM notices WHERE visit_id = $1 ORDER BY id', [visitId]);
    expect(told).toEqual([
      {
        school_id: 'lime',
        kind: 'back-safe-by-other',
        target: 'sms:visiting-staff',
        text: expect.stringContaining('press "I am still out"'),
      },
    ]);
    const notices = async () =>
      (
        await w.db.query<{ n: number }>('SELECT count(*)::int AS n FROM notices WHERE visit_id = $1', [
          visitId,
        ])
      ).rows[0]!.n;
    const before = await notices();
    const r = await resumeWatch(vdeps, w.lead, visitId, new Date('2026-11-23T12:00:00Z'));
    expect(r).toMatchObject({ expectedReturnAt: new Date('2026-11-23T12:00:00Z'), overdueNow: false });
    const { rows } = await w.db.query<{ returned_at: Date | null }>(
      'SELECT returned_at FROM visits WHERE id = $1',
      [visitId],
    );
    expect(rows[0]!.returned_at).toBeNull();
    expect(await notices()).toBe(before);
  });
});

describe('Hampton put back while its alarm is open: what Lime already sent for it is still answered on Lime’s routes', () => {
  it('the text Lime sent keeps that Lime’s channel sent it', async () => {
    const { alarmId } = await orphanedAlarm();
    const { rows } = await w.db.query<{ via_schools: string[] }>(
      "SELECT via_schools FROM notifications WHERE alarm_id = $1 AND target LIKE 'sms:%'",
      [alarmId],
    );
    expect(rows).toEqual([{ via_schools: ['lime'] }]);
  });

  it('a reply "1 <code>" to Lime’s number takes it; Thames’ number finds none of it', async () => {
    const { alarmId, code } = await orphanedAlarm();
    // Hampton is back: w.config holds it again.
    const config = w.config;
    await takenAtLimeOnly(config, alarmId, code, 'back');
  });

  it('the text’s undelivered report on Lime’s status route is found and brings the next level forward', async () => {
    const { alarmId, sid } = await orphanedAlarm();
    const config = w.config;
    expect(
      await recordDeliveryReport(w.db, {
        school: alarmReach(config, 'thames'),
        messageId: sid,
        report: 'undelivered',
        error: '30003',
        at: now,
      }),
    ).toBeUndefined();
    const r = await handleDeliveryReport(
      { db: w.db, producer: w.producer },
      alarmReach(config, 'lime'),
      { messageId: sid, status: 'undelivered', errorCode: '30003' },
      now,
    );
    expect(r.notification).toMatchObject({ alarmId, schoolId: 'hampton', fresh: true });
    expect(r.fallback).not.toBeNull();
  }, 20_000);

  it('a keypress on a call Lime placed for it takes it, and the call’s status is found', async () => {
    const alarmId = await help();
    const config = w.config;
    // A ladder call placed through Lime's channel while Hampton was gone (`deliver` keeps that).
    const { rows } = await w.db.query<{ id: string }>(
      `INSERT INTO notifications (alarm_id, step, target, status, via_schools)
       VALUES ($1, 0, 'call:on-call-leaders', 'sent', '{lime}') RETURNING id::text`,
      [alarmId],
    );
    const notificationId = rows[0]!.id;
    const key = recipientKey(notificationId, LIME_HEAD);
    const callSid = `CA${'8'.repeat(32)}`;
    await recordRecipientReceipt(w.db, notificationId, key, callSid);
    const pressed = (s: string) =>
      handleCallKeypress(
        { db: w.db, config },
        school(config, s),
        { callSid, to: LIME_HEAD, digits: '1' },
        now,
      );
    expect(await pressed('thames')).toEqual({ outcome: 'unknown-call', alarmId: null });
    expect(await pressed('lime')).toEqual({ outcome: 'taken', alarmId });
    expect(
      await handleCallStatus(
        { db: w.db, producer: w.producer },
        alarmReach(config, 'lime'),
        { callSid, status: 'completed' },
        now,
      ),
    ).toEqual({ alarmId, fallback: null });
  }, 20_000);

  it('Lime’s number never finds an alarm of a configured school that Lime’s channel did not text', async () => {
    const alarmId = await help();
    // Texted through Hampton's own channel (no other school named), Hampton in the config.
    await w.db.query(
      `INSERT INTO notifications (alarm_id, step, target, status) VALUES ($1, 0, 'sms:on-call-leaders', 'sent')`,
      [alarmId],
    );
    const texted = async (id: string) =>
      (await alarmsTextedAbout(w.db, alarmReach(w.config, id), new Date(0))).map((a) => a.id);
    expect(await texted('lime')).not.toContain(alarmId);
    expect(await texted('hampton')).toContain(alarmId);
  });
});

describe('the orphansTo office acting for a worker out on a visit of a school no longer configured', () => {
  let v3 = '';
  let limeOffice: User;
  let thamesOffice: User;
  let hamptonOffice: User;
  const vdeps = () => w.vdepsWithout();

  beforeAll(async () => {
    now = new Date('2026-11-23T11:30:00Z');
    v3 = await requestVisit(w.vdeps, w.lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
    await departTold(w.vdeps, w.lead, v3, {
      expectedReturnAt: new Date('2026-11-23T12:30:00Z'),
      partnerUserId: w.partner.id,
      risksRead: true,
    });
    limeOffice = await addUser(w.db, 'lime-office', ['office'], { schools: ['lime'] });
    thamesOffice = await addUser(w.db, 'thames-office', ['office'], { schools: ['thames'] });
    hamptonOffice = await addUser(w.db, 'hampton-office', ['office'], { schools: ['hampton'] });
  });

  it('Lime’s office records a check-in, running late, back safe and still out; Thames’ is refused; Hampton’s own keep theirs', async () => {
    const refused = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: Error) => e.message,
      );
    expect(await refused(checkInVisit(vdeps(), thamesOffice, v3))).toBe(
      'you do not work at school "hampton"',
    );
    expect(await refused(checkInVisit(vdeps(), limeOffice, v3))).toBe('ok');
    expect(await refused(checkInVisit(vdeps(), hamptonOffice, v3))).toBe('ok');
    expect(
      await refused(
        runningLate(vdeps(), limeOffice, v3, new Date('2026-11-23T13:00:00Z'), 'phoned: running late'),
      ),
    ).toBe('ok');
    expect(await refused(returnVisit(vdeps(), limeOffice, v3))).toBe('ok');
    expect(await refused(resumeWatch(vdeps(), limeOffice, v3, new Date('2026-11-23T13:30:00Z')))).toBe('ok');
    const { rows } = await w.db.query<{ returned_at: Date | null; expected_return_at: Date }>(
      'SELECT returned_at, expected_return_at FROM visits WHERE id = $1',
      [v3],
    );
    expect(rows[0]).toEqual({ returned_at: null, expected_return_at: new Date('2026-11-23T13:30:00Z') });
  });

  it('over HTTP: Lime’s office takes the steps, not the page (the pupil is Hampton’s); Thames’ finds no visit', async () => {
    const app = await w.appWithout();
    try {
      const as = async (u: User, method: 'GET' | 'POST', url: string) =>
        (await w.as(app, u, method, url)).statusCode;
      expect(await as(thamesOffice, 'POST', `/api/visits/${v3}/check-in`)).toBe(404);
      expect(await as(limeOffice, 'POST', `/api/visits/${v3}/check-in`)).toBe(200);
      expect(await as(limeOffice, 'GET', `/api/visits/${v3}`)).toBe(404);
      expect(await as(hamptonOffice, 'GET', `/api/visits/${v3}`)).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('the orphansTo school acts only for the worker out, never the missing school’s other steps', () => {
  let returned = '';
  let requested = '';
  let limeSafeguarding: User;
  let limeOffice2: User;
  const vdeps = () => w.vdepsWithout();
  const refused = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: Error) => e.message,
    );

  beforeAll(async () => {
    now = new Date('2026-11-23T14:00:00Z');
    limeSafeguarding = await addUser(w.db, 'lime-sg', ['safeguarding'], { schools: ['lime'] });
    limeOffice2 = await addUser(w.db, 'lime-office-2', ['office'], { schools: ['lime'] });
    // A child-not-seen visit, back and its outcome recorded while Hampton was configured: nobody out.
    returned = await requestVisit(w.vdeps, w.lead, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'welfare',
    });
    await departTold(w.vdeps, w.lead, returned, {
      expectedReturnAt: new Date('2026-11-23T15:00:00Z'),
      partnerUserId: w.partner.id,
      risksRead: true,
    });
    await returnVisit(w.vdeps, w.lead, returned);
    await recordOutcome(w.vdeps, w.lead, returned, {
      childSeen: false,
      noOneHome: true,
      agreements: [],
      concerns: [],
      followUp: [],
    });
    requested = await requestVisit(w.vdeps, w.lead, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'welfare',
    });
  });

  it('Lime’s safeguarding may not close a Hampton follow-up nor assess a Hampton visit’s risk', async () => {
    expect(await refused(followUpDone(vdeps(), limeSafeguarding, returned, 'closed by Lime'))).toBe(
      'you do not work at school "hampton"',
    );
    expect(
      await refused(assessRisk(vdeps(), limeSafeguarding, requested, { level: 'low', reason: 'Lime' })),
    ).toBe('you do not work at school "hampton"');
    const { rows } = await w.db.query<{ done: boolean; assessed: boolean }>(
      `SELECT bool_or(follow_up_done_at IS NOT NULL) AS done, bool_or(risk_assessed_by IS NOT NULL) AS assessed
         FROM visits WHERE id = ANY($1::bigint[])`,
      [[returned, requested]],
    );
    expect(rows[0]).toEqual({ done: false, assessed: false });
  });

  it('over HTTP the gate says as the lifecycle: Lime finds no such step’s visit, yet may ask the safe word of one out', async () => {
    const out = await requestVisit(w.vdeps, w.lead, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'welfare',
    });
    await departTold(w.vdeps, w.lead, out, {
      expectedReturnAt: new Date('2026-11-23T15:30:00Z'),
      partnerUserId: w.partner.id,
      risksRead: true,
      safeWord: 'bluebell',
    });
    const app = await w.appWithout();
    try {
      const post = async (u: User, url: string, payload: object) =>
        (await w.as(app, u, 'POST', url, payload)).statusCode;
      expect(
        await post(limeSafeguarding, `/api/visits/${returned}/follow-up-done`, { note: 'closed by Lime' }),
      ).toBe(404);
      expect(
        await post(limeSafeguarding, `/api/visits/${requested}/assess-risk`, { level: 'low', reason: 'x' }),
      ).toBe(404);
      expect(await post(limeOffice2, `/api/visits/${out}/safe-word`, {})).toBe(200);
      expect(await post(limeOffice2, `/api/visits/${out}/back-safe`, {})).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('the orphansTo school’s id renamed while an orphaned alarm it texted is open', () => {
  it('its number still finds that alarm on its new id, and never a configured school’s', async () => {
    const alarm = async (schoolId: string, key: string) =>
      (
        await w.db.query<{ id: string }>(
          `INSERT INTO alarms (school_id, unknown_device, type, status, raised_at, dedup_key)
           VALUES ($1, false, 'sos', 'open', now(), $2) RETURNING id::text`,
          [schoolId, key],
        )
      ).rows[0]!.id;
    const orphaned = await alarm('hampton', 'renamed-orphan');
    const thames = await alarm('thames', 'renamed-thames');
    // Both texted through Lime's channel under its old id (Thames' only as a made-up row: never so sent).
    for (const id of [orphaned, thames])
      await w.db.query(
        `INSERT INTO notifications (alarm_id, step, target, status, via_schools) VALUES ($1, 0, 'sms:on-call-leaders', 'sent', '{lime}')`,
        [id],
      );
    // Lime's id renamed lime-hills (still the first school, so orphansTo); Hampton still gone.
    const renamed: DoorstepConfig = {
      ...w.config,
      schools: w.without().schools.map((s) => (s.id === 'lime' ? { ...s, id: 'lime-hills' } : s)),
    };
    const found = (await alarmsTextedAbout(w.db, alarmReach(renamed, 'lime-hills'), new Date(0))).map(
      (a) => a.id,
    );
    expect(found).toContain(orphaned);
    expect(found).not.toContain(thames);
  });
});
