import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { londonDate } from '../../src/domain/attendance/dates.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { authoriseVisit, requestVisit } from '../../src/visits/request.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * A visit that waits for authorisation tells the people the school names (Lime Hills: the
 * safeguarding team authorises each visit): once, when asked for, with initials only; a school whose
 * policy asks for no authorisation (Hampton) tells no one.
 */
const schema = uniqueName('awaitauth');
const prefix = uniqueName('awaitauth');
const config = visitSchoolsConfig('    notices: { awaitingAuthorisation: ["email:dsl"] }');
let db: Db;
let conn: Redis;
let deps: VisitDeps;
let office: User;
let dsl: User;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  const producer = new Producer(catalog, conn, prefix);
  deps = { db, config, rulesFor: visitRulesLookup(config), prefix, now: () => new Date(), producer };
  await addPupils(db, ['lime', 'hampton']);
  office = await addUser(db, 'office', ['office']);
  dsl = await addUser(db, 'dsl', ['safeguarding']);
});
afterAll(async () => {
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

const noticesOf = async (visitId: string) =>
  (
    await db.query<{ id: string; kind: string; target: string; text: string }>(
      'SELECT id, kind, target, text FROM notices WHERE visit_id = $1 ORDER BY id',
      [visitId],
    )
  ).rows;

describe('a visit waiting for authorisation', () => {
  it('tells the named people once, with the visit number and initials, and queues the send', async () => {
    const day = londonDate(new Date()); // the real clock here: a visit is asked for today or later
    const id = await requestVisit(deps, office, {
      schoolId: 'lime',
      pupilMisId: 'P1',
      reason: 'Absent three days',
      plannedFor: day,
    });
    const [n, ...more] = await noticesOf(id);
    expect(more).toEqual([]);
    expect(n).toMatchObject({ kind: 'awaiting-authorisation', target: 'email:dsl' });
    expect(n!.text).toBe(
      `Home visit #${id} (pupil A.O.) planned for ${day} waits for authorisation by safeguarding or headteacher. Open the visit in Doorstep to see the evidence and authorise it.`,
    );
    expect(n!.text).not.toContain('Okonkwo');
    expect(n!.text).not.toContain('Absent three days');
    const job = await (deps.producer as Producer<typeof catalog>)
      .queueFor('send-notice')
      .getJob(`send-notice-${n!.id}`);
    expect(job?.data).toEqual({ noticeId: n!.id });

    // Authorising it tells no one again.
    await authoriseVisit(deps, dsl, id, undefined, false, { level: 'low', reason: 'known family' });
    expect(await noticesOf(id)).toHaveLength(1);
  });

  it('a school whose policy needs no authorisation tells no one', async () => {
    const id = await requestVisit(deps, office, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'Check' });
    expect(await noticesOf(id)).toEqual([]);
  });
});
