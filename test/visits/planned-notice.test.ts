import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { setAppointment } from '../../src/visits/appointment.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { changeVisitDate } from '../../src/visits/reschedule.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Hampton's family support worker: "This will be planned along with the head of school as safeguard
 * lead … the office staff and head of school have been informed about the home visit date and time."
 * Hampton asks for no authorisation, so nobody else hears of a visit asked for unless the school
 * names people in `notices.planned`: they hear of each visit asked for, and of a new day or time
 * before it leaves — initials only, never the reason or the address.
 */
const schema = uniqueName('planned');
const prefix = uniqueName('planned');
const config = visitSchoolsConfig('    notices: { planned: ["email:head-of-school", "email:office"] }');
const now = new Date('2026-11-23T10:00:00Z'); // a Monday
let db: Db;
let conn: Redis;
let deps: VisitDeps;
let worker: User;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  const producer = new Producer(catalog, conn, prefix);
  deps = { db, config, rulesFor: visitRulesLookup(config), prefix, now: () => now, producer };
  await addPupils(db, ['hampton']);
  worker = await addUser(db, 'fsw', ['visiting-staff'], { displayName: 'Fran Support' });
});
afterAll(async () => {
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

const noticesOf = async (visitId: string) =>
  (
    await db.query<{ id: string; kind: string; target: string; subject: string; text: string }>(
      `SELECT id, kind, target, subject, text FROM notices WHERE visit_id = $1 AND kind = 'visit-planned' ORDER BY id`,
      [visitId],
    )
  ).rows;

describe('Hampton: the head of school and the office hear of a visit planned, with its date and time', () => {
  it('a visit asked for (no authorisation needed) tells both at once, with the day, initials only, and queues the send', async () => {
    const id = await requestVisit(deps, worker, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'Mum struggling since the new baby',
      plannedFor: '2026-11-24',
    });
    const told = await noticesOf(id);
    expect(told.map((n) => n.target)).toEqual(['email:head-of-school', 'email:office']);
    const text = told[0]!.text;
    expect(text).toBe(
      `Home visit #${id} (pupil A.O.) is planned for Tuesday 24 November (2026-11-24), no time set yet: asked for by Fran Support. Going: Fran Support. Open the visit in Doorstep.`,
    );
    for (const words of ['Okonkwo', 'Amelia', 'baby', 'Rosebank']) expect(text).not.toContain(words);
    const job = await (deps.producer as Producer<typeof catalog>)
      .queueFor('send-notice')
      .getJob(`send-notice-${told[0]!.id}`);
    expect(job?.data).toEqual({ noticeId: told[0]!.id });
  });

  it('its time, when set or changed, and a new day are told too', async () => {
    const id = await requestVisit(deps, worker, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'induction visit',
      plannedFor: '2026-11-24',
      appointmentTime: '14:00',
    });
    expect((await noticesOf(id)).map((n) => n.text)).toEqual([
      expect.stringContaining('is planned for Tuesday 24 November (2026-11-24), at 14:00'),
      expect.stringContaining('at 14:00'),
    ]);
    await setAppointment(deps, worker, id, { time: '15:30' });
    await changeVisitDate(deps, worker, id, '2026-11-25');
    const texts = (await noticesOf(id)).filter((n) => n.target === 'email:head-of-school').map((n) => n.text);
    expect(texts.slice(1)).toEqual([
      `Home visit #${id} (pupil A.O.) on Tuesday 24 November (2026-11-24): its time was changed from 14:00 to 15:30, by Fran Support. Going: Fran Support. Open the visit in Doorstep.`,
      `Home visit #${id} (pupil A.O.) was moved from 2026-11-24 to Wednesday 25 November (2026-11-25), at 15:30, by Fran Support. Going: Fran Support. Open the visit in Doorstep.`,
    ]);
    // Setting the time it already has tells no one again.
    await setAppointment(deps, worker, id, { time: '15:30' });
    expect(await noticesOf(id)).toHaveLength(6);
  });

  it('a school that names no one tells no one', async () => {
    const bare = visitSchoolsConfig();
    const id = await requestVisit({ ...deps, config: bare, rulesFor: visitRulesLookup(bare) }, worker, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'induction visit',
      plannedFor: '2026-11-24',
    });
    expect(await noticesOf(id)).toEqual([]);
  });
});
