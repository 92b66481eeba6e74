import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { erasePupilAudited } from '../../src/store/subject-erase.ts';
import type { User } from '../../src/store/users.ts';
import { markDeparted } from '../../src/store/visit-changes.ts';
import { getVisit, lockVisit } from '../../src/store/visits.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, visitSchoolsConfig } from '../helpers/visits.ts';
import { until } from '../helpers/wait.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Found by review: the erasure checked "no visit out" with a plain read, then deleted the pupil's
 * visits. A departure committing in between (departVisit holds the visit's row lock while it writes)
 * was deleted with them: the worker out, and nothing watching them. It now locks the visits first.
 */

const schema = uniqueName('erase_race');
let db: Db;
const now = new Date('2026-11-23T10:00:00Z');
let vdeps: VisitDeps;
let lead: User;

beforeAll(async () => {
  const config = visitSchoolsConfig('');
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  vdeps = { db, config, rulesFor: visitRulesLookup(config), prefix: schema, now: () => now };
  await addPupils(db, ['hampton']);
  lead = await addUser(db, 'lead', ['visiting-staff'], { phone: '+447700900111' });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

describe('erasing a pupil while their visit is leaving', () => {
  it('never deletes a visit whose worker is out (the departure commits while the erase runs)', async () => {
    const id = await requestVisit(vdeps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
    // The departure as departVisit makes it: the visit locked, marked departed, committed once the
    // erasure is waiting on it (seen in pg_locks: no sleeps).
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    let go!: () => void;
    const mayCommit = new Promise<void>((r) => {
      go = r;
    });
    const departure = db.transaction(async (tx) => {
      await lockVisit(tx, id);
      await markDeparted(tx, id, {
        lead: lead.id,
        partner: null,
        at: now,
        estimatedArrivalAt: null,
        expectedReturnAt: new Date(now.getTime() + 60 * 60_000),
        checkInMinutes: null,
        safeWord: null,
        phone: '+447700900111',
        vehicle: null,
        fobDeviceId: null,
      });
      locked();
      await mayCommit;
    });
    await isLocked;
    // Meanwhile an admin erases the pupil (doorstep subject erase): it must refuse, or at least not
    // delete the visit the worker is now out on.
    const erase = erasePupilAudited(db, 'hampton', 'P1', 'user:admin', now).then(
      () => 'erased',
      (e: Error) => `refused: ${e.message}`,
    );
    await until(async () => {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted`,
      );
      return rows[0]!.n > 0;
    });
    go();
    await departure;
    const result = await erase;
    const v = await getVisit(db, id);
    expect({ result, visitStillThere: v !== undefined }).toEqual({
      result: expect.stringMatching(/^refused/),
      visitStillThere: true,
    });
  });
});
