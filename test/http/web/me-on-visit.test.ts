import { describe, expect, it } from 'vitest';
import { createSession } from '../../../src/store/users.ts';
import { requestVisit } from '../../../src/visits/request.ts';
import { returnVisit } from '../../../src/visits/while-out.ts';
import { visitWorld } from '../../helpers/visit-world.ts';
import { departTold } from '../../helpers/visits.ts';
import { addUser } from '../../helpers/web.ts';

/**
 * The newcomer walk: "Sign out" while out on a visit took "I need help" off the phone without a
 * word. /api/me says when a visit of the person holds their session (out, or back safe less than an
 * hour: "I need help" stays open that long), and the page asks "Sign out anyway?" then.
 */
let now = new Date('2026-11-23T09:00:00Z');
const w = visitWorld('me_visit', () => now);

const me = async (token: string) =>
  (await w.app.inject({ url: '/api/me', headers: { cookie: `doorstep_session=${token}` } })).json();

describe('/api/me while out on a visit', () => {
  it('says so from leaving until an hour after back safe, for the people on it only', async () => {
    now = new Date('2026-11-23T09:00:00Z');
    const lead = await addUser(w.db, 'out-lead', ['visiting-staff'], { phone: '+447700900111' });
    const partner = await addUser(w.db, 'out-partner', ['visiting-staff'], { phone: '+447700900222' });
    const other = await addUser(w.db, 'out-other', ['visiting-staff']);
    const s = await createSession(w.db, lead.id, 12 * 3_600_000, now);
    const o = await createSession(w.db, other.id, 12 * 3_600_000, now);
    expect((await me(s.token)).onVisit).toBe(false);
    const id = await requestVisit(w.vdeps, lead, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'welfare',
    });
    await departTold(w.vdeps, lead, id, {
      expectedReturnAt: new Date('2026-11-23T10:30:00Z'),
      partnerUserId: partner.id,
      risksRead: true,
    });
    now = new Date('2026-11-23T09:10:00Z');
    expect((await me(s.token)).onVisit).toBe(true);
    expect((await me(o.token)).onVisit).toBe(false);
    await returnVisit(w.vdeps, lead, id);
    now = new Date('2026-11-23T09:40:00Z');
    expect((await me(s.token)).onVisit).toBe(true);
    now = new Date('2026-11-23T10:20:00Z');
    expect((await me(s.token)).onVisit).toBe(false);
  });
});
