import { describe, expect, it } from 'vitest';
import { visitWorld } from '../../helpers/visit-world.ts';
import { addUser, sessionFor } from '../../helpers/web.ts';

/**
 * The newcomer walk: "Assess the risk" and "How the family was told" stayed on the page, blank, once
 * recorded, and a second submit answered 200 "Risk assessed." — a minor risk silently overwritten by
 * a major one, with no word that it replaced anything. The page now shows what was recorded with
 * "Reassess" / "Change" (the form filled in with it, saying it replaces it), and says which record it
 * replaces (`replaces`: when the one it showed was made, null for none): one recorded since the page
 * was read is refused (409), never overwritten unseen. The audit keeps what was replaced.
 */
let now = new Date('2026-11-23T09:00:00Z');
const w = visitWorld('replace_rec', () => now);

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

describe('a record replaced on the visit page', () => {
  it('a risk assessment: a second one says it replaces the first; one made since the page was read is refused', async () => {
    const office = await as(['office'], 'rr.office');
    const dsl = await as(['safeguarding'], 'rr.dsl');
    const asked = await office('POST', '/api/visits', {
      school: 'hampton',
      pupilMisId: 'P1',
      reason: 'welfare',
      plannedFor: '2026-11-23',
    });
    expect(asked.statusCode, asked.body).toBe(201);
    const id = asked.json().id as string;
    const url = `/api/visits/${id}/assess-risk`;

    const first = await dsl('POST', url, { level: 'minor', reason: 'dog in the yard', replaces: null });
    expect(first.statusCode, first.body).toBe(200);
    const shown = (await dsl('GET', `/api/visits/${id}`)).json().visit.riskAssessedAt as string;
    expect(shown).toBe('2026-11-23T09:00:00.000Z');

    // A page read before it (showing none) is refused: it would overwrite an assessment it never showed.
    now = new Date('2026-11-23T09:05:00Z');
    const stale = await dsl('POST', url, { level: 'major', reason: 'history of aggression', replaces: null });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().message).toBe(
      'the risk was assessed since this page was read (MINOR at 09:00 on 2026-11-23): read it — a new assessment replaces it',
    );
    // Reassessed from the assessment shown: it replaces it.
    const again = await dsl('POST', url, {
      level: 'major',
      reason: 'history of aggression',
      replaces: shown,
    });
    expect(again.statusCode, again.body).toBe(200);
    const after = (await dsl('GET', `/api/visits/${id}`)).json().visit;
    expect(after).toMatchObject({ riskLevel: 'major', riskReason: 'history of aggression' });
    // Now the first is no longer the one shown: a page that still shows it is refused.
    const older = await dsl('POST', url, { level: 'low', reason: 'x', replaces: shown });
    expect(older.statusCode).toBe(409);
    expect(older.json().message).toMatch(/^the risk was assessed since this page was read \(MAJOR at 09:05/);

    // The audit keeps what was replaced: the level, why, who and when.
    const { rows } = await w.db.query<{ before: Record<string, unknown> }>(
      `SELECT before FROM audit_log WHERE entity_id = $1 AND action = 'visit.risk-assessed' ORDER BY id`,
      [id],
    );
    expect(rows.map((r) => r.before)).toEqual([
      { riskLevel: 'low', assessed: false },
      {
        riskLevel: 'minor',
        assessed: true,
        reason: 'dog in the yard',
        by: expect.stringMatching(/^user:\d+$/),
        at: '2026-11-23T09:00:00.000Z',
      },
    ]);
    // A malformed `replaces` is a 400 naming it.
    const bad = await dsl('POST', url, { level: 'low', reason: 'x', replaces: 'yesterday' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/^replaces: expected when the record shown was made/);
  });

  it('how the family was told: a change says it replaces what was recorded; one recorded since is refused', async () => {
    now = new Date('2026-11-23T10:00:00Z');
    const office = await as(['office'], 'rr.office2');
    const asked = await office('POST', '/api/visits', {
      school: 'hampton',
      pupilMisId: 'P1',
      reason: 'welfare',
      plannedFor: '2026-11-23',
    });
    const id = asked.json().id as string;
    const url = `/api/visits/${id}/family-notice`;
    const first = await office('POST', url, { method: 'letter', replaces: null });
    expect(first.statusCode, first.body).toBe(200);
    const told = (await office('GET', `/api/visits/${id}`)).json().visit.familyNotice;
    expect(told).toMatchObject({ method: 'letter', at: '2026-11-23T10:00:00.000Z' });

    now = new Date('2026-11-23T10:10:00Z');
    const stale = await office('POST', url, { method: 'written-confirmation', replaces: null });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().message).toBe(
      'how the family was told was recorded since this page was read (letter, 10:00 on 2026-11-23): read it — recording it again replaces it',
    );
    const change = await office('POST', url, { method: 'written-confirmation', replaces: told.at });
    expect(change.statusCode, change.body).toBe(200);
    expect((await office('GET', `/api/visits/${id}`)).json().visit.familyNotice.method).toBe(
      'written-confirmation',
    );
    const { rows } = await w.db.query<{ before: Record<string, unknown> }>(
      `SELECT before FROM audit_log WHERE entity_id = $1 AND action = 'visit.family-told' ORDER BY id`,
      [id],
    );
    expect(rows[1]!.before).toMatchObject({
      familyNotice: 'letter',
      replaced: { method: 'letter', at: '2026-11-23T10:00:00.000Z' },
    });
  });
});
