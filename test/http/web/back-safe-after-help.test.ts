import { beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../../../src/store/users.ts';
import { requestVisit } from '../../../src/visits/request.ts';
import { askForHelp, returnVisit } from '../../../src/visits/while-out.ts';
import { visitWorld } from '../../helpers/visit-world.ts';
import { departTold } from '../../helpers/visits.ts';
import { addUser, sessionFor } from '../../helpers/web.ts';

/**
 * Found by a newcomer's walk of the board: "I need help", then "Back safe" from the same phone — the
 * I NEED HELP card stayed as it was, nothing saying the worker had since said they were back. The
 * card now says when (`backSafeSince`), for the office to call them; the alarm stays open for the
 * office to take (a back-safe press may be forced). Not said for the office's own back safe for them.
 */
let now = new Date('2026-11-23T10:00:00Z');
const w = visitWorld('back_safe_help', () => now);
let lead: User;
let partner: User;
let office: User;

beforeAll(async () => {
  lead = await addUser(w.db, 'lead', ['visiting-staff'], { phone: '+447700900111', displayName: 'Sam Lead' });
  partner = await addUser(w.db, 'partner', ['visiting-staff'], {
    phone: '+447700900222',
    displayName: 'Kim Partner',
  });
  office = await addUser(w.db, 'office', ['office'], { displayName: 'Olive Office' });
});

async function visitOut(): Promise<string> {
  now = new Date('2026-11-23T10:00:00Z');
  const id = await requestVisit(w.vdeps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
  await departTold(w.vdeps, lead, id, {
    expectedReturnAt: new Date('2026-11-23T12:00:00Z'),
    partnerUserId: partner.id,
    risksRead: true,
  });
  return id;
}

const helpCardOf = async (visitId: string) => {
  const s = await sessionFor(w.db, office);
  const r = await w.app.inject({ url: '/api/board?school=hampton', headers: { cookie: s.cookie } });
  expect(r.statusCode, r.body).toBe(200);
  return r
    .json()
    .alarms.find((a: { visitId: string | null; fromPhone: boolean }) => a.visitId === visitId && a.fromPhone);
};

describe('"I need help", then back safe', () => {
  it('from the worker’s phone: the card says when, and the alarm stays open for the office', async () => {
    const id = await visitOut();
    now = new Date('2026-11-23T10:30:00Z');
    await askForHelp(w.vdeps, lead, id, null, 'back-safe-1');
    expect(await helpCardOf(id)).toMatchObject({ status: 'open', backSafeSince: null });
    now = new Date('2026-11-23T10:34:00Z');
    await returnVisit(w.vdeps, lead, id);
    expect(await helpCardOf(id)).toMatchObject({
      status: 'open',
      backSafeSince: '2026-11-23T10:34:00.000Z',
    });
  });

  it('said back safe by the office for them: nothing said (the office knows)', async () => {
    const id = await visitOut();
    now = new Date('2026-11-23T10:30:00Z');
    await askForHelp(w.vdeps, lead, id, null, 'back-safe-2');
    now = new Date('2026-11-23T10:34:00Z');
    await returnVisit(w.vdeps, office, id);
    expect(await helpCardOf(id)).toMatchObject({ status: 'open', backSafeSince: null });
  });
});
