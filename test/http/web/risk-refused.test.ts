import { describe, expect, it } from 'vitest';
import { visitWorld } from '../../helpers/visit-world.ts';
import { addUser, sessionFor } from '../../helpers/web.ts';

/**
 * The newcomer walk: a visit assessed MAJOR at Hampton ("The school will not carry out visits to a
 * home if it is identified that there is an unacceptable level of risk") said "Needed: risk is major:
 * the policy says no visit at this level", and offered the whole "Leaving now" form beside it, with
 * no word of what to do. The visit's answer now says so (`riskRefusal`): the policy's words and what
 * to do instead, for this person — the page shows that in place of the leaving form.
 */
const now = new Date('2026-11-23T09:00:00Z');
const w = visitWorld('risk_refused', () => now);
const HAMPTON_RISK =
  'The school will not carry out visits to a home if it is identified that there is an unacceptable level of risk';

async function as(roles: string[], name: string) {
  const s = await sessionFor(w.db, await addUser(w.db, name, roles as never, { schools: ['hampton'] }));
  return (method: 'GET' | 'POST', url: string, payload?: object) =>
    w.app.inject({
      method,
      url,
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
      ...(payload ? { payload } : {}),
    });
}

describe('a visit the policy refuses at its risk level', () => {
  it('says so, with the policy’s words and what to do instead, in place of leaving', async () => {
    const vic = await as(['visiting-staff'], 'rf.vic');
    const dsl = await as(['safeguarding'], 'rf.dsl');
    const asked = await vic('POST', '/api/visits', {
      school: 'hampton',
      pupilMisId: 'P1',
      reason: 'welfare',
      plannedFor: '2026-11-23',
    });
    expect(asked.statusCode, asked.body).toBe(201);
    const id = asked.json().id as string;
    expect((await vic('GET', `/api/visits/${id}`)).json().riskRefusal).toBeNull();

    const major = await dsl('POST', `/api/visits/${id}/assess-risk`, {
      level: 'major',
      reason: 'history of aggression towards staff',
    });
    expect(major.statusCode, major.body).toBe(200);
    const lead = (await vic('GET', `/api/visits/${id}`)).json();
    expect(lead.findings).toContainEqual({
      level: 'block',
      rule: 'risk',
      message: 'risk is major: the policy says no visit at this level',
    });
    expect(lead.riskRefusal).toEqual({
      level: 'major',
      raisedByFlag: false,
      policy: HAMPTON_RISK,
      steps: [
        "Do not go: the school's policy says no home visit at a MAJOR risk.",
        'If the risk has changed, ask safeguarding to reassess it.',
        'Refer it to the safeguarding team (the DSL): they decide what is done instead of a home visit.',
        'Then cancel this visit below, giving the reason.',
      ],
    });
    // The assessor is told to reassess it on the page.
    expect((await dsl('GET', `/api/visits/${id}`)).json().riskRefusal.steps[1]).toBe(
      'If the risk has changed, reassess it above.',
    );
  });

  it('raised by an address flag: says the flag raised it, and how it goes', async () => {
    const vic = await as(['visiting-staff'], 'rf.vic2');
    const dsl = await as(['safeguarding'], 'rf.dsl2');
    const asked = await vic('POST', '/api/visits', {
      school: 'hampton',
      pupilMisId: 'P1',
      reason: 'welfare',
      plannedFor: '2026-11-23',
    });
    const id = asked.json().id as string;
    const flag = await dsl('POST', '/api/address-flags', {
      school: 'hampton',
      postcode: 'LS6 2QT',
      line1: '14 Rosebank Terrace',
      level: 'dangerous',
      note: 'Dog on the premises',
    });
    expect(flag.statusCode, flag.body).toBe(201);
    const seen = (await vic('GET', `/api/visits/${id}`)).json();
    expect(seen.riskRefusal).toMatchObject({ level: 'major', raisedByFlag: true });
    expect(seen.riskRefusal.steps[1]).toBe(
      'The address flag raised the risk to MAJOR (assessed LOW): if the flag no longer holds, safeguarding removes it, saying why.',
    );
  });
});
