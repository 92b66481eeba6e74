import { beforeAll, describe, expect, it } from 'vitest';
import { RETENTION_DEFAULTS } from '../../src/config/sections/retention.ts';
import { RESUME_WATCH_MINUTES } from '../../src/domain/visits/lifecycle.ts';
import { isDoorstepError } from '../../src/errors.ts';
import { purgeSchool, type RetentionPlan } from '../../src/store/retention.ts';
import { erasePupil, erasePupilAudited } from '../../src/store/subject-erase.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { resumeWatch } from '../../src/visits/resume-watch.ts';
import { askForHelp, returnVisit } from '../../src/visits/while-out.ts';
import { visitWorld } from '../helpers/visit-world.ts';
import { departTold } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Found by review: erasure (a data-protection request, and the nightly leavers' erasure that calls
 * it) refused only while a visit to the pupil was out, so it deleted a visit said back safe minutes
 * before — while that back safe could still be undone (RESUME_WATCH_MINUTES, lifecycle.ts): the
 * partner's "both back safe" with the lead still at the door. The lead's "I am still out" and "I need
 * help" then found no visit (404), and nothing watched them again. The `visits` purge did the same
 * when `visitDays` is 0. Now a visit back safe less than RESUME_WATCH_MINUTES ago is kept: the
 * erasure refuses, the purges pass over it until a later night.
 */

let now = new Date('2026-11-23T10:00:00Z');
const w = visitWorld('erase_recent_back', () => now);
let lead: User;
let partner: User;
const WINDOW = RESUME_WATCH_MINUTES * 60_000;

beforeAll(async () => {
  lead = await addUser(w.db, 'lead', ['visiting-staff'], { phone: '+447700900111' });
  partner = await addUser(w.db, 'partner', ['visiting-staff']);
});

/** A Hampton pupil `misId` (a leaver since 2020 when `left`). */
async function pupil(misId: string, left = false): Promise<void> {
  await w.db.query(
    `INSERT INTO pupils (school_id, mis_id, forename, surname, address, left_on) VALUES ('hampton', $1, 'Iona', 'Pell', $2, $3)`,
    [
      misId,
      JSON.stringify({ line1: '3 Quarry Row', town: 'Leeds', postcode: 'LS6 2QT' }),
      left ? '2020-01-01' : null,
    ],
  );
}

/**
 * A visit to `misId` on `day` leaving at 10:00 with the lead and partner; at 10:30 the partner says
 * "both back safe" while the lead is still at the door. Returns the visit and the back safe's time.
 */
async function backSafeByMistake(misId: string, day: string): Promise<{ id: string; backAt: Date }> {
  now = new Date(`${day}T10:00:00Z`);
  const id = await requestVisit(w.vdeps, lead, { schoolId: 'hampton', pupilMisId: misId, reason: 'welfare' });
  await departTold(w.vdeps, lead, id, {
    expectedReturnAt: new Date(`${day}T12:00:00Z`),
    partnerUserId: partner.id,
    risksRead: true,
  });
  const backAt = new Date(`${day}T10:30:00Z`);
  now = backAt;
  await returnVisit(w.vdeps, partner, id);
  return { id, backAt };
}

const outcome = <T>(p: Promise<T>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (isDoorstepError(e) ? `${e.code}: ${e.message}` : String(e)),
  );

/** The lead, still out, says so: watched again until `back`, then back safe themselves. */
async function leadStillOut(id: string, back: Date): Promise<string> {
  const r = await outcome(resumeWatch(w.vdeps, lead, id, back));
  if (r === 'ok') await returnVisit(w.vdeps, lead, id);
  return r;
}

function plan(periods: Partial<RetentionPlan['periods']> = {}): RetentionPlan {
  return {
    schoolId: 'hampton',
    now,
    periods: { ...RETENTION_DEFAULTS, ...periods },
    trustAuditDetailDays: RETENTION_DEFAULTS.auditDetailDays,
    batchSize: 20,
    maxRowsPerRun: 100_000,
  };
}

const onRoll = async (misId: string) =>
  (await w.db.query(`SELECT 1 FROM pupils WHERE school_id = 'hampton' AND mis_id = $1`, [misId])).rows.length;

describe('erasing a pupil within the "I am still out" window', () => {
  it('refuses while the back safe can still be undone: the lead, still at the door, is watched again and can ask for help', async () => {
    const { id } = await backSafeByMistake('P1', '2026-11-23');
    now = new Date('2026-11-23T10:40:00Z');
    const err = await w.db.transaction((tx) => erasePupil(tx, 'hampton', 'P1', now)).catch((e: unknown) => e);
    expect(isDoorstepError(err, 'CONFLICT')).toBe(true);
    expect((err as Error).message).toBe(
      `this pupil has a visit back safe less than 12 h ago (visit ${id}): not erased while that back safe can still be undone ("I am still out": the worker may still be out) — erase again from 2026-11-23 22:30`,
    );
    // Never the pupil's id (a CTF school's is the UPN): the leavers' erasure's failures reach logs.
    expect((err as Error).message).not.toContain('P1');
    expect(await getVisit(w.db, id)).toBeDefined();
    now = new Date('2026-11-23T10:45:00Z');
    expect(await outcome(askForHelp(w.vdeps, lead, id, null))).toBe('ok');
    expect(await outcome(resumeWatch(w.vdeps, lead, id, new Date('2026-11-23T11:30:00Z')))).toBe('ok');
    // Nor while they are out again.
    await expect(erasePupilAudited(w.db, 'hampton', 'P1', 'user:admin', now)).rejects.toThrow(
      /^this pupil has a visit out now/,
    );
    await returnVisit(w.vdeps, lead, id);
  });

  it("erases from RESUME_WATCH_MINUTES after the back safe, when it can no longer be undone (the caller's clock)", async () => {
    await pupil('P2');
    const { id, backAt } = await backSafeByMistake('P2', '2026-11-24');
    now = new Date(backAt.getTime() + WINDOW - 60_000);
    await expect(erasePupilAudited(w.db, 'hampton', 'P2', 'user:admin', now)).rejects.toThrow(
      /^this pupil has a visit back safe less than 12 h ago/,
    );
    now = new Date(backAt.getTime() + WINDOW);
    expect(await outcome(resumeWatch(w.vdeps, lead, id, null))).toMatch(/more than 12 hours ago/);
    expect(await erasePupilAudited(w.db, 'hampton', 'P2', 'user:admin', now)).toMatchObject({
      visits: 1,
      pupils: 1,
    });
    expect(await getVisit(w.db, id)).toBeUndefined();
  });
});

describe('retention within the "I am still out" window', () => {
  it("the leavers' erasure passes over a leaver whose visit was back safe minutes ago, and erases them a later night", async () => {
    await pupil('L1', true);
    const { id, backAt } = await backSafeByMistake('L1', '2026-11-25');
    now = new Date('2026-11-25T10:40:00Z');
    const first = await purgeSchool(w.db, plan());
    expect(first.removed['leavers-erased']).toBeUndefined();
    expect(await onRoll('L1')).toBe(1);
    expect(await leadStillOut(id, new Date('2026-11-25T11:30:00Z'))).toBe('ok');
    // The lead's own back safe at 10:40: erased once that is RESUME_WATCH_MINUTES old.
    now = new Date(backAt.getTime() + WINDOW);
    expect((await purgeSchool(w.db, plan())).removed['leavers-erased']).toBeUndefined();
    now = new Date('2026-11-26T02:00:00Z');
    expect((await purgeSchool(w.db, plan())).removed['leavers-erased']).toBe(1);
    expect(await onRoll('L1')).toBe(0);
    expect(await getVisit(w.db, id)).toBeUndefined();
  });

  it('the visits purge with visitDays 0 passes over a visit back safe minutes ago, and removes it a later night', async () => {
    await pupil('P3');
    const { id } = await backSafeByMistake('P3', '2026-11-27');
    // Recorded as completed, child seen (nothing left to follow up): due at once under visitDays 0.
    await w.db.query(
      `UPDATE visits SET status = 'completed', outcome = '{"childSeen": true}', updated_at = '2026-11-27T10:35:00Z' WHERE id = $1`,
      [id],
    );
    now = new Date('2026-11-27T10:40:00Z');
    expect((await purgeSchool(w.db, plan({ visitDays: 0 }))).removed.visits).toBeUndefined();
    expect(await getVisit(w.db, id)).toBeDefined();
    now = new Date('2026-11-28T02:00:00Z');
    expect((await purgeSchool(w.db, plan({ visitDays: 0 }))).removed.visits).toBe(1);
    expect(await getVisit(w.db, id)).toBeUndefined();
  });
});
