import { beforeAll, describe, expect, it } from 'vitest';
import { watchVisits } from '../../jobs/watch-visits.ts';
import type { User } from '../../src/store/users.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { askForHelp, returnVisit } from '../../src/visits/while-out.ts';
import { removedSchoolWorld } from '../helpers/removed-school-world.ts';
import { WATCH_RUN } from '../helpers/visit-world.ts';
import { departTold } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * A worker out on a Hampton visit, or a Hampton alarm open; Hampton then taken out of the config (or
 * its id renamed) and Doorstep restarted. Fail safe: the trust's `orphansTo` school (here the first,
 * Lime Hills) takes them — "I need help" is raised on its ladder (never a 404), back safe closes the
 * visit, the watcher watches the worker by its rules, the alarm's messages go through its SMS and
 * contacts, and its board shows the alarm to take — each saying "hampton, a school no longer in the
 * configuration".
 */
const WORDS = 'hampton, a school no longer in the configuration';
let now = new Date('2026-11-23T10:00:00Z');
const w = removedSchoolWorld('removed_school', () => now);
let limeOffice: User;
let thamesOffice: User;

beforeAll(async () => {
  limeOffice = await addUser(w.db, 'lime-office', ['office'], { schools: ['lime'] });
  thamesOffice = await addUser(w.db, 'thames-office', ['office'], { schools: ['thames'] });
});

async function outAtHampton(expectedReturnAt: Date): Promise<string> {
  const id = await requestVisit(w.vdeps, w.lead, {
    schoolId: 'hampton',
    pupilMisId: 'P1',
    reason: 'welfare',
  });
  await departTold(w.vdeps, w.lead, id, { expectedReturnAt, partnerUserId: w.partner.id, risksRead: true });
  return id;
}

async function alarmOf(visitId: string) {
  return (
    await w.db.query<{
      id: string;
      school_id: string;
      type: string;
      policy: { levels: { notify: string[] }[] };
    }>(`SELECT id::text, school_id, type, policy FROM alarms WHERE visit_id = $1 ORDER BY id`, [visitId])
  ).rows;
}

async function timelineOf(alarmId: string): Promise<string[]> {
  return (
    await w.db.query<{ event: string }>(`SELECT event FROM alarm_timeline WHERE alarm_id = $1 ORDER BY id`, [
      alarmId,
    ])
  ).rows.map((r) => r.event);
}

describe('a worker out at a school taken out of the config', () => {
  it('"I need help" from the phone is raised and stored (2xx), on the orphansTo school\'s ladder, saying so', async () => {
    now = new Date('2026-11-23T10:00:00Z');
    const id = await outAtHampton(new Date('2026-11-23T12:00:00Z'));
    const app = await w.appWithout();
    try {
      now = new Date('2026-11-23T10:30:00Z');
      const r = await w.as(app, w.lead, 'POST', `/api/visits/${id}/help`);
      expect(r.statusCode).toBeLessThan(300);
      const alarms = await alarmOf(id);
      expect(alarms).toHaveLength(1);
      // Its own school kept (the board and the record say whose visit it was); Lime Hills' SOS ladder.
      expect(alarms[0]).toMatchObject({ school_id: 'hampton', type: 'sos' });
      expect(alarms[0]!.policy.levels[0]!.notify).toEqual(['board', 'sms:on-call-leaders']);
      expect((await timelineOf(alarms[0]!.id)).join('\n')).toContain(`${WORDS}: Lime Hills Academy's ladder`);
    } finally {
      await app.close();
    }
  });

  it('askForHelp and back safe, called directly with the restarted config: raised, then the visit closed', async () => {
    const vdeps = w.vdepsWithout();
    now = new Date('2026-11-23T11:00:00Z');
    const id = (
      await w.db.query<{ id: string }>(
        `SELECT id::text FROM visits WHERE school_id = 'hampton' AND returned_at IS NULL ORDER BY id LIMIT 1`,
      )
    ).rows[0]!.id;
    const help = await askForHelp(vdeps, w.lead, id, null).then(
      (a) => `raised ${a}`,
      (e: Error & { code?: string }) => `${e.code}: ${e.message}`,
    );
    const back = await returnVisit(vdeps, w.lead, id).then(
      () => 'back safe',
      (e: Error & { code?: string }) => `${e.code}: ${e.message}`,
    );
    expect({ help, back }).toEqual({ help: expect.stringMatching(/^raised \d+$/), back: 'back safe' });
    const v = await w.db.query<{ returned_at: Date | null }>(`SELECT returned_at FROM visits WHERE id = $1`, [
      id,
    ]);
    expect(v.rows[0]!.returned_at).not.toBeNull();
  });

  it("an alarm open when the school went: its ladder texts the orphansTo school's people, saying whose it is", async () => {
    now = new Date('2026-11-23T12:00:00Z');
    const id = await outAtHampton(new Date('2026-11-23T14:00:00Z'));
    // Raised while Hampton was still configured: Hampton's SOS ladder copied onto it.
    const alarmId = await askForHelp(w.vdeps, w.lead, id, null);
    // The restart without Hampton; then its first step.
    await w.firstLevelWithout(alarmId);
    expect(w.texts.map((t) => t.to)).toEqual(['+447700900501']);
    expect(w.texts[0]!.body).toContain(`at ${WORDS}`);
    const n = await w.db.query<{ target: string; status: string }>(
      `SELECT target, status FROM notifications WHERE alarm_id = $1 AND target <> 'board'`,
      [alarmId],
    );
    expect(n.rows).toEqual([{ target: 'sms:on-call-leaders', status: 'sent' }]);
  });

  it("the orphansTo school's board shows it, saying so, and its office takes it; another school's does not", async () => {
    const app = await w.appWithout();
    try {
      const open = (
        await w.db.query<{ id: string }>(
          `SELECT id::text FROM alarms WHERE school_id = 'hampton' AND status = 'open' ORDER BY id`,
        )
      ).rows.map((r) => r.id);
      expect(open.length).toBeGreaterThan(0);
      const board = await w.as(app, limeOffice, 'GET', '/api/board?school=lime');
      expect(board.statusCode).toBe(200);
      const cards = (board.json() as { alarms: { id: string; noLongerConfigured: string | null }[] }).alarms;
      expect(cards.filter((c) => open.includes(c.id))).toEqual(
        open.map((id) => expect.objectContaining({ id, noLongerConfigured: WORDS })),
      );
      const other = await w.as(app, thamesOffice, 'GET', '/api/board?school=thames');
      expect((other.json() as { alarms: { id: string }[] }).alarms.map((a) => a.id)).not.toContain(open[0]);
      // Thames' office cannot take it; Lime Hills' can.
      const ack = (u: User) => w.as(app, u, 'POST', `/api/alarms/${open[0]}/acknowledge`);
      expect((await ack(thamesOffice)).statusCode).toBe(404);
      const taken = await ack(limeOffice);
      expect(taken.statusCode).toBe(200);
      expect(taken.json()).toEqual({ outcome: 'acknowledged' });
    } finally {
      await app.close();
    }
  });

  it("the visit watcher watches the worker by the orphansTo school's rules: overdue is raised, saying so", async () => {
    now = new Date('2026-11-23T13:00:00Z');
    const id = await outAtHampton(new Date('2026-11-23T13:30:00Z'));
    now = new Date('2026-11-23T15:00:00Z');
    await watchVisits({ reason: 'manual' }, WATCH_RUN, { ...w.jdeps, config: w.without() });
    const overdue = (await alarmOf(id)).filter((a) => a.type === 'overdue_visit');
    expect(overdue).toHaveLength(1);
    expect(overdue[0]!.school_id).toBe('hampton');
    expect((await timelineOf(overdue[0]!.id)).join('\n')).toContain(
      `${WORDS}: Lime Hills Academy's rules and ladder`,
    );
  });
});
