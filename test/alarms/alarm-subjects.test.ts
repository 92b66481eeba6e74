import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { londonClock, londonDate } from '../../src/domain/attendance/dates.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { alarmSubjects, isAlarmSubject } from '../../src/store/alarm-lookups.ts';
import { boardState } from '../../src/store/board-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { returnVisit } from '../../src/visits/while-out.ts';
import { fobEvent } from '../helpers/fob.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Who a fob alarm is about from the moment it is raised — before the visit watcher ties it to the
 * wearer's visit (every 15 s), when the first page has already gone: the wearer, the partner on the
 * visit out, the contact number recorded for it; or the visit that took the device. No alarm
 * notification goes to them and they may not take the alarm (src/notify/alarm-recipients.ts).
 */
const schema = uniqueName('subjects');
const prefix = uniqueName('subjects');
const SCHOOL = 'thames';
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let config: DoorstepConfig;
let vdeps: VisitDeps;
let wearer: User;
let partner: User;
let office: User;
let n = 0;

async function raise(deviceId = 'PS-0001'): Promise<string> {
  n++;
  const r = await ingestFobEvent(
    { db, producer, publisher: conn, prefix },
    config.schools.find((s) => s.id === SCHOOL)!,
    fobEvent(`subj-${n}`, { type: 'duress', deviceId }),
    { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
  );
  return (r as { alarmId: string }).alarmId;
}

async function out(lead: User, o: { phone?: string; fobDeviceId?: string } = {}): Promise<string> {
  const id = await requestVisit(vdeps, lead, {
    schoolId: SCHOOL,
    pupilMisId: 'P1',
    reason: 'welfare',
    // Thames View 2.6: the appointment made (for this minute).
    appointmentTime: londonClock(vdeps.now()),
  });
  await db.query(
    `UPDATE visits SET status = 'authorised', risk_assessed_at = now(), risk_assessed_by = 'user:sbm' WHERE id = $1`,
    [id],
  );
  await departTold(vdeps, lead, id, {
    expectedReturnAt: new Date(Date.now() + 60 * 60_000),
    partnerUserId: partner.id,
    risksRead: true,
    onFoot: true,
    checkInMinutes: 20,
    ...(o.phone ? { phone: o.phone } : {}),
  });
  if (o.fobDeviceId)
    await db.query('UPDATE visits SET fob_device_id = $2 WHERE id = $1', [id, o.fobDeviceId]);
  return id;
}

beforeAll(async () => {
  config = visitSchoolsConfig(`    fobs:
      devices: [{ deviceId: PS-0001, staffId: staff-7 }]
`);
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  vdeps = { db, config, rulesFor: visitRulesLookup(config), prefix, now: () => new Date(), publisher: conn };
  await addPupils(db, [SCHOOL]);
  wearer = await addUser(db, 'wearer', ['visiting-staff'], { phone: '+447700900111', staffId: 'staff-7' });
  partner = await addUser(db, 'partner', ['visiting-staff', 'safeguarding'], { phone: '+447700900222' });
  office = await addUser(db, 'office', ['office'], { phone: '+447700900333' });
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

describe('who a fob alarm is about, from its raise', () => {
  it('the wearer, the partner on their visit out and its contact number — before the watcher ties the alarm to the visit', async () => {
    const visit = await out(wearer, { phone: '07700 900444' });
    const id = await raise();
    const { rows } = await db.query<{ visit_id: string | null }>(
      'SELECT visit_id FROM alarms WHERE id = $1',
      [id],
    );
    expect(rows[0]!.visit_id).toBeNull();
    const s = await alarmSubjects(db, id);
    // The number given when leaving is kept as the providers take it (E.164).
    expect(new Set(s.phones)).toEqual(new Set(['+447700900111', '+447700900222', '+447700900444']));
    expect(new Set(s.userIds)).toEqual(new Set([wearer.id, partner.id]));
    expect(await isAlarmSubject(db, id, partner)).toBe(true);
    expect(await isAlarmSubject(db, id, office)).toBe(false);
    // The office's board shows where they are and who is with them from the first read, not only
    // once the watcher has tied the alarm to the visit.
    const now = new Date();
    const board = await boardState(db, SCHOOL, londonDate(now), now, vdeps.rulesFor(SCHOOL));
    expect(board.alarms.find((a) => a.id === id)).toMatchObject({
      visitId: visit,
      visitAddress: expect.stringMatching(/\S/),
      partnerName: expect.any(String),
      partnerPhone: '+447700900222',
      staffPhone: '+447700900444',
    });
    // Back: the next alarm is about the wearer alone.
    await returnVisit(vdeps, wearer, visit);
    const later = await raise();
    expect(await alarmSubjects(db, later)).toEqual({
      userIds: [wearer.id],
      phones: ['+447700900111'],
      emails: expect.any(Array),
    });
    expect(await isAlarmSubject(db, later, partner)).toBe(false);
    const after = await boardState(db, SCHOOL, londonDate(now), new Date(), vdeps.rulesFor(SCHOOL));
    expect(after.alarms.find((a) => a.id === later)).toMatchObject({ visitId: null, visitAddress: null });
  });

  it('a device not in the registry: the people of the visit out that took it', async () => {
    const visit = await out(wearer, { fobDeviceId: 'PS-0009' });
    const id = await raise('PS-0009');
    expect(new Set((await alarmSubjects(db, id)).userIds)).toEqual(new Set([wearer.id, partner.id]));
    expect(await isAlarmSubject(db, id, partner)).toBe(true);
    await returnVisit(vdeps, wearer, visit);
  });
});
