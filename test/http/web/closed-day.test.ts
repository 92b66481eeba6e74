import { describe, expect, it } from 'vitest';
import { visitWorld } from '../../helpers/visit-world.ts';
import { visitSchoolsConfig } from '../../helpers/visits.ts';
import { addUser, sessionFor } from '../../helpers/web.ts';

/**
 * The newcomer walk: "Planned for" starts at today, a Saturday went unnoticed, and the family's text
 * then read "a home visit on Saturday 5 December". A person asking for a visit on a day the school's
 * calendar says it is closed (a weekend, the holidays, an INSET day or a closure), or moving one
 * there, is now asked to confirm it (409 naming the field, the day and why) — never refused outright:
 * a visit in the holidays can be meant. Confirmed, the visit page says it by the date.
 */
const now = new Date('2026-12-04T09:00:00Z'); // a Friday
const w = visitWorld('closed_day', () => now);
w.config = visitSchoolsConfig(`    calendar:
      terms: [{ start: 2026-09-01, end: 2026-12-18 }, { start: 2027-01-05, end: 2027-03-31 }]
      closures: [{ from: 2026-12-07, kind: inset, note: Staff training }]
`);

async function office(name: string) {
  const s = await sessionFor(w.db, await addUser(w.db, name, ['office'], { schools: ['hampton'] }));
  return (method: 'GET' | 'POST', url: string, payload?: object) =>
    w.app.inject({
      method,
      url,
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
      ...(payload ? { payload } : {}),
    });
}
/** As the request forms send it: asking to be told of a day the school is closed. */
const ask = { school: 'hampton', pupilMisId: 'P1', reason: 'welfare', closedDayConfirmed: false };

describe('a visit planned for a day the school is closed', () => {
  it('is asked to be confirmed, naming the day and why; confirmed, it is planned and said so', async () => {
    const call = await office('cd.office1');
    const count = async () => (await w.db.query(`SELECT 1 FROM visits`)).rows.length;
    const before = await count();
    const saturday = await call('POST', '/api/visits', { ...ask, plannedFor: '2026-12-05' });
    expect(saturday.statusCode).toBe(409);
    expect(saturday.json().message).toBe(
      'plannedFor: Saturday 5 December 2026 is not a school day at Hampton Infant (a weekend) — if the visit is meant for that day, confirm it (closedDayConfirmed: true)',
    );
    expect(await count()).toBe(before);
    for (const [day, why] of [
      ['2026-12-21', 'in the school holidays'],
      ['2026-12-07', 'an INSET day: the school is closed to pupils — Staff training'],
    ] as const) {
      const r = await call('POST', '/api/visits', { ...ask, plannedFor: day });
      expect(r.statusCode).toBe(409);
      expect(r.json().message).toContain(`(${why})`);
    }

    const confirmed = await call('POST', '/api/visits', {
      ...ask,
      plannedFor: '2026-12-05',
      closedDayConfirmed: true,
    });
    expect(confirmed.statusCode, confirmed.body).toBe(201);
    const page = (await call('GET', `/api/visits/${confirmed.json().id}`)).json();
    expect(page.visit.plannedFor).toBe('2026-12-05');
    expect(page.plannedDayClosed).toBe('a weekend');

    // A school day (today, the form's default on a Friday) asks nothing.
    const friday = await call('POST', '/api/visits', ask);
    expect(friday.statusCode, friday.body).toBe(201);
    expect((await call('GET', `/api/visits/${friday.json().id}`)).json().plannedDayClosed).toBeNull();
    // An API client that does not ask is not asked (as `flagsSeen`): planned as it says.
    const { closedDayConfirmed: _, ...client } = ask;
    expect((await call('POST', '/api/visits', { ...client, plannedFor: '2026-12-05' })).statusCode).toBe(201);
    // A malformed confirmation is a 400 naming it.
    const bad = await call('POST', '/api/visits', { ...ask, closedDayConfirmed: 'yes' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/^closedDayConfirmed: /);
  });

  it('moved to such a day: the same', async () => {
    const call = await office('cd.office2');
    const asked = await call('POST', '/api/visits', ask);
    const id = asked.json().id as string;
    const moved = await call('POST', `/api/visits/${id}/date`, {
      date: '2026-12-21',
      closedDayConfirmed: false,
    });
    expect(moved.statusCode).toBe(409);
    expect(moved.json().message).toBe(
      'date: Monday 21 December 2026 is not a school day at Hampton Infant (in the school holidays) — if the visit is meant for that day, confirm it (closedDayConfirmed: true)',
    );
    expect((await call('GET', `/api/visits/${id}`)).json().visit.plannedFor).toBe('2026-12-04');
    const ok = await call('POST', `/api/visits/${id}/date`, { date: '2026-12-21', closedDayConfirmed: true });
    expect(ok.statusCode, ok.body).toBe(200);
    expect((await call('GET', `/api/visits/${id}`)).json().plannedDayClosed).toBe('in the school holidays');
    // Moved back to a school day: nothing to confirm.
    expect(
      (await call('POST', `/api/visits/${id}/date`, { date: '2026-12-08', closedDayConfirmed: false }))
        .statusCode,
    ).toBe(200);
  });
});
