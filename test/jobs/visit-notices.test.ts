import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chaseOutcomes } from '../../jobs/chase-outcomes.ts';
import type { JobDeps } from '../../jobs/deps.ts';
import { relayOutbox } from '../../jobs/relay-outbox.ts';
import { sendNotice } from '../../jobs/send-notice.ts';
import { resolveAlarm } from '../../src/alarms/commands.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { JobRun } from '../../src/queue/worker-host.ts';
import { boardState } from '../../src/store/board-state.ts';
import type { Db } from '../../src/store/db.ts';
import { markNotice } from '../../src/store/notices.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { raiseConcern } from '../../src/visits/concern.ts';
import { cancelVisit, recordOutcome } from '../../src/visits/outcome.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { arriveVisit, askForHelp, returnVisit, runningLate } from '../../src/visits/while-out.ts';
import { startFakeChannels } from '../helpers/fake-channels.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Notices to the people a school names (issue: records and notices the policies ask for):
 * cancellations, changes, a concern raised from the phone, an incident, and the chase of a missing
 * outcome — each once, through the school's channels, with the pupil by initials only.
 */
const schema = uniqueName('vnotice');
const prefix = uniqueName('vnotice');
let fakes: Awaited<ReturnType<typeof startFakeChannels>>;
const teams = () => fakes.posts.get('/hook') ?? [];
const sms = () => fakes.sms;
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let deps: JobDeps;
let vdeps: VisitDeps;
let lead: User;
let partner: User;
let stranger: User;
let sg: User;
let now = new Date('2026-11-23T10:00:00Z');
const run: JobRun = {
  id: 'x',
  name: 'send-notice',
  attempt: 1,
  maxAttempts: 6,
  signal: new AbortController().signal,
};

beforeAll(async () => {
  fakes = await startFakeChannels();
  const port = new URL(fakes.url).port;
  const config = visitSchoolsConfig(
    `    channels:
      teams: { url: "\${TEAMS_URL}" }
      sms: { baseUrl: "http://127.0.0.1:${port}", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
    notices:
      arrived: [teams]
      cancelled: [teams]
      changed: [teams]
      concern: [teams]
      outcomeMissing: { afterHours: 2, visitors: [sms:visiting-staff], escalateTo: [teams] }
`,
    { TEAMS_URL: `${fakes.url}/hook`, SMS_TOKEN: 'tok' },
  );
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  deps = {
    db,
    log: createLogger({ level: 'silent' }),
    producer,
    now: () => now,
    instance: 't',
    config,
    publisher: conn,
  };
  vdeps = {
    db,
    config,
    rulesFor: visitRulesLookup(config),
    prefix,
    now: () => now,
    producer,
    publisher: conn,
  };
  await addPupils(db, ['hampton']);
  lead = await addUser(db, 'lead', ['visiting-staff'], { phone: '+447700900111', displayName: 'Lee Lead' });
  partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  stranger = await addUser(db, 'stranger', ['visiting-staff']);
  sg = await addUser(db, 'sg', ['safeguarding'], { displayName: 'Sasha DSL' });
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
  fakes.close();
});

async function departed(): Promise<string> {
  const id = await requestVisit(vdeps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
  await departTold(vdeps, lead, id, {
    expectedReturnAt: new Date(now.getTime() + 3_600_000),
    partnerUserId: partner.id,
    risksRead: true,
  });
  return id;
}
const noticesOf = async (visitId: string | null, kind: string) =>
  (
    await db.query<{ id: string; target: string; text: string }>(
      'SELECT id, target, text FROM notices WHERE kind = $1 AND visit_id IS NOT DISTINCT FROM $2 ORDER BY id',
      [kind, visitId],
    )
  ).rows.map((r) => ({ ...r, id: String(r.id) }));
async function sendAll(ids: readonly string[]) {
  for (const id of ids) expect((await sendNotice({ noticeId: id }, run, deps)).status).toBe('sent');
}

describe('notices about a visit', () => {
  it('tells the named people of a cancellation and of each change, once each', async () => {
    const id = await departed();
    await runningLate(vdeps, lead, id, new Date(now.getTime() + 2 * 3_600_000), 'parent arrived late');
    await runningLate(vdeps, lead, id, new Date(now.getTime() + 3 * 3_600_000), 'long meeting');
    const changed = await noticesOf(id, 'changed');
    expect(changed).toHaveLength(2);
    expect(changed[0]!.text).toMatch(
      new RegExp(`^Home visit #${id} \\(pupil A\\.O\\.\\): Lee Lead and partner are running late`),
    );
    await cancelVisit(vdeps, lead, id, 'dog loose in the garden');
    const cancelled = await noticesOf(id, 'cancelled');
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]!.text).toContain('was cancelled by Lee Lead: dog loose in the garden');
    for (const n of [...changed, ...cancelled]) {
      expect(await producer.queueFor('send-notice').getJob(`send-notice-${n.id}`)).toBeTruthy();
      expect(n.text).not.toContain('Okonkwo'); // initials only
    }
    const before = teams().length;
    await sendAll([...changed, ...cancelled].map((n) => n.id));
    expect(teams().length - before).toBe(3);
  });

  it('sends a concern raised on the phone at once, in its words, and into the records; only from the visit', async () => {
    const id = await departed();
    await expect(raiseConcern(vdeps, stranger, id, 'x')).rejects.toMatchObject({
      code: 'DOORSTEP_FORBIDDEN',
    });
    const r = await raiseConcern(vdeps, lead, id, 'Bruising on the younger sibling; mother evasive');
    expect(r.notified).toBe(1);
    const [n] = await noticesOf(id, 'concern');
    expect(n!.text).toBe(
      `Lee Lead raised a safeguarding concern on home visit #${id} (pupil A.O.): Bruising on the younger sibling; mother evasive`,
    );
    const { rows: records } = await db.query<{ kind: string; body: string }>(
      `SELECT kind, body FROM outbox WHERE source_type = 'visit' AND source_id = $1`,
      [id],
    );
    expect(records).toEqual([
      { kind: 'visit_concern', body: expect.stringContaining('Bruising on the younger sibling') },
    ]);
    const { rows: audit } = await db.query<{ after: Record<string, unknown> }>(
      `SELECT after FROM audit_log WHERE action = 'visit.concern-raised' AND entity_id = $1`,
      [id],
    );
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit[0]!.after)).not.toContain('Bruising'); // its words live in the record
    // Not before the visit has left.
    const notYet = await requestVisit(vdeps, lead, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'welfare',
    });
    await expect(raiseConcern(vdeps, lead, notYet, 'x')).rejects.toMatchObject({ code: 'DOORSTEP_CONFLICT' });
  });

  it('a concern sent again with its page id (the answer lost on a poor signal) is told what the first did: no second record, notice or audit', async () => {
    const id = await departed();
    const first = await raiseConcern(
      vdeps,
      lead,
      id,
      'Mother evasive about the baby',
      'child',
      'page-press-0001',
    );
    const again = await raiseConcern(
      vdeps,
      lead,
      id,
      'Mother evasive about the baby',
      'child',
      'page-press-0001',
    );
    expect(again).toEqual(first);
    expect(again.notified).toBe(1); // never "the school names no one" for the repeat
    expect(await noticesOf(id, 'concern')).toHaveLength(1);
    const count = async (sql: string) => (await db.query<{ n: number }>(sql, [id])).rows[0]!.n;
    expect(
      await count(
        `SELECT count(*)::int AS n FROM outbox WHERE source_type = 'visit' AND source_id = $1 AND kind = 'visit_concern'`,
      ),
    ).toBe(1);
    expect(
      await count(
        `SELECT count(*)::int AS n FROM audit_log WHERE action = 'visit.concern-raised' AND entity_id = $1`,
      ),
    ).toBe(1);
    // Another concern (its own id) is its own record, even in the same instant.
    await raiseConcern(vdeps, lead, id, 'Sibling not at school either', 'child', 'page-press-0002');
    expect(await noticesOf(id, 'concern')).toHaveLength(2);
    // Another person's press with the same id is theirs, not the lead's.
    const other = await raiseConcern(vdeps, partner, id, 'Dog loose', 'incident', 'page-press-0001');
    expect(other.outboxId).not.toBe(first.outboxId);
  });

  it('a concern raised while the queue is away is saved once and said saved — never "failed", so never pressed again into a second record', async () => {
    const id = await departed();
    const away = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
    away.disconnect(); // a fail-fast connection that is down: every enqueue throws
    const down = new Producer(catalog, away, prefix);
    const r = await raiseConcern({ ...vdeps, producer: down }, lead, id, 'Younger sibling alone at home');
    await down.close().catch(() => {});
    expect(r.outboxId).not.toBeNull();
    const { rows: notices } = await db.query<{ status: string }>(
      `SELECT status FROM notices WHERE kind = 'concern' AND visit_id = $1`,
      [id],
    );
    expect(notices).toEqual([{ status: 'pending' }]); // the notices' relay sends it
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM outbox WHERE source_type = 'visit' AND source_id = $1 AND kind = 'visit_concern'`,
      [id],
    );
    expect(rows[0]!.n).toBe(1);
  });

  it('an incident of aggression, violence or threat goes to the people named for incidents (else the concern people), as an incident', async () => {
    const id = await departed();
    const r = await raiseConcern(vdeps, lead, id, 'Father shouted and blocked the door', 'incident');
    expect(r.notified).toBe(1);
    expect(await noticesOf(id, 'concern')).toEqual([]);
    const [n] = await noticesOf(id, 'incident');
    expect(n).toMatchObject({
      target: 'teams', // no notices.incident here: the concern people
      text: `Lee Lead reported an incident of aggression, violence or threat on home visit #${id} (pupil A.O.): Father shouted and blocked the door`,
    });
    // A school that names people for incidents: they hear of it, not the concern people.
    const split = {
      ...vdeps,
      config: {
        ...vdeps.config,
        schools: vdeps.config.schools.map((s) =>
          s.id === 'hampton' ? { ...s, notices: { ...s.notices, incident: ['sms:visiting-staff'] } } : s,
        ),
      },
    };
    await raiseConcern(split, lead, id, 'Dog set on the worker', 'incident');
    await raiseConcern(split, lead, id, 'Younger sibling alone at home', 'child');
    expect((await noticesOf(id, 'incident')).map((x) => x.target)).toEqual(['teams', 'sms:visiting-staff']);
    expect((await noticesOf(id, 'concern')).map((x) => x.target)).toEqual(['teams']);
  });

  it('tells the people named for arrivals that the worker arrived safely (Thames View 2.4: SLT), once', async () => {
    const id = await departed();
    await arriveVisit(vdeps, lead, id);
    const told = await noticesOf(id, 'arrived');
    expect(told).toEqual([
      expect.objectContaining({
        target: 'teams',
        text: expect.stringMatching(
          new RegExp(`^Lee Lead and partner arrived safely at home visit #${id} \\(pupil A\\.O\\.\\) at `),
        ),
      }),
    ]);
    expect(await producer.queueFor('send-notice').getJob(`send-notice-${told[0]!.id}`)).toBeTruthy();
  });

  it('sends the concerns typed into an outcome to the concern people, once; none for an outcome without', async () => {
    const id = await departed();
    const outcome = {
      childSeen: true,
      noOneHome: false,
      agreements: [],
      followUp: [],
      concerns: ['Father was aggressive at the door', '  '],
    };
    await recordOutcome(vdeps, lead, id, outcome);
    await expect(recordOutcome(vdeps, lead, id, outcome)).rejects.toMatchObject({
      code: 'DOORSTEP_CONFLICT',
    });
    const sent = await noticesOf(id, 'concern');
    expect(sent.map((n) => [n.target, n.text])).toEqual([
      [
        'teams',
        `Lee Lead recorded a concern in the outcome of home visit #${id} (pupil A.O.): Father was aggressive at the door`,
      ],
    ]);
    expect(await producer.queueFor('send-notice').getJob(`send-notice-${sent[0]!.id}`)).toBeTruthy();
    const quiet = await departed();
    await recordOutcome(vdeps, lead, quiet, { ...outcome, concerns: [] });
    expect(await noticesOf(quiet, 'concern')).toEqual([]);
  });

  it('tells the concern people of an alarm resolved as an incident; the relay sends a notice nobody queued', async () => {
    const id = await departed();
    const alarmId = await askForHelp(vdeps, lead, id, null);
    await resolveAlarm(
      db,
      vdeps.config,
      alarmId,
      `user:${sg.id}`,
      'incident_without_dispatch',
      'father shouted',
      now,
    );
    const [n] = await noticesOf(id, 'incident');
    expect(n!.text).toContain(`Alarm #${alarmId} (sos on home visit #${id}) was resolved as an incident`);
    // resolveAlarm has no queue: the relay picks the notice up once it is 10 s old, once.
    expect(await producer.queueFor('send-notice').getJob(`send-notice-${n!.id}`)).toBeUndefined();
    await db.query(`UPDATE notices SET created_at = created_at - interval '1 minute' WHERE id = $1`, [n!.id]);
    expect((await relayOutbox({ reason: 'manual' }, run, deps)).notices).toBeGreaterThanOrEqual(1);
    expect(await producer.queueFor('send-notice').getJob(`send-notice-${n!.id}`)).toBeTruthy();
    await sendAll([n!.id]);
    const again = await relayOutbox({ reason: 'manual' }, run, deps);
    expect(again.notices).toBe(0);
  });

  it('a notice that failed for good, or was tried and is still not sent an hour on, is on the board; the stuck one is queued again, once an hour', async () => {
    const id = await departed();
    await raiseConcern(vdeps, lead, id, 'dog loose, staff bitten');
    const [stuck] = await noticesOf(id, 'concern');
    // Tried once, its job lost mid-try (a worker killed): pending, and nothing will try it again.
    await db.query(
      `UPDATE notices SET attempts = 1, last_error = 'ECONNRESET', created_at = now() - interval '2 hours' WHERE id = $1`,
      [stuck!.id],
    );
    const failing = await departed();
    await raiseConcern(vdeps, lead, failing, 'window smashed');
    const [dead] = await noticesOf(failing, 'concern');
    await db.query(
      `UPDATE notices SET status = 'failed', attempts = 6, last_error = 'HTTP 500' WHERE id = $1`,
      [dead!.id],
    );
    const state = () => boardState(db, 'hampton', '2026-11-23', now, vdeps.rulesFor('hampton'));
    const board = await state();
    expect(board.failed.filter((f) => f.what === 'notice')).toEqual([
      expect.objectContaining({
        id: dead!.id,
        detail: `concern:${dead!.target}`,
        error: 'HTTP 500',
        visitId: failing,
      }),
      expect.objectContaining({
        id: stuck!.id,
        error: 'not sent after 1 tries in over an hour: ECONNRESET',
        visitId: id,
      }),
    ]);
    await relayOutbox({ reason: 'manual' }, run, deps);
    const hour = Math.floor(now.getTime() / 3_600_000);
    expect(
      await producer.queueFor('send-notice').getJob(`send-notice-${stuck!.id}-stuck-${hour}`),
    ).toBeTruthy();
    await sendAll([stuck!.id]);
    // One still not sent a day after it was written is failed, with why: never pending for ever.
    const [old] = await noticesOf(id, 'concern');
    await db.query(
      `UPDATE notices SET status = 'pending', attempts = 2, last_error = 'ETIMEDOUT', created_at = now() - interval '25 hours' WHERE id = $1`,
      [old!.id],
    );
    await relayOutbox({ reason: 'manual' }, run, deps);
    const stale = await db.query<{ status: string; last_error: string }>(
      'SELECT status, last_error FROM notices WHERE id = $1',
      [old!.id],
    );
    expect(stale.rows[0]).toEqual({
      status: 'failed',
      last_error: 'not sent within a day of being written (last: ETIMEDOUT)',
    });
    await db.query(`UPDATE notices SET status = 'sent' WHERE id = $1`, [old!.id]);
    // A notice no try will change (a group with nobody in it) is failed at once, never left pending.
    await db.query(`UPDATE notices SET target = 'sms:nobody-here' WHERE id = $1`, [dead!.id]);
    await db.query(`UPDATE notices SET status = 'pending', attempts = 0 WHERE id = $1`, [dead!.id]);
    await expect(sendNotice({ noticeId: dead!.id }, run, deps)).rejects.toThrow();
    expect(
      (await db.query<{ status: string }>('SELECT status FROM notices WHERE id = $1', [dead!.id])).rows[0]!
        .status,
    ).toBe('failed');
    expect((await state()).failed.filter((f) => f.what === 'notice').map((f) => f.id)).toEqual([dead!.id]);
  });

  it('a notice never tried a day after it was written (its job failed every try before the first it recorded) is failed, with why — never pending for ever', async () => {
    const id = await departed();
    await raiseConcern(vdeps, lead, id, 'door kicked in');
    const [n] = await noticesOf(id, 'concern');
    await db.query(`UPDATE notices SET created_at = now() - interval '25 hours' WHERE id = $1`, [n!.id]);
    await relayOutbox({ reason: 'manual' }, run, deps);
    expect(
      (
        await db.query<{ status: string; last_error: string }>(
          'SELECT status, last_error FROM notices WHERE id = $1',
          [n!.id],
        )
      ).rows[0],
    ).toEqual({ status: 'failed', last_error: 'never tried within a day of being written' });
  });

  it('a notice withdrawn while a try of it was in flight stays withdrawn when that try fails', async () => {
    const id = await departed();
    await raiseConcern(vdeps, lead, id, 'x');
    const [n] = await noticesOf(id, 'concern');
    await db.query(`UPDATE notices SET status = 'failed', last_error = 'withdrawn' WHERE id = $1`, [n!.id]);
    await markNotice(db, n!.id, { status: 'pending', error: 'HTTP 503' });
    expect(
      (await db.query<{ status: string }>('SELECT status FROM notices WHERE id = $1', [n!.id])).rows[0]!
        .status,
    ).toBe('failed');
  });

  it('chases a visit back without an outcome: the visitors by SMS, then the named people, each once', async () => {
    const id = await departed();
    await returnVisit(vdeps, lead, id);
    const back = now;
    now = new Date(back.getTime() + 3_600_000); // 1 h: not yet
    await chaseOutcomes({ reason: 'manual' }, run, deps);
    expect(await noticesOf(id, 'outcome-missing')).toEqual([]);
    now = new Date(back.getTime() + 2.5 * 3_600_000); // past 2 h: the visitors
    await chaseOutcomes({ reason: 'manual' }, run, deps);
    await chaseOutcomes({ reason: 'manual' }, run, deps);
    const first = await noticesOf(id, 'outcome-missing');
    expect(first.map((n) => n.target)).toEqual(['sms:visiting-staff']);
    const smsBefore = sms().length;
    await sendAll(first.map((n) => n.id));
    expect(
      sms()
        .slice(smsBefore)
        .map((m) => m.get('To'))
        .sort(),
    ).toEqual(['+447700900111', '+447700900222']);
    now = new Date(back.getTime() + 4.5 * 3_600_000); // past twice that: the named people
    await chaseOutcomes({ reason: 'manual' }, run, deps);
    const all = await noticesOf(id, 'outcome-missing');
    expect(all.map((n) => n.target)).toEqual(['sms:visiting-staff', 'teams']);
    expect(all[1]!.text).toMatch(new RegExp(`^home visit #${id} \\(pupil A\\.O\\.\\) came back 4 hours ago`));
    now = back;
  });
});
