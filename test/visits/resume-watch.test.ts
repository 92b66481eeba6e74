import { beforeAll, describe, expect, it } from 'vitest';
import { watchVisits } from '../../jobs/watch-visits.ts';
import { resolveAlarm } from '../../src/alarms/commands.ts';
import { ladderFor } from '../../src/alarms/ladder-for.ts';
import { HELP_AFTER_BACK_MINUTES, RESUME_WATCH_MINUTES } from '../../src/domain/visits/lifecycle.ts';
import { overdueAlarmKey } from '../../src/domain/visits/watch.ts';
import { isDoorstepError } from '../../src/errors.ts';
import { createLogger } from '../../src/log/logger.ts';
import { raiseVisitAlarm } from '../../src/store/alarm-writer.ts';
import type { Db } from '../../src/store/db.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import { cancelVisit, recordOutcome } from '../../src/visits/outcome.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { OVERDUE_KEY_TRIES, resumeWatch, tellBackSafeByOther } from '../../src/visits/resume-watch.ts';
import { askForHelp, checkInVisit, returnVisit, runningLate } from '../../src/visits/while-out.ts';
import { visitWorld, WATCH_RUN } from '../helpers/visit-world.ts';
import { departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser, sessionFor } from '../helpers/web.ts';

/**
 * Found by review: a back safe said by mistake — the office recording the wrong visit, the partner's
 * "both back safe" with the lead still at the door — could not be undone, and the worker was never
 * watched again: running late, check-in and departure refused for everyone, the worker not told,
 * and an hour later their own "I need help" refused (409) while the phone page stopped reading and
 * hid it. Hampton, out at 10:00 and expected back at 14:00, the office's back safe at 10:30: at 18:00
 * the watcher raised nothing. Now "I am still out" (the office: "Still out — watch again") puts them
 * out and watched again within 12 hours of the back safe, with a new return time bounded as running
 * late's; the people on the visit are texted when someone other than the lead said it; and "I need
 * help" from the people on a visit that left is never refused for the time since back safe.
 */
let now = new Date('2026-11-23T10:00:00Z');
const w = visitWorld('resume_watch', () => now);
// Hampton with an SMS channel (nothing is sent: the notices are read from the table).
w.config = visitSchoolsConfig(
  `    channels:
      sms: { baseUrl: "http://127.0.0.1:9", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
`,
  { SMS_TOKEN: 'tok' },
);
let db: Db;
let lead: User;
let partner: User;
let office: User;
let colleague: User;
const at = (hhmm: string, day = 23) => new Date(`2026-11-${day}T${hhmm}:00Z`);

beforeAll(async () => {
  db = w.db;
  lead = await addUser(db, 'lead', ['visiting-staff'], { phone: '+447700900111', displayName: 'Sam Lead' });
  partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  office = await addUser(db, 'office', ['office'], { displayName: 'Olive Office' });
  colleague = await addUser(db, 'colleague', ['visiting-staff']);
});

/** Hampton, out from `hhmm` on the 23rd with the partner, expected back at `back`. */
async function outAt(hhmm: string, back: string): Promise<string> {
  now = at(hhmm);
  const id = await requestVisit(w.vdeps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
  await departTold(w.vdeps, lead, id, {
    expectedReturnAt: at(back),
    partnerUserId: partner.id,
    risksRead: true,
  });
  return id;
}

/** `ok`, or the refusal's code and message. */
const attempt = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: unknown) => {
      if (isDoorstepError(err)) return `${err.code}: ${err.message}`;
      throw err;
    },
  );

const alarms = async (id: string) =>
  (
    await db.query<{ type: string; status: string }>(
      'SELECT type, status FROM alarms WHERE visit_id = $1 ORDER BY id',
      [id],
    )
  ).rows;

const page = async (who: User, id: string) => {
  const s = await sessionFor(db, who);
  const r = await w.app.inject({ method: 'GET', url: `/api/visits/${id}`, headers: { cookie: s.cookie } });
  expect(r.statusCode, r.body).toBe(200);
  return r.json() as {
    out: boolean;
    actions: string[];
    lateSelfUntil: string | null;
    backSafe: {
      at: string;
      byName: string | null;
      byMe: boolean;
      help: { open: boolean; until: string };
    } | null;
  };
};

describe('a back safe said by mistake', () => {
  it('Hampton: the office says back safe at 10:30 with the worker still out; they press "I am still out" and are watched again', async () => {
    const id = await outAt('10:00', '14:00');
    now = at('10:30');
    await returnVisit(w.vdeps, office, id);
    // The people on the visit are texted who said it, and what to press.
    const texts = (
      await db.query<{ target: string; text: string }>(
        `SELECT target, text FROM notices WHERE visit_id = $1 AND kind = 'back-safe-by-other'`,
        [id],
      )
    ).rows;
    expect(texts).toEqual([
      {
        target: 'sms:visiting-staff',
        text: expect.stringMatching(
          /^Home visit #\d+: recorded back safe by Olive Office at 10:30\. Still out\? Open the visit and press "I am still out", or call the office: 01632 960123\.$/,
        ),
      },
    ]);
    // Their phone page says so, and offers it (and "I need help"); the office's page offers it too.
    const mine = await page(lead, id);
    expect(mine.out).toBe(false);
    expect(mine.backSafe).toEqual({
      at: at('10:30').toISOString(),
      byName: 'Olive Office',
      byMe: false,
      help: { open: true, until: at('11:30').toISOString() },
    });
    expect(mine.actions).toEqual(expect.arrayContaining(['resume-watch', 'help']));
    expect(mine.lateSelfUntil).toBe(at('14:00').toISOString());
    expect((await page(office, id)).actions).toContain('resume-watch');
    expect((await page(office, id)).backSafe?.byMe).toBe(true);

    // 10:40, "I am still out", back by 14:00 — no later than 4 hours after leaving (their own bound).
    now = at('10:40');
    expect(await attempt(resumeWatch(w.vdeps, lead, id, at('14:01')))).toMatch(
      /^DOORSTEP_BAD_REQUEST: expectedReturnAt: 14:01 is more than 4 hours after 10:00.*no later than 14:00/,
    );
    expect(await attempt(resumeWatch(w.vdeps, lead, id, null))).toMatch(
      /^DOORSTEP_BAD_REQUEST: expectedReturnAt/,
    );
    expect(await attempt(resumeWatch(w.vdeps, colleague, id, at('12:00')))).toMatch(/^DOORSTEP_FORBIDDEN/);
    expect(await resumeWatch(w.vdeps, lead, id, at('14:00'))).toEqual({
      expectedReturnAt: at('14:00'),
      overdueNow: false,
      onlyOnBoard: false,
    });
    const v = (await getVisit(db, id))!;
    expect(v).toMatchObject({
      status: 'departed',
      returnedAt: null,
      backSafeBy: null,
      expectedReturnAt: at('14:00'),
      lastCheckInAt: at('10:40'),
    });
    // Out again: the steps of a worker out are theirs again, and "I am still out" is not.
    const again = await page(lead, id);
    expect(again.out).toBe(true);
    expect(again.actions).toEqual(expect.arrayContaining(['check-in', 'running-late', 'back-safe', 'help']));
    expect(again.actions).not.toContain('resume-watch');
    // Watched: overdue at 14:00 exactly, where before the watcher raised nothing at all.
    now = at('13:59');
    await watchVisits({ reason: 'manual' }, WATCH_RUN, w.jdeps);
    expect(await alarms(id)).toEqual([]);
    now = at('14:00');
    await watchVisits({ reason: 'manual' }, WATCH_RUN, w.jdeps);
    expect(await alarms(id)).toEqual([{ type: 'overdue_visit', status: 'open' }]);
    // The resumption is audited, on the board and kept as the new return time's change, by its worker.
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_entries WHERE entity_id = $1 AND action = 'visit.watch-resumed'`,
      [id],
    );
    expect(rows[0]!.n).toBe(1);
    const board = await db.query(
      `SELECT 1 FROM board_events WHERE type = 'visit.resumed' AND payload->>'visitId' = $1`,
      [id],
    );
    expect(board.rows).toHaveLength(1);
    const change = await db.query<{ by_user_id: string; new_at: Date }>(
      'SELECT by_user_id::text, new_at FROM visit_return_changes WHERE visit_id = $1',
      [id],
    );
    expect(change.rows).toEqual([{ by_user_id: lead.id, new_at: at('14:00') }]);
    now = at('14:05');
    await returnVisit(w.vdeps, lead, id);
    expect(await alarms(id)).toEqual([{ type: 'overdue_visit', status: 'resolved' }]);
    // The lead said it themselves: nobody is texted.
    const more = await db.query(`SELECT 1 FROM notices WHERE visit_id = $1 AND kind = 'back-safe-by-other'`, [
      id,
    ]);
    expect(more.rows).toHaveLength(1);
  });

  it('out of hours the text names the number that answers then (the on-call number), never "phone the office"', async () => {
    const id = await outAt('16:00', '18:00');
    now = at('17:30');
    const school = visitSchoolsConfig(
      `    outOfHoursPhone: "07700 900123"
    escalationHours:
      schoolDay: "08:00-17:00"
      outOfHours: { alarm: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders] }] } }
    channels:
      sms: { baseUrl: "http://127.0.0.1:9", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
`,
      { SMS_TOKEN: 'tok' },
    ).schools.find((s) => s.id === 'hampton')!;
    const v = (await getVisit(db, id))!;
    const [notice] = await tellBackSafeByOther(db, school, undefined, office, v, now);
    const { rows } = await db.query<{ text: string }>('SELECT text FROM notices WHERE id = $1', [notice]);
    expect(rows[0]!.text).toMatch(/press "I am still out", or call the on-call number: 07700 900123\.$/);
    await returnVisit(w.vdeps, lead, id);
  });

  it('the office watches them again for the worker (its time bounded by 4 hours from now); the check-in clock restarts', async () => {
    const id = await outAt('10:00', '11:00');
    await db.query('UPDATE visits SET check_in_minutes = 30 WHERE id = $1', [id]);
    now = at('10:20');
    await returnVisit(w.vdeps, partner, id);
    // The partner said "both back safe": the lead is texted (their page says it too, loudly).
    const texted = await db.query<{ text: string }>(
      `SELECT text FROM notices WHERE visit_id = $1 AND kind = 'back-safe-by-other'`,
      [id],
    );
    expect(texted.rows.map((r) => r.text)).toEqual([
      expect.stringContaining('recorded back safe by partner at 10:20'),
    ]);
    expect((await page(lead, id)).backSafe).toMatchObject({ byName: 'partner', byMe: false });
    now = at('12:00');
    expect(await attempt(resumeWatch(w.vdeps, office, id, at('16:01')))).toMatch(/too far ahead/);
    await resumeWatch(w.vdeps, office, id, at('16:00'));
    // Check-ins count from now, not from the departure: nothing missed for the time they were not watched.
    now = at('12:29');
    await watchVisits({ reason: 'manual' }, WATCH_RUN, w.jdeps);
    expect(await alarms(id)).toEqual([]);
    now = at('12:30');
    await watchVisits({ reason: 'manual' }, WATCH_RUN, w.jdeps);
    expect(await alarms(id)).toEqual([{ type: 'missed_check_in', status: 'open' }]);
    // The office set the time after speaking to them: the worker's own is open for 4 hours from then.
    now = at('12:31');
    await checkInVisit(w.vdeps, lead, id);
    expect(await attempt(runningLate(w.vdeps, lead, id, at('16:00'), 'parent late'))).toBe('ok');
    await returnVisit(w.vdeps, lead, id);
  });

  it('past the worker’s own bound, "I am still out" is never refused: the return is now and the overdue alarm is raised with it, its ladder started', async () => {
    const id = await outAt('10:00', '14:00');
    now = at('10:30');
    await returnVisit(w.vdeps, office, id);
    now = at('14:30');
    const mine = await page(lead, id);
    expect(mine.actions).toContain('resume-watch');
    expect(mine.lateSelfUntil).toBe(at('14:00').toISOString());
    const r = await resumeWatch({ ...w.vdeps, producer: w.producer }, lead, id, null);
    // The return time is the moment they said so — never a time before it they did not set.
    expect(r).toMatchObject({ expectedReturnAt: at('14:30'), overdueNow: true });
    expect((await getVisit(db, id))!.expectedReturnAt).toEqual(at('14:30'));
    const audited = await db.query<{ after: { expectedReturnAt: string } }>(
      `SELECT after FROM audit_log WHERE entity_id = $1 AND action = 'visit.watch-resumed'`,
      [id],
    );
    expect(audited.rows[0]!.after.expectedReturnAt).toBe(at('14:30').toISOString());
    // Raised now, not at the next watch, and its first step queued as "I need help"'s is.
    const raised = await db.query<{ id: string; raised_at: Date }>(
      `SELECT id, raised_at FROM alarms WHERE visit_id = $1 AND status <> 'resolved'`,
      [id],
    );
    expect(await alarms(id)).toEqual([{ type: 'overdue_visit', status: 'open' }]);
    expect(raised.rows[0]!.raised_at).toEqual(at('14:30'));
    expect(await w.producer.queues.get('alarms')!.getJob(`escalate-${raised.rows[0]!.id}-0`)).toBeTruthy();
    // The watcher raises no second one for it, then or later.
    await watchVisits({ reason: 'manual' }, WATCH_RUN, w.jdeps);
    now = at('14:33');
    await watchVisits({ reason: 'manual' }, WATCH_RUN, w.jdeps);
    expect(await alarms(id)).toEqual([{ type: 'overdue_visit', status: 'open' }]);
    now = at('14:35');
    await runningLate(w.vdeps, office, id, at('15:30'), 'spoke to Sam: still with the family');
    await returnVisit(w.vdeps, lead, id);
  });

  it('overdue now out of hours, where the overdue ladder starts with the board alone: the phone is told no one has been messaged', async () => {
    const id = await outAt('10:00', '14:00');
    now = at('10:30');
    await returnVisit(w.vdeps, office, id);
    now = at('14:30');
    const boardFirst = {
      ...w.vdeps,
      config: {
        ...w.vdeps.config,
        schools: w.vdeps.config.schools.map((s) =>
          s.id === 'hampton'
            ? {
                ...s,
                escalation: {
                  ...s.escalation,
                  overdue_visit: {
                    condition: 'if-not-acknowledged' as const,
                    levels: [
                      { afterMinutes: 0, notify: ['board'] },
                      { afterMinutes: 10, notify: ['sms:on-call-leaders'] },
                    ],
                  },
                },
              }
            : s,
        ),
      },
    };
    expect(await resumeWatch(boardFirst as typeof w.vdeps, lead, id, null)).toEqual({
      expectedReturnAt: at('14:30'),
      overdueNow: true,
      onlyOnBoard: true,
    });
    expect(await alarms(id)).toEqual([{ type: 'overdue_visit', status: 'open' }]);
    await returnVisit(w.vdeps, lead, id);
  });

  it('overdue now, where the overdue ladder’s first level texts over an SMS channel the school does not configure: no one has been messaged', async () => {
    const id = await outAt('10:00', '14:00');
    now = at('10:30');
    await returnVisit(w.vdeps, office, id);
    now = at('14:30');
    // The first level texts the on-call leaders at once: with the school's SMS channel a person is told.
    const texting = (sms: boolean) => ({
      ...w.vdeps,
      config: {
        ...w.vdeps.config,
        schools: w.vdeps.config.schools.map((s) =>
          s.id === 'hampton'
            ? {
                ...s,
                channels: sms ? s.channels : { ...s.channels, sms: undefined },
                escalation: {
                  ...s.escalation,
                  overdue_visit: {
                    condition: 'if-not-acknowledged' as const,
                    levels: [{ afterMinutes: 0, notify: ['board', 'sms:on-call-leaders'] }],
                  },
                },
              }
            : s,
        ),
      },
    });
    expect(await resumeWatch(texting(false) as typeof w.vdeps, lead, id, null)).toEqual({
      expectedReturnAt: at('14:30'),
      overdueNow: true,
      onlyOnBoard: true,
    });
    await returnVisit(w.vdeps, lead, id);
    const again = await outAt('10:00', '14:00');
    now = at('10:30');
    await returnVisit(w.vdeps, office, again);
    now = at('14:30');
    expect(await resumeWatch(texting(true) as typeof w.vdeps, lead, again, null)).toMatchObject({
      overdueNow: true,
      onlyOnBoard: false,
    });
    await returnVisit(w.vdeps, lead, again);
  });

  it('overdue now is never the old return time itself, whose overdue alarm was raised once and stood down by the back safe', async () => {
    const id = await outAt('10:00', '14:00');
    // 14:00, all at one instant: overdue raised, back safe said, "I am still out" past their own bound.
    now = at('14:00');
    await watchVisits({ reason: 'manual' }, WATCH_RUN, w.jdeps);
    await returnVisit(w.vdeps, office, id);
    const r = await resumeWatch(w.vdeps, lead, id, null);
    expect(r.overdueNow).toBe(true);
    expect(r.expectedReturnAt.getTime()).not.toBe(at('14:00').getTime());
    expect(await alarms(id)).toEqual([
      { type: 'overdue_visit', status: 'resolved' },
      { type: 'overdue_visit', status: 'open' },
    ]);
    now = new Date(at('14:00').getTime() + 1000);
    await watchVisits({ reason: 'manual' }, WATCH_RUN, w.jdeps);
    expect(await alarms(id)).toHaveLength(2);
    await returnVisit(w.vdeps, lead, id);
  });

  it('back safe and "I am still out" again and again at one instant: each "still out" leaves an overdue alarm standing', async () => {
    const id = await outAt('10:00', '14:00');
    now = at('14:00');
    await watchVisits({ reason: 'manual' }, WATCH_RUN, w.jdeps);
    for (let i = 0; i < 3; i++) {
      await returnVisit(w.vdeps, office, id);
      const r = await resumeWatch(w.vdeps, lead, id, null);
      expect(r.overdueNow).toBe(true);
      expect((await alarms(id)).filter((a) => a.status === 'open')).toEqual([
        { type: 'overdue_visit', status: 'open' },
      ]);
    }
    await returnVisit(w.vdeps, lead, id);
  });

  it('every return time it tries has had its overdue alarm raised before: the alarm is still raised, under a key of its own, its ladder started, and the error logged', async () => {
    // Found by review: after OVERDUE_KEY_TRIES taken keys "I am still out" raised nothing, the return
    // set to a time whose key was taken — so the watcher raised nothing either: nobody watching.
    const id = await outAt('10:00', '14:00');
    now = at('10:30');
    await returnVisit(w.vdeps, office, id);
    now = at('14:30');
    // The keys it tries (now, and a millisecond earlier each time), all raised before and stood down.
    const school = w.config.schools.find((s) => s.id === 'hampton')!;
    for (let i = 0; i < OVERDUE_KEY_TRIES; i++) {
      const t = new Date(now.getTime() - i);
      await raiseVisitAlarm(db, {
        schoolId: 'hampton',
        visitId: id,
        staffId: null,
        type: 'overdue_visit',
        dedupKey: overdueAlarmKey(id, t),
        raisedAt: t,
        policy: ladderFor(school, 'overdue_visit', t),
        what: 'alarm raised: visit overdue',
        actor: 'system:test',
      });
    }
    await db.query(
      `UPDATE alarms SET status = 'resolved', resolved_at = $2, resolved_by = 'user:x',
         resolution_reason = 'worker_safe', escalation_step = -1 WHERE visit_id = $1`,
      [id, at('14:29')],
    );
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ level: 'error' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const r = await resumeWatch({ ...w.vdeps, producer: w.producer, log }, lead, id, null);
    // Watched: an overdue alarm open now, raised at the moment they said so, its first step queued.
    const open = await db.query<{ id: string; dedup_key: string; raised_at: Date }>(
      `SELECT id, dedup_key, raised_at FROM alarms WHERE visit_id = $1 AND status = 'open'`,
      [id],
    );
    expect(open.rows).toEqual([
      {
        id: expect.anything(),
        dedup_key: expect.stringMatching(new RegExp(`^visit:${id}:overdue:2026-11-23T14:30:00\\.000Z:own:`)),
        raised_at: at('14:30'),
      },
    ]);
    const alarmId = String(open.rows[0]!.id);
    // The return is the moment they said so.
    expect(r).toMatchObject({ expectedReturnAt: at('14:30'), overdueNow: true });
    expect((await getVisit(db, id))!).toMatchObject({ returnedAt: null, expectedReturnAt: at('14:30') });
    expect(await w.producer.queues.get('alarms')!.getJob(`escalate-${alarmId}-0`)).toBeTruthy();
    // The board and the alarm say why its key is its own.
    const raisedOnBoard = await db.query(
      `SELECT 1 FROM board_events WHERE type = 'alarm.raised' AND payload->>'alarmId' = $1`,
      [alarmId],
    );
    expect(raisedOnBoard.rows).toHaveLength(1);
    const timeline = await db.query<{ event: string }>(
      'SELECT event FROM alarm_timeline WHERE alarm_id = $1',
      [alarmId],
    );
    expect(timeline.rows.map((t) => t.event)).toEqual([
      expect.stringContaining(
        `raised under a key of its own: the overdue alarms of the ${OVERDUE_KEY_TRIES}`,
      ),
    ]);
    // Logged as an error, with no one's name in it.
    expect(lines).toEqual([
      expect.objectContaining({ level: 'error', school: 'hampton', visit: id, alarm: alarmId }),
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/Sam Lead|P1/);
    // The watcher raises no second one for the same return time.
    now = at('14:40');
    await watchVisits({ reason: 'manual' }, WATCH_RUN, w.jdeps);
    expect((await alarms(id)).filter((a) => a.status === 'open')).toEqual([
      { type: 'overdue_visit', status: 'open' },
    ]);
    await runningLate(w.vdeps, office, id, at('15:30'), 'spoke to Sam: still with the family');
    await returnVisit(w.vdeps, lead, id);
  });

  it('overdue now after the watch pushed the return on (a false alarm closed): the overdue alarm is raised at once, not 15 minutes later', async () => {
    // The return time is now, whatever later time the watch's re-arm (+15 min after a resolution
    // confirming nobody) had set, and its alarm raised with it.
    const id = await outAt('10:00', '11:00');
    now = at('11:00');
    await watchVisits({ reason: 'manual' }, WATCH_RUN, w.jdeps);
    const [overdue] = (await db.query<{ id: string }>('SELECT id FROM alarms WHERE visit_id = $1', [id]))
      .rows;
    now = at('13:58');
    await resolveAlarm(db, w.config, String(overdue!.id), `user:${office.id}`, 'false_alarm', null, now);
    now = at('13:59');
    await returnVisit(w.vdeps, office, id);
    // 14:01: the worker's own bound (14:00) closed.
    now = at('14:01');
    const r = await resumeWatch(w.vdeps, lead, id, null);
    expect(r).toMatchObject({ expectedReturnAt: at('14:01'), overdueNow: true });
    expect(await alarms(id)).toContainEqual({ type: 'overdue_visit', status: 'open' });
    await returnVisit(w.vdeps, lead, id);
  });

  it('overdue now under a school grace before overdue: the return is still now, and the alarm raised at once', async () => {
    const id = await outAt('10:00', '14:00');
    now = at('10:30');
    await returnVisit(w.vdeps, office, id);
    now = at('14:30');
    const graced = {
      ...w.vdeps,
      rulesFor: (s: string) => ({ ...w.vdeps.rulesFor(s), overdueGraceMinutes: 10 }),
    };
    expect(await resumeWatch(graced, lead, id, null)).toMatchObject({
      expectedReturnAt: at('14:30'),
      overdueNow: true,
    });
    expect(await alarms(id)).toEqual([{ type: 'overdue_visit', status: 'open' }]);
    await returnVisit(w.vdeps, lead, id);
  });

  it('an outcome recorded is kept and a cancellation stays one; the visit is out again until back safe', async () => {
    const id = await outAt('10:00', '14:00');
    now = at('10:30');
    await recordOutcome(w.vdeps, lead, id, {
      childSeen: true,
      noOneHome: false,
      agreements: [],
      concerns: [],
      followUp: [],
    });
    await returnVisit(w.vdeps, partner, id);
    expect((await getVisit(db, id))!.status).toBe('completed');
    now = at('10:35');
    await resumeWatch(w.vdeps, lead, id, at('12:00'));
    const v = (await getVisit(db, id))!;
    expect(v).toMatchObject({ status: 'departed', completedAt: null, returnedAt: null });
    expect(v.outcome).toMatchObject({ childSeen: true });
    now = at('11:00');
    await returnVisit(w.vdeps, lead, id);
    expect((await getVisit(db, id))!).toMatchObject({ status: 'completed', completedAt: at('11:00') });

    const other = await outAt('10:00', '14:00');
    now = at('10:10');
    await cancelVisit(w.vdeps, lead, other, 'dog loose in the garden');
    await returnVisit(w.vdeps, office, other);
    now = at('10:15');
    await resumeWatch(w.vdeps, partner, other, at('11:00'));
    expect((await getVisit(db, other))!).toMatchObject({ status: 'cancelled', returnedAt: null });
    await returnVisit(w.vdeps, lead, other);
  });

  it('an outcome record saying "back: HH:MM" is put right in the records when that back safe is undone', async () => {
    const records = async (id: string) =>
      (
        await db.query<{ kind: string; title: string; body: string }>(
          `SELECT kind, title, body FROM outbox WHERE source_type = 'visit' AND source_id = $1 ORDER BY id`,
          [id],
        )
      ).rows;
    const outcome = { childSeen: true, noOneHome: false, agreements: [], concerns: [], followUp: [] };
    const id = await outAt('10:00', '14:00');
    now = at('10:30');
    await returnVisit(w.vdeps, office, id);
    await recordOutcome(w.vdeps, office, id, outcome);
    expect((await records(id)).map((r) => r.body).join('\n')).toMatch(/back: Mon 23 Nov 2026, 10:30/);
    now = at('10:35');
    await resumeWatch(w.vdeps, lead, id, at('11:30'));
    const after = await records(id);
    expect(after).toHaveLength(2);
    expect(after[1]).toEqual({
      kind: 'visit_outcome',
      title: 'Home visit correction: still out after the back safe recorded — P1',
      body: expect.stringContaining(
        'It gives "back: Mon 23 Nov 2026, 10:30": that back safe was a mistake — the staff were still out.\nUndone at Mon 23 Nov 2026, 10:35 by Sam Lead',
      ),
    });
    await returnVisit(w.vdeps, lead, id);

    // An outcome typed at the door (before the back safe) said "still out": nothing to put right.
    const other = await outAt('10:00', '14:00');
    now = at('10:20');
    await recordOutcome(w.vdeps, lead, other, outcome);
    now = at('10:22');
    await returnVisit(w.vdeps, office, other);
    now = at('10:25');
    await resumeWatch(w.vdeps, lead, other, at('11:30'));
    expect(await records(other)).toHaveLength(1);
    await returnVisit(w.vdeps, lead, other);
  });

  it(`can be undone for ${RESUME_WATCH_MINUTES / 60} hours after the back safe, not after; "I need help" is never refused for the time since`, async () => {
    const id = await outAt('10:00', '14:00');
    now = at('10:30');
    await returnVisit(w.vdeps, office, id);
    // 18:00: more than the hour after back safe — the worker's "I need help" still raises.
    now = at('18:00');
    await watchVisits({ reason: 'manual' }, WATCH_RUN, w.jdeps);
    const help = await askForHelp(w.vdeps, lead, id, null, 'still-out-help-1');
    expect(await alarms(id)).toEqual([{ type: 'sos', status: 'open' }]);
    await db.query(
      `UPDATE alarms SET status = 'resolved', resolved_at = $2, resolved_by = 'user:x',
         resolution_reason = 'worker_safe_contacted', escalation_step = -1 WHERE id = $1`,
      [help, now],
    );
    // 22:29: still within 12 hours.
    now = new Date(at('10:30').getTime() + RESUME_WATCH_MINUTES * 60_000 - 60_000);
    expect((await page(partner, id)).actions).toContain('resume-watch');
    // 22:30: no longer; a worker still out then phones the office. "I need help" still raises.
    now = new Date(at('10:30').getTime() + RESUME_WATCH_MINUTES * 60_000);
    expect((await page(partner, id)).actions).not.toContain('resume-watch');
    expect(await attempt(resumeWatch(w.vdeps, office, id, new Date(now.getTime() + 60 * 60_000)))).toMatch(
      /^DOORSTEP_CONFLICT: cannot watch the worker again: back safe was recorded more than 12 hours ago/,
    );
    now = at('09:00', 25);
    expect((await page(lead, id)).actions).toContain('help');
    expect(await attempt(askForHelp(w.vdeps, lead, id, null, 'still-out-help-2'))).toBe('ok');
    // Nobody else may: "I need help" is the people on the visit's.
    expect(await attempt(askForHelp(w.vdeps, colleague, id, null, 'still-out-help-3'))).toMatch(
      /^DOORSTEP_FORBIDDEN/,
    );
  });

  it(`the server tells the phone page whether "I need help" stays at its top after back safe: for ${HELP_AFTER_BACK_MINUTES} minutes, not after`, async () => {
    // Before, the page kept its own hour (HELP_AFTER_BACK_MS) beside the server's: two clocks for one rule.
    const id = await outAt('10:00', '14:00');
    now = at('10:30');
    await returnVisit(w.vdeps, lead, id);
    const until = new Date(at('10:30').getTime() + HELP_AFTER_BACK_MINUTES * 60_000);
    now = new Date(until.getTime() - 1000);
    for (const who of [lead, partner])
      expect((await page(who, id)).backSafe).toEqual({
        at: at('10:30').toISOString(),
        byName: 'Sam Lead',
        byMe: who === lead,
        help: { open: true, until: until.toISOString() },
      });
    now = until;
    const after = await page(lead, id);
    expect(after.backSafe?.help).toEqual({ open: false, until: until.toISOString() });
    // Only its place at the top ends: "I need help" itself is still allowed (and "I am still out").
    expect(after.actions).toEqual(expect.arrayContaining(['help', 'resume-watch']));
  });

  it('the phone page posts "I am still out" through the API', async () => {
    const id = await outAt('10:00', '14:00');
    now = at('10:30');
    await returnVisit(w.vdeps, office, id);
    now = at('10:45');
    const s = await sessionFor(db, lead);
    const r = await w.app.inject({
      method: 'POST',
      url: `/api/visits/${id}/resume-watch`,
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
      payload: { expectedReturnAt: at('13:00').toISOString() },
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({
      ok: true,
      expectedReturnAt: at('13:00').toISOString(),
      overdueNow: false,
      onlyOnBoard: false,
    });
    expect((await getVisit(db, id))!.returnedAt).toBeNull();
    await returnVisit(w.vdeps, lead, id);
  });
});
