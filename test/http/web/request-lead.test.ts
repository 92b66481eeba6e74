import { describe, expect, it } from 'vitest';
import { getVisit } from '../../../src/store/visits.ts';
import { visitWorld } from '../../helpers/visit-world.ts';
import { addUser, sessionFor } from '../../helpers/web.ts';

/**
 * The newcomer walk: asking for a visit made a visiting-staff requester its lead, with no way to hand
 * it over, and the board's request form had no say in it. The form asks "Who will go": me, or leave
 * it for anyone — which sends leadUserId null, and the visit is asked for with nobody leading it yet
 * (whoever goes takes it when they leave).
 */
const now = new Date('2026-11-23T09:00:00Z');
const w = visitWorld('req_lead', () => now);

async function ask(who: { cookie: string; csrf: string }, extra: object) {
  return w.app.inject({
    method: 'POST',
    url: '/api/visits',
    headers: { cookie: who.cookie, 'x-csrf-token': who.csrf },
    payload: { school: 'hampton', pupilMisId: 'P1', reason: 'welfare', riskLevel: 'low', ...extra },
  });
}

describe('who leads a visit asked for by visiting staff', () => {
  it('they do unless they leave it for anyone; then nobody leads it until someone goes', async () => {
    const asker = await addUser(w.db, 'attendance.officer', ['visiting-staff', 'safeguarding']);
    const s = await sessionFor(w.db, asker);
    const mine = await ask(s, {});
    expect(mine.statusCode, mine.body).toBe(201);
    expect((await getVisit(w.db, mine.json().id))!.leadUserId).toBe(asker.id);

    const anyone = await ask(s, { leadUserId: null });
    expect(anyone.statusCode, anyone.body).toBe(201);
    const v = (await getVisit(w.db, anyone.json().id))!;
    expect(v.leadUserId).toBeNull();
    expect(v.requestedBy).toBe(asker.id);
    // Another member of the visiting staff may open it (and take it when they leave).
    const colleague = await sessionFor(w.db, await addUser(w.db, 'colleague', ['visiting-staff']));
    const seen = await w.app.inject({
      url: `/api/visits/${v.id}`,
      headers: { cookie: colleague.cookie },
    });
    expect(seen.statusCode, seen.body).toBe(200);
  });

  it('names nobody else as lead through the request', async () => {
    const s = await sessionFor(w.db, await addUser(w.db, 'asker2', ['visiting-staff']));
    const other = await addUser(w.db, 'other2', ['visiting-staff']);
    const r = await ask(s, { leadUserId: other.id });
    expect(r.statusCode).toBe(400);
    expect(r.json().message).toMatch(/^leadUserId: expected null/);
  });
});
