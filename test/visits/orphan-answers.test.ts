import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escalate } from '../../jobs/escalate.ts';
import { stepSendsSettled } from '../../jobs/notify.ts';
import { handleCallKeypress, handleCallStatus } from '../../src/alarms/call-answers.ts';
import { handleDeliveryReport } from '../../src/alarms/delivery-fallback.ts';
import { handleSmsReply } from '../../src/alarms/sms-replies.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { alarmReach } from '../../src/config/school-of.ts';
import { recipientKey } from '../../src/notify/http-channels.ts';
import { placedCallRecipient } from '../../src/store/call-answers.ts';
import { recordDeliveryReport, recordRecipientReceipt } from '../../src/store/notify.ts';
import type { User } from '../../src/store/users.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { resumeWatch } from '../../src/visits/resume-watch.ts';
import { askForHelp, returnVisit } from '../../src/visits/while-out.ts';
import { startFakeTwilio } from '../helpers/fake-twilio.ts';
import { visitWorld, WATCH_RUN } from '../helpers/visit-world.ts';
import { departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser, buildWebApp, sessionFor } from '../helpers/web.ts';

/**
 * An alarm open at Hampton, then Hampton taken out of the config: its messages go out through the
 * trust's `orphansTo` school (here the first, Lime Hills) — texts from Lime's number with codes of
 * Lime's token, calls from Lime's, pushes to Lime's office. The answers come back on Lime's routes,
 * and must find the alarm there (and only there): a reply's code, a call's keypress, the provider's
 * delivery reports. Lime's board holds the alarm, with the pupil by initials only; the other boards
 * of the people who may see Lime count it as Lime's. The lead still at the door after the partner's
 * back safe can say "I am still out".
 */
let now = new Date('2026-11-23T10:00:00Z');
const w = visitWorld('orphan_answers', () => now);
const texts: { to: string; body: string; sid: string }[] = [];
let twilio: Server;
let lead: User;
let partner: User;
let limeAndThames: User;
let visitId = '';
let sent = 0;
const LIME_HEAD = '+447700900501';
const LIME_AND_THAMES = '+447700900504';

/** Every school texts its own on-call leaders on an SOS: Lime Hills' and Hampton's are different people. */
function withSms(url: string): DoorstepConfig {
  const base = visitSchoolsConfig(
    `    channels:
      sms: { baseUrl: "${url}", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
    escalation:
      sos:
        levels:
          - { afterMinutes: 0, notify: [board, sms:on-call-leaders] }
`,
    { SMS_TOKEN: 'tok' },
  );
  const phone = { lime: LIME_HEAD, hampton: '+447700900503' } as Record<string, string>;
  return {
    ...base,
    schools: base.schools.map((s) =>
      phone[s.id]
        ? { ...s, contacts: { ...s.contacts, 'on-call-leaders': [{ name: 'Head', phone: phone[s.id] }] } }
        : s,
    ),
  };
}

/** The config after the restart: Hampton gone. */
const without = (): DoorstepConfig => ({
  ...w.config,
  schools: w.config.schools.filter((s) => s.id !== 'hampton'),
});
const school = (config: DoorstepConfig, id: string) => config.schools.find((s) => s.id === id)!;
const statusOf = async (id: string) =>
  (await w.db.query<{ status: string }>('SELECT status FROM alarms WHERE id = $1', [id])).rows[0]!.status;

/** "I need help" on the Hampton visit, pressed a minute after the last press (each its own alarm). */
async function help(): Promise<string> {
  now = new Date(now.getTime() + 60_000);
  return askForHelp(w.vdeps, lead, visitId, null);
}

/** "I need help" on the Hampton visit, its first level run with Hampton gone: the alarm and its text. */
async function orphanedAlarm(): Promise<{ alarmId: string; code: string; sid: string }> {
  const alarmId = await help();
  texts.length = 0;
  await escalate({ alarmId, step: 0 }, { ...WATCH_RUN, name: 'escalate' }, { ...w.jdeps, config: without() });
  await stepSendsSettled(30_000);
  expect(texts.map((t) => t.to)).toEqual([LIME_HEAD]);
  const code = /Reply 1 (\d{4})/.exec(texts[0]!.body)?.[1];
  if (!code) throw new Error(`expected a code in ${texts[0]!.body}`);
  return { alarmId, code, sid: texts[0]!.sid };
}

beforeAll(async () => {
  const fake = await startFakeTwilio({
    token: 'tok',
    handle: ({ to, form }, answer) => {
      sent++;
      const sid = `SM${String(sent).padStart(32, '0')}`;
      texts.push({ to, body: form.get('Body') ?? '', sid });
      answer(201, { sid });
    },
  });
  twilio = fake.server;
  w.config = withSms(fake.url);
  w.vdeps = { ...w.vdeps, config: w.config, rulesFor: visitRulesLookup(w.config) };
  w.jdeps = { ...w.jdeps, config: w.config };
  lead = await addUser(w.db, 'lead', ['visiting-staff'], { phone: '+447700900111', displayName: 'Sam Lead' });
  partner = await addUser(w.db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  await addUser(w.db, 'lime-head', ['office'], { phone: LIME_HEAD, schools: ['lime'] });
  limeAndThames = await addUser(w.db, 'lime-thames-office', ['office'], {
    phone: LIME_AND_THAMES,
    schools: ['lime', 'thames'],
  });
  visitId = await requestVisit(w.vdeps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
  await departTold(w.vdeps, lead, visitId, {
    expectedReturnAt: new Date('2026-11-23T12:00:00Z'),
    partnerUserId: partner.id,
    risksRead: true,
  });
});
afterAll(() => {
  twilio.closeAllConnections();
  twilio.close();
});

describe('the answers to an orphaned alarm’s messages, on the orphansTo school’s routes', () => {
  it('an SMS reply "1 <code>" to Lime’s number takes it; to another school’s number the code is none of theirs', async () => {
    const { alarmId, code } = await orphanedAlarm();
    const config = without();
    // Thames is not the orphansTo school: its replies find its own alarms only, exactly as before.
    const atThames = await handleSmsReply(
      { db: w.db, config },
      school(config, 'thames'),
      { messageSid: 'SM-orphan-thames', from: LIME_AND_THAMES, body: `1 ${code}` },
      now,
    );
    expect(atThames.outcome).toBe('no-such-alarm');
    const atLime = await handleSmsReply(
      { db: w.db, config },
      school(config, 'lime'),
      { messageSid: 'SM-orphan-lime', from: LIME_HEAD, body: `1 ${code}` },
      now,
    );
    expect({ outcome: atLime.outcome, alarmId: atLime.alarmId, status: await statusOf(alarmId) }).toEqual({
      outcome: 'taken',
      alarmId,
      status: 'acknowledged',
    });
  });

  it('the provider’s report that its text was undelivered, on Lime’s status route, is found and moves the ladder on', async () => {
    const { alarmId, sid } = await orphanedAlarm();
    const config = without();
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
    const config = without();
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
    const config = without();
    const app = await buildWebApp(config, w.db, {
      prefix: w.prefix,
      producer: w.producer,
      publisher: w.conn,
      now: () => now,
    });
    try {
      const s = await sessionFor(w.db, limeAndThames);
      const lime = await app.inject({
        method: 'GET',
        url: '/api/board?school=lime',
        headers: { cookie: s.cookie },
      });
      const card = (
        lime.json() as { alarms: { id: string; pupilName: string | null; visitAddress: string | null }[] }
      ).alarms.find((a) => a.id === alarmId);
      expect(card).toMatchObject({ pupilName: 'A.O.', visitAddress: expect.stringContaining('Rosebank') });
      const thames = await app.inject({
        method: 'GET',
        url: '/api/board?school=thames',
        headers: { cookie: s.cookie },
      });
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
    const config = without();
    const vdeps = { ...w.vdeps, config, rulesFor: visitRulesLookup(config) };
    await returnVisit(vdeps, partner, visitId);
    const notices = async () =>
      (
        await w.db.query<{ n: number }>('SELECT count(*)::int AS n FROM notices WHERE visit_id = $1', [
          visitId,
        ])
      ).rows[0]!.n;
    const before = await notices();
    const r = await resumeWatch(vdeps, lead, visitId, new Date('2026-11-23T12:00:00Z'));
    expect(r).toMatchObject({ expectedReturnAt: new Date('2026-11-23T12:00:00Z'), overdueNow: false });
    const { rows } = await w.db.query<{ returned_at: Date | null }>(
      'SELECT returned_at FROM visits WHERE id = $1',
      [visitId],
    );
    expect(rows[0]!.returned_at).toBeNull();
    expect(await notices()).toBe(before);
  });
});
