import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { raceBehindLock } from '../helpers/races.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Found by review: two people asking for a visit from one trigger at once both got one. The trigger
 * row was locked, but the "has it a visit" check was a sub-query of the locking statement, read with
 * the snapshot taken before the lock wait: both saw "no visit yet". The check is now a statement of
 * its own after the lock (episodeForVisit, openVisitTriggerOf).
 */
const schema = uniqueName('trig_race');
let db: Db;
const now = new Date();
let vdeps: VisitDeps;
let a: User;
let b: User;

async function trigger(): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
     VALUES ('hampton', 'P1', $1, 'Ten days absent', 'home-visit', 'attendance-coordinator', 'open', '2026-11-20', 'absent', '{}')
     RETURNING id`,
    [`hampton:race-${Math.random()}`],
  );
  return String(rows[0]!.id);
}

/** Runs both requests while the trigger row is held, so both wait on its lock; then lets go. */
function atOnce(episodeId: string, req: (u: User) => Promise<string>) {
  return raceBehindLock(
    db,
    (tx) => tx.query('SELECT id FROM trigger_episodes WHERE id = $1 FOR UPDATE', [episodeId]),
    () => [req(a), req(b)],
    { like: ['%trigger_episodes%FOR UPDATE%'] },
  );
}

beforeAll(async () => {
  const config = visitSchoolsConfig('');
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  vdeps = { db, config, rulesFor: visitRulesLookup(config), prefix: schema, now: () => now };
  await addPupils(db, ['hampton']);
  a = await addUser(db, 'alex', ['visiting-staff'], { schools: ['hampton'] });
  b = await addUser(db, 'bea', ['visiting-staff'], { schools: ['hampton'] });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

const visitsOf = async (episodeId: string) =>
  (
    await db.query<{ id: string }>(
      `SELECT id FROM visits WHERE trigger_episode_id = $1 AND status <> 'cancelled'`,
      [episodeId],
    )
  ).rows.length;

describe('two visits asked for one trigger at once', () => {
  it('from its card: the second is refused (409), never a second visit of the trigger', async () => {
    const t = await trigger();
    const r = await atOnce(t, (u) =>
      requestVisit(vdeps, u, { schoolId: 'hampton', triggerEpisodeId: t, reason: 'welfare' }),
    );
    expect(r.map((x) => x.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(await visitsOf(t)).toBe(1);
  });

  it('by hand for the pupil: only one of them becomes the trigger visit', async () => {
    await db.query(`UPDATE trigger_episodes SET status = 'closed', closed_on = '2026-11-21'`);
    const t = await trigger();
    await atOnce(t, (u) =>
      requestVisit(vdeps, u, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' }),
    );
    expect(await visitsOf(t)).toBe(1);
  });
});
