import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { acceptFobPayload } from '../../src/alarms/accept.ts';
import { fobsOutCheck } from '../../src/checks/fobs-out.ts';
import { connectionChecks } from '../../src/cli/check-command.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { DoorstepConfig, SchoolConfig } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log/logger.ts';
import { startDoorstep } from '../../src/runtime/start.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { departureCheck } from '../../src/visits/departure.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { configWith } from '../helpers/config.ts';
import { fobsConfig, fobWorld } from '../helpers/fob-world.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { departTold } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';
import { BACKENDS } from '../store/dp-fixtures.ts';

/**
 * A fob given to another member of staff (or moved to another school) in the config while its wearer
 * is out on a visit with it. The visit records the fob it left with (`visits.fob_device_id`): every
 * event of that fob is that visit's — its lead's staff id, the visit's alarm, its check-in — over the
 * registry, and no one else leaves holding it until that visit is back safe (refused where the policy
 * asks for a fob, else leaving recorded with no fob).
 *
 * Ann leaves on a Hampton visit with FOB-1 (hers in the config); Bob, with no fob of his, leaves on
 * one of his own. Then the config gives FOB-1 to Bob and Doorstep restarts. Ann is still wearing it.
 */
let now = new Date('2026-11-23T10:00:00Z');
const w = fobWorld('fobheld', BACKENDS[0]!.open, () => now, { schools: ['hampton', 'lime'] });
let carl: User;
let p2: User;
let annVisit: string;
let bobVisit: string;
const before = fobsConfig('{ deviceId: FOB-1, staffId: st-ann }');
const after = fobsConfig('{ deviceId: FOB-1, staffId: st-bob }');
const toCarl = fobsConfig('{ deviceId: FOB-1, staffId: st-carl }');
/** The same, under a policy asking every worker to carry a fob (as Heath Lane's does). */
const fobRequired = (config: DoorstepConfig): VisitDeps => {
  const rules = visitRulesLookup(config);
  return {
    ...w.vdeps(config),
    rulesFor: (id: string) => {
      const r = rules(id);
      return { ...r, requires: { ...r.requires, fob: true } };
    },
  };
};
const hamptonOf = (config: DoorstepConfig) => config.schools.find((s) => s.id === 'hampton')!;
const ingest = (config: DoorstepConfig, id: string, type: 'sos' | 'check_in' = 'sos') =>
  w.ingest(config, id, 'FOB-1', type);
const alarmRow = async (id: string) =>
  (
    await w.db.query<{ school_id: string; staff_id: string | null; visit_id: string | null }>(
      'SELECT school_id, staff_id, visit_id::text FROM alarms WHERE id = $1',
      [id],
    )
  ).rows[0]!;
const timeline = async (id: string) =>
  (
    await w.db.query<{ event: string }>('SELECT event FROM alarm_timeline WHERE alarm_id = $1 ORDER BY id', [
      id,
    ])
  ).rows.map((r) => r.event);
const lastCheckIns = async () =>
  Object.fromEntries(
    (
      await w.db.query<{ id: string; last: Date | null }>(
        'SELECT id::text, last_check_in_at AS last FROM visits WHERE id = ANY($1::bigint[])',
        [[annVisit, bobVisit]],
      )
    ).rows.map((r) => [r.id === annVisit ? 'ann' : 'bob', r.last]),
  );

beforeAll(async () => {
  carl = await addUser(w.db, 'carl', ['visiting-staff'], { staffId: 'st-carl', phone: '+447700900555' });
  p2 = await addUser(w.db, 'p2', ['visiting-staff'], { phone: '+447700900444' });
  annVisit = await w.out(before, w.ann, w.p1);
  bobVisit = await w.out(before, w.bob, p2);
  // Config changed (FOB-1 → Bob), Doorstep restarted; Ann is still out wearing FOB-1.
  now = new Date('2026-11-23T10:20:00Z');
});

describe('a fob given to someone else while its wearer is out with it', () => {
  it('the visits recorded the fob each left with: FOB-1 for Ann, none for Bob', async () => {
    expect((await getVisit(w.db, annVisit))!.fobDeviceId).toBe('FOB-1');
    expect((await getVisit(w.db, bobVisit))!.fobDeviceId).toBeNull();
  });

  it("Ann's SOS is Ann's from the moment it is written: her staff id, her visit, the change said on its card", async () => {
    now = new Date('2026-11-23T10:30:00Z');
    const r = await ingest(after, 'ann-sos-1');
    expect(r).toMatchObject({ outcome: 'accepted', held: { schoolId: 'hampton', visitId: annVisit } });
    const alarmId = (r as { alarmId: string }).alarmId;
    // Tied to her visit by the watch, as every device alarm is (the board finds it by its fob meanwhile).
    expect(await alarmRow(alarmId)).toEqual({ school_id: 'hampton', staff_id: 'st-ann', visit_id: null });
    expect((await timeline(alarmId))[0]).toBe(
      `alarm raised: sos; device FOB-1 is out with visit #${annVisit} (it left with it): raised as that visit's, its lead staff st-ann, though the school's fobs.devices now give it to staff st-bob — the config changed while the visit was out`,
    );
    // Its event is Ann's too; the board was told whose it is.
    const { rows: ev } = await w.db.query<{ staff_id: string }>(
      `SELECT e.staff_id FROM fob_events e JOIN alarms a ON a.fob_event_id = e.id WHERE a.id = $1`,
      [alarmId],
    );
    expect(ev).toEqual([{ staff_id: 'st-ann' }]);
    const { rows: board } = await w.db.query<{ payload: Record<string, unknown> }>(
      `SELECT payload FROM board_events WHERE type = 'alarm.raised' AND payload->>'alarmId' = $1`,
      [alarmId],
    );
    expect(board[0]!.payload).toMatchObject({ staffId: 'st-ann', unknownDevice: false });
    // The watch ties it to Ann's visit.
    await w.watch(after);
    expect(await alarmRow(alarmId)).toMatchObject({ staff_id: 'st-ann', visit_id: annVisit });
  });

  it("the watch ties an alarm of the fob stored under the registry's name (before this fix) to the visit holding the fob", async () => {
    const { rows } = await w.db.query<{ id: string }>(
      `INSERT INTO alarms (school_id, dedup_key, device_id, staff_id, unknown_device, type, status, raised_at)
       VALUES ('hampton', 'stored-under-registry', 'FOB-1', 'st-bob', false, 'sos', 'open', $1) RETURNING id::text`,
      [now],
    );
    await w.watch(after);
    expect((await alarmRow(rows[0]!.id)).visit_id).toBe(annVisit);
  });

  it("a check-in of the fob stored under the registry's name counts for Ann's visit, never for Bob's", async () => {
    now = new Date('2026-11-23T10:40:00Z');
    await w.db.query(
      `INSERT INTO fob_events (school_id, device_id, vendor_event_id, type, occurred_at, received_at, staff_id,
                               transport, profile, raw, content_hash)
       VALUES ('hampton', 'FOB-1', 'stored-chk-1', 'check_in', $1, $1, 'st-bob', 'mqtt', 'peoplesafe-style', '{}', 'h')`,
      [now],
    );
    await w.watch(after);
    expect(await lastCheckIns()).toEqual({ ann: now, bob: null });
  });

  it("Ann's check-in pressed on her fob now: stored as hers, counted for her visit only", async () => {
    now = new Date('2026-11-23T10:50:00Z');
    const r = await ingest(after, 'ann-chk-2', 'check_in');
    const { rows } = await w.db.query<{ staff_id: string }>('SELECT staff_id FROM fob_events WHERE id = $1', [
      (r as { eventId: string }).eventId,
    ]);
    expect(rows).toEqual([{ staff_id: 'st-ann' }]);
    await w.watch(after);
    expect(await lastCheckIns()).toEqual({ ann: now, bob: null });
  });

  it('no one else leaves holding the fob while that visit is out: where the policy asks for a fob, refused in plain words, naming the fob but never whose visit', async () => {
    const carlVisit = await w.request(toCarl, carl);
    const page = await departureCheck(fobRequired(toCarl), carl, carlVisit, {
      expectedReturnAt: new Date(now.getTime() + 60 * 60_000),
      partnerUserId: w.p1.id,
      risksRead: true,
    });
    expect(page.filter((f) => f.rule === 'fob-out' || f.rule === 'fob')).toEqual([
      {
        level: 'block',
        rule: 'fob-out',
        message:
          "fob FOB-1 is still out with another visit (not back safe from it yet): its alarms and check-ins would go to that visit, not this one — ask the office to record Back safe on that visit first, or to register another fob to the lead (the school's fobs.devices)",
      },
    ]);
    const refused = await departTold(fobRequired(toCarl), carl, carlVisit, {
      expectedReturnAt: new Date(now.getTime() + 120 * 60_000),
      partnerUserId: w.p1.id,
      risksRead: true,
    }).then(
      () => null,
      (e: unknown) => e as { code: string; statusCode: number; message: string },
    );
    expect(refused).toMatchObject({ code: 'DOORSTEP_POLICY', statusCode: 422 });
    expect(refused!.message).toMatch(/fob FOB-1 is still out with another visit/);
    expect(refused!.message).not.toMatch(new RegExp(`\\bAnn\\b|st-ann|#${annVisit}\\b`));
    expect((await getVisit(w.db, carlVisit))!.departedAt).toBeNull();
  });

  it("where the policy asks for no fob (Hampton's), the worker leaves, warned, recording no fob — never a second holder", async () => {
    const carlVisit = await w.request(toCarl, carl);
    const warned = [
      {
        level: 'warn',
        rule: 'fob-out',
        message:
          "leaving without a fob — do not rely on fob FOB-1: it is recorded out with another visit, and its alarms and check-ins go to that visit; this visit is recorded with no fob (check in by phone); ask the office to record Back safe on that visit, or to register another fob to the lead (the school's fobs.devices)",
      },
    ];
    const page = await departureCheck(w.vdeps(toCarl), carl, carlVisit, {
      expectedReturnAt: new Date(now.getTime() + 60 * 60_000),
      partnerUserId: w.p1.id,
      risksRead: true,
    });
    expect(page.filter((f) => f.rule === 'fob-out' || f.rule === 'fob')).toEqual(warned);
    await w.out(toCarl, carl, w.p1, carlVisit);
    const left = (await getVisit(w.db, carlVisit))!;
    expect(left.departedAt).not.toBeNull();
    expect(left.fobDeviceId).toBeNull();
    const { rows } = await w.db.query<{ after: { warnings: string[] } }>(
      `SELECT after FROM audit_log WHERE action = 'visit.departed' AND entity_id = $1`,
      [carlVisit],
    );
    expect(rows[0]!.after.warnings).toContain('fob-out');
    // FOB-1's SOS is still Ann's (the visit that left with it), never Carl's.
    const r = await ingest(toCarl, 'ann-sos-carl-out');
    expect(r).toMatchObject({ outcome: 'accepted', held: { schoolId: 'hampton', visitId: annVisit } });
    await w.watch(toCarl);
    expect(await alarmRow((r as { alarmId: string }).alarmId)).toMatchObject({
      staff_id: 'st-ann',
      visit_id: annVisit,
    });
    await w.backSafe(carlVisit, now);
  });

  it('the same worker leaving on another visit of the trip (a brother or sister at the address) keeps the fob', async () => {
    const sibling = await w.out(before, w.ann, w.p1);
    expect((await getVisit(w.db, sibling))!.fobDeviceId).toBe('FOB-1');
    // An SOS is still the first visit's (the one that left with it first).
    now = new Date('2026-11-23T11:00:00Z');
    const r = await ingest(before, 'ann-sos-trip');
    await w.watch(before);
    expect(await alarmRow((r as { alarmId: string }).alarmId)).toMatchObject({
      staff_id: 'st-ann',
      visit_id: annVisit,
    });
    // Nothing said on its card: the registry agrees.
    expect((await timeline((r as { alarmId: string }).alarmId))[0]).toBe('alarm raised: sos');
    await w.backSafe(sibling, now);
  });

  it('two leads out holding one fob (recorded before such a departure was refused): the first to leave has its events', async () => {
    await w.db.query(`UPDATE visits SET fob_device_id = 'FOB-1' WHERE id = $1`, [bobVisit]);
    now = new Date('2026-11-23T11:10:00Z');
    const r = await ingest(after, 'ann-sos-2');
    await ingest(after, 'ann-chk-3', 'check_in');
    await w.watch(after);
    expect(await alarmRow((r as { alarmId: string }).alarmId)).toMatchObject({
      staff_id: 'st-ann',
      visit_id: annVisit,
    });
    expect(await lastCheckIns()).toEqual({ ann: now, bob: null });
    await w.db.query(`UPDATE visits SET fob_device_id = NULL WHERE id = $1`, [bobVisit]);
  });
});

describe('a fob moved to another school while its wearer is out with it', () => {
  // FOB-1 now in Lime Hills' registry, no longer in Hampton's; the trust's one feed brings it to Hampton.
  const moved: DoorstepConfig = {
    ...after,
    schools: after.schools.map(
      (s): SchoolConfig => ({
        ...s,
        fobs: { ...s.fobs, devices: s.id === 'lime' ? [{ deviceId: 'FOB-1', staffId: 'st-lime' }] : [] },
      }),
    ),
  };
  const lime = moved.schools.find((s) => s.id === 'lime')!;
  const transport = configWith({
    school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
`,
  }).schools[0]!.fobs.transports[0]!;

  /** Ann's SOS on FOB-1 arriving on Hampton's feed, where the config now registers FOB-1 at Lime Hills. */
  const annSos = () =>
    acceptFobPayload(
      {
        db: w.db,
        producer: w.producer,
        prefix: w.prefix,
        publisher: w.conn,
        schoolOfDevice: (id) => (id === 'FOB-1' ? lime : undefined),
      },
      hamptonOf(moved),
      transport,
      Buffer.from(
        JSON.stringify({
          event_id: 'ann-sos-moved',
          device: { id: 'FOB-1' },
          type: 'SOS',
          occurred_at: now.toISOString(),
        }),
      ),
      { receivedAt: now, source: 'doorstep/alpha/fobs/FOB-1/events', deviceId: 'FOB-1', signature: null },
    );

  it("Ann's SOS arriving at Hampton stays at Hampton, hers and her visit's — not Lime Hills' office's", async () => {
    now = new Date('2026-11-23T11:20:00Z');
    const r = await annSos();
    expect(r).toMatchObject({ outcome: 'accepted', held: { schoolId: 'hampton', visitId: annVisit } });
    const alarmId = (r as { alarmId: string }).alarmId;
    await w.watch(moved);
    expect(await alarmRow(alarmId)).toEqual({ school_id: 'hampton', staff_id: 'st-ann', visit_id: annVisit });
    const said = await timeline(alarmId);
    expect(said[0]).toBe(
      `alarm raised: sos; device FOB-1 is out with visit #${annVisit} (it left with it): raised as that visit's, its lead staff st-ann, though the device is now registered at ${lime.name} and not here — the config changed while the visit was out`,
    );
    // Not said to have been routed here, nor to be an unknown device.
    expect(said.filter((e) => e.startsWith('arrived on') || e.includes('is not registered'))).toEqual([]);
    // Its redelivery is the same alarm.
    const again = await annSos();
    expect(again).toEqual({ outcome: 'duplicate', alarmId });
  });
});

describe("a fob moved to another school's registry while a visit out holds it: that school's worker leaves without it", () => {
  // FOB-1 in Lime Hills' registry, given to Lime's worker; Ann's Hampton visit still out with it.
  // No feed in this config: the trust names no vendor, so Lime's fob ids may be Hampton's fobs.
  const moved: DoorstepConfig = {
    ...after,
    schools: after.schools.map(
      (s): SchoolConfig => ({
        ...s,
        fobs: { ...s.fobs, devices: s.id === 'lime' ? [{ deviceId: 'FOB-1', staffId: 'st-lime' }] : [] },
      }),
    ),
  };
  let lim: User;
  const limeVisit = async (deps: VisitDeps) => {
    const id = await requestVisit(deps, lim, { schoolId: 'lime', pupilMisId: 'P1', reason: 'welfare' });
    await w.db.query(`UPDATE visits SET status = 'authorised' WHERE id = $1`, [id]); // authorised by the head
    return id;
  };
  const leave = (deps: VisitDeps, id: string) =>
    departTold(deps, lim, id, {
      expectedReturnAt: new Date(now.getTime() + 120 * 60_000),
      partnerUserId: p2.id,
      risksRead: true,
      safeWord: 'bluebell',
    });
  beforeAll(async () => {
    lim = await addUser(w.db, 'lim', ['visiting-staff'], { staffId: 'st-lime', phone: '+447700900666' });
  });

  it('where the policy asks for a fob: refused, as at the same school', async () => {
    const id = await limeVisit(fobRequired(moved));
    const refused = await leave(fobRequired(moved), id).then(
      () => null,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(refused).toMatchObject({ code: 'DOORSTEP_POLICY' });
    expect(refused!.message).toMatch(/fob FOB-1 is still out with another visit/);
    expect((await getVisit(w.db, id))!.departedAt).toBeNull();
  });

  it("where it asks for none (Lime Hills'): leaves warned, recording no fob; FOB-1's SOS at Hampton is still Ann's", async () => {
    now = new Date('2026-11-23T11:30:00Z');
    const id = await limeVisit(w.vdeps(moved));
    const page = await departureCheck(w.vdeps(moved), lim, id, {
      expectedReturnAt: new Date(now.getTime() + 60 * 60_000),
      partnerUserId: p2.id,
      risksRead: true,
      safeWord: 'bluebell',
      identification: true,
    });
    expect(page.filter((f) => f.rule === 'fob-out').map((f) => f.level)).toEqual(['warn']);
    await leave(w.vdeps(moved), id);
    const left = (await getVisit(w.db, id))!;
    expect(left.departedAt).not.toBeNull();
    expect(left.fobDeviceId).toBeNull();
    const r = await ingest(moved, 'ann-sos-lime-out');
    expect(r).toMatchObject({ outcome: 'accepted', held: { schoolId: 'hampton', visitId: annVisit } });
    await w.backSafe(id, now);
  });
});

describe('doorstep check and /readyz: a visit out holding a fob the config gives elsewhere', () => {
  it('is warned of (never a failure), with school and fob ids only', async () => {
    expect(await fobsOutCheck(w.db, before)).toEqual({
      name: 'fobs-out',
      ok: true,
      detail: "every fob out with a visit is its lead's in the config",
    });
    const words =
      "school \"hampton\": fob FOB-1 is out with 1 visit(s) not back safe, but its fobs.devices now give it to someone else — its alarms and check-ins arriving on that school's feeds still go to the visit that left with it (its lead's); until that visit is back safe no one else leaves holding it, there or at another school whose feeds may bring the same fob (where the school's policy asks for a fob the departure is refused, else the visit leaves recorded with no fob); hand the fob over once it is, or put the config back as the fob is worn";
    expect(await fobsOutCheck(w.db, after)).toEqual({
      name: 'fobs-out',
      ok: true,
      warning: true,
      detail: words,
    });
    const none = fobsConfig('{ deviceId: FOB-2, staffId: st-ann }');
    expect((await fobsOutCheck(w.db, none)).detail).toMatch(
      /^school "hampton": fob FOB-1 is out with 1 visit\(s\) not back safe, but its fobs.devices now give it to no one — /,
    );

    // doorstep check: a warning of its own beside the store test.
    const checks = connectionChecks(
      { ...after, store: { ...after.store, schema: w.store.schema } },
      TEST_DATABASE_URL,
    );
    const results = await Promise.all(checks.slice(1, 3).map((c) => c()));
    expect(results).toEqual([
      expect.objectContaining({ name: 'store', ok: true }),
      { name: 'fobs-out', ok: true, warning: true, detail: words },
    ]);

    // /readyz of a running Doorstep: still ready (200), the check named among its warnings.
    const webPrefix = uniqueName('fobheldweb').replace(/_/g, '-');
    const running = await startDoorstep({
      config: {
        ...after,
        http: { ...after.http, host: '127.0.0.1', port: 0 },
        redis: { ...after.redis, url: TEST_REDIS_URL, prefix: webPrefix },
        store: { ...after.store, schema: w.store.schema },
      },
      roles: ['web'],
      log: createLogger({ level: 'silent' }),
      databaseUrl: TEST_DATABASE_URL,
    });
    try {
      const res = await fetch(`${running.url}/readyz`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { checks: { name: string; detail: string }[] };
      expect(body).toMatchObject({ status: 'ready', down: [], warnings: ['fobs-out'] });
      expect(body.checks.find((c) => c.name === 'fobs-out')!.detail).toBe(words);
      expect(JSON.stringify(body)).not.toMatch(/st-ann|Ann|st-bob|Bob/);
    } finally {
      await running.stop(5_000);
      await dropRedisPrefix(new Redis(TEST_REDIS_URL), webPrefix);
    }
  });
});
