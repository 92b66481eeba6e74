import { beforeAll, describe, expect, it } from 'vitest';
import { openAlarmsOfVisit } from '../../../src/store/alarm-state.ts';
import type { User } from '../../../src/store/users.ts';
import { requestVisit } from '../../../src/visits/request.ts';
import { askForHelp, returnVisit } from '../../../src/visits/while-out.ts';
import { visitWorld } from '../../helpers/visit-world.ts';
import { departTold } from '../../helpers/visits.ts';
import { addUser, sessionFor } from '../../helpers/web.ts';

/**
 * The partner's phone said "Your alarm is with the office" for the lead's "I need help": the banner
 * now names whose alarm it is, from who pressed it (the visit's `alarms[].pressedBy`).
 */
type Alarm = {
  type: string;
  status: string;
  fromDevice: boolean;
  onlyOnBoard?: boolean;
  pressedBy?: { me: boolean; name: string | null };
};
const words = (await import(new URL('../../../web/assets/visit-words.js', import.meta.url).href)) as {
  outBannerLines: (alarms: Alarm[], o?: { self?: boolean }) => string[];
};

let now = new Date('2026-11-23T10:00:00Z');
const w = visitWorld('whose_alarm', () => now);
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

const alarmsSeenBy = async (who: User, id: string): Promise<Alarm[]> => {
  const s = await sessionFor(w.db, who);
  const r = await w.app.inject({ method: 'GET', url: `/api/visits/${id}`, headers: { cookie: s.cookie } });
  expect(r.statusCode, r.body).toBe(200);
  return r.json().alarms;
};

describe('"I need help" on the phone of the other worker on the visit', () => {
  it('names whose alarm it is: the partner never reads the lead’s alarm as "your alarm"', async () => {
    const id = await requestVisit(w.vdeps, lead, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'welfare',
    });
    await departTold(w.vdeps, lead, id, {
      expectedReturnAt: new Date('2026-11-23T12:00:00Z'),
      partnerUserId: partner.id,
      risksRead: true,
    });
    now = new Date('2026-11-23T10:30:00Z');
    await askForHelp(w.vdeps, lead, id, null, 'whose-1');

    const partners = await alarmsSeenBy(partner, id);
    expect(partners).toEqual([
      expect.objectContaining({ type: 'sos', pressedBy: { me: false, name: 'Sam Lead' } }),
    ]);
    const [theirs] = words.outBannerLines(partners);
    expect(theirs).toMatch(/^Sam Lead’s alarm is /);
    expect(theirs).not.toMatch(/your alarm/i);

    const leads = await alarmsSeenBy(lead, id);
    expect(leads[0]!.pressedBy).toEqual({ me: true, name: 'Sam Lead' });
    expect(words.outBannerLines(leads)[0]).toMatch(/^Your alarm is /);
    // The office's page says help was asked for from the visit, as before.
    expect((await alarmsSeenBy(office, id))[0]!.pressedBy).toEqual({ me: false, name: 'Sam Lead' });

    // Who pressed it is read with the visit's open alarms, in the one query; the user id never
    // reaches the page, only whether it was this person and their name.
    expect(await openAlarmsOfVisit(w.db, id)).toEqual([
      expect.objectContaining({ type: 'sos', pressedByUserId: lead.id }),
    ]);
    expect(JSON.stringify(partners)).not.toMatch(/pressedByUserId/);

    // Both pressed: both named, from either phone.
    await askForHelp(w.vdeps, partner, id, null, 'whose-2');
    expect(words.outBannerLines(await alarmsSeenBy(partner, id))[0]).toMatch(
      /^The alarms from you and Sam Lead are on the office’s screen/,
    );
    await returnVisit(w.vdeps, lead, id);
  });
});

describe('whose alarm, in the banner’s words', () => {
  const sos = (extra: Partial<Alarm> = {}): Alarm => ({
    type: 'sos',
    status: 'open',
    fromDevice: false,
    ...extra,
  });
  const theirs = { me: false, name: 'Sam Lead' };
  it('says whose alarm the office has taken, and whose only the board knows of', () => {
    expect(words.outBannerLines([sos({ status: 'acknowledged', pressedBy: theirs })])).toEqual([
      'The office has taken Sam Lead’s alarm and is dealing with it. If you are in danger now, call 999.',
    ]);
    expect(words.outBannerLines([sos({ onlyOnBoard: true, pressedBy: theirs })])[0]).toMatch(
      /^Sam Lead’s alarm is on the office’s screen, and no one has been messaged yet/,
    );
    // The name not known (no longer a user of the school): still never "your alarm".
    expect(words.outBannerLines([sos({ pressedBy: { me: false, name: null } })])[0]).toMatch(
      /^The other worker’s alarm is with the office/,
    );
    expect(
      words.outBannerLines([sos({ pressedBy: theirs }), sos({ pressedBy: { me: true, name: 'Kim' } })]),
    ).toEqual([
      'The alarms from you and Sam Lead are with the office and are passed on until someone takes them. If you are in danger now, call 999.',
    ]);
    // Said without who pressed it (an older server): the worker's own, as before.
    expect(words.outBannerLines([sos()])[0]).toMatch(/^Your alarm is with the office/);
  });
});
