import { constants, existsSync } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { calendarEnds } from '../checks/calendar-ends.ts';
import { fobRoutingGap } from '../checks/fob-routing.ts';
import { gatewayTopicGaps } from '../checks/fob-topics.ts';
import { genericTypeGaps } from '../checks/fob-types.ts';
import { fobWatchGap } from '../checks/fob-watch.ts';
import { fobsOutCheck } from '../checks/fobs-out.ts';
import { mqttPlaintextGaps } from '../checks/mqtt-plaintext.ts';
import { outsideConfigWords } from '../checks/outside-config.ts';
import { pushOptedIn } from '../checks/push-reach.ts';
import { isWarning, ladderReachability, noticeGaps } from '../checks/reachability.ts';
import { recordGaps } from '../checks/record-gaps.ts';
import { SCHOOL_CONNECTIONS, type SchoolConnection, schoolChecks } from '../checks/school-checks.ts';
import { sharedSmsFrom } from '../checks/sms-from.ts';
import { loadConfigFile } from '../config/load.ts';
import { visitRulesFor } from '../config/policy-packs.ts';
import type { DoorstepConfig, SchoolConfig } from '../config/schema.ts';
import { type Check, type CheckResult, runChecks } from '../core/checks.ts';
import { londonDate } from '../domain/attendance/dates.ts';
import { describeError } from '../errors.ts';
import { assertRedisReachable, describeRedisUrl } from '../queue/redis.ts';
import type { Db } from '../store/db.ts';
import { openPglite, StoreHeldError } from '../store/pglite.ts';
import { openPostgres } from '../store/postgres.ts';
import { watchedOutsideConfig } from '../store/visit-watch.ts';
import { runningServer } from './admin-client.ts';

export function summariseSchool(s: SchoolConfig): string {
  const fobs = s.fobs.transports.map((t) => t.kind).join('+') || 'none';
  return `${s.id} (${s.name}): mis ${s.mis.kind}, records ${[s.records.sink, ...s.alsoRecordTo.map((a) => `${a.sink} (${a.kinds.join(', ')})`)].join(' + ')}, fobs ${fobs}, policies ${s.policies.join(', ')}, escalation ${Object.keys(s.escalation).join(', ') || 'defaults'}${byTime(s)}`;
}

/** The ladders that differ by time, as `check` summarises them: ` (by time: school hours 08:00-17:00; out of hours: alarm; weekend: sos)`. */
function byTime(s: SchoolConfig): string {
  const h = s.escalationHours;
  if (!h) return '';
  const parts = [
    ...(h.schoolDay ? [`school hours ${h.schoolDay}`] : []),
    ...(['outOfHours', 'weekend', 'holiday'] as const)
      .filter((p) => h[p])
      .map((p) => `${p === 'outOfHours' ? 'out of hours' : p}: ${Object.keys(h[p]!).join(', ')}`),
  ];
  return ` (by time: ${parts.join('; ')})`;
}

/** Ladder levels that reach no one (or not everyone), per ladder and level (src/checks/reachability.ts). */
export function escalationGaps(s: SchoolConfig): string[] {
  return ladderReachability(s).map((p) => p.message);
}

/**
 * Connection tests: Redis, the store, and each school's MIS (API credentials or drop folder), records
 * sink, notification channels and MQTT brokers (credentials, topics, and whether anonymous clients get in).
 */
export function connectionChecks(config: DoorstepConfig, databaseUrl: string | undefined): Check[] {
  const redis: Check = async () => {
    const shown = describeRedisUrl(config.redis.url);
    try {
      const version = await assertRedisReachable({ url: config.redis.url, password: config.redis.password });
      return { name: 'redis', ok: true, detail: `${shown} answered (Redis ${version})` };
    } catch (err) {
      return { name: 'redis', ok: false, detail: describeError(err) };
    }
  };
  // The store is opened once (an embedded one cannot be opened twice at a time): its test, and the
  // fobs out with a visit that the config now gives elsewhere (a warning of their own).
  let looked: Promise<{ store: CheckResult; fobsOut: CheckResult }> | undefined;
  const look = () => {
    looked ??= lookInStore(config, databaseUrl);
    return looked;
  };
  const store: Check = async () => (await look()).store;
  const fobsOut: Check = async () => (await look()).fobsOut;
  const of = (kind: SchoolConnection) => config.schools.flatMap((s) => schoolChecks(config, s, kind));
  return [redis, store, fobsOut, ...SCHOOL_CONNECTIONS.flatMap(of)];
}

/**
 * Who turned on alarms on a device, per school with a push channel, when the store is PostgreSQL
 * (`DATABASE_URL`): the embedded store may belong to a running Doorstep, so it is not opened, and
 * an unreachable database leaves push steps unjudged (its connection test says why).
 */
async function pushOptedInOf(
  config: DoorstepConfig,
  databaseUrl: string | undefined,
): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  const schools = config.schools.filter((s) => s.channels.push);
  if (!databaseUrl || schools.length === 0) return out;
  const db = openPostgres({ url: databaseUrl, schema: config.store.schema });
  try {
    for (const s of schools) out.set(s.id, await pushOptedIn(db, s));
  } catch {
    // judged without it
  } finally {
    await db.close();
  }
  return out;
}

/**
 * `doorstep check`: every config error with path and line (exit 2); on a valid file a summary and
 * each connection test (exit 3 when one fails, 0 when none does: a warning or a skipped test —
 * e.g. the store's while a running Doorstep holds the embedded store — is not a failure).
 */
export async function checkCommand(opts: { config: string }, out: (line: string) => void): Promise<number> {
  const config = loadConfigFile(opts.config);
  out(`${opts.config}: valid`);
  out(`trust ${config.trust.id} (${config.trust.name}), ${config.schools.length} school(s)`);
  const optedIn = await pushOptedInOf(config, process.env.DATABASE_URL);
  for (const s of config.schools) {
    out(`  ${summariseSchool(s)}`);
    for (const p of ladderReachability(s, { pushOptedIn: optedIn.get(s.id) }))
      out(`  ${isWarning(p.kind) ? 'WARN' : 'note'}: ${s.id} ${p.message}`);
    for (const gap of noticeGaps(s, config.packs)) out(`  WARN: ${s.id} ${gap}`);
    for (const gap of recordGaps(s, visitRulesFor(s, config.packs))) out(`  WARN: ${s.id} ${gap}`);
    const fobGap = fobWatchGap(s, visitRulesFor(s, config.packs));
    if (fobGap) out(`  WARN: ${s.id} ${fobGap}`);
    const unrouted = fobRoutingGap(s, config);
    if (unrouted) out(`  WARN: ${s.id} ${unrouted}`);
    const sharedFrom = sharedSmsFrom(s, config);
    if (sharedFrom) out(`  WARN: ${s.id} ${sharedFrom}`);
    for (const gap of genericTypeGaps(s)) out(`  WARN: ${s.id} ${gap}`);
    for (const gap of gatewayTopicGaps(s)) out(`  WARN: ${s.id} ${gap}`);
    for (const gap of mqttPlaintextGaps(s)) out(`  WARN: ${s.id} ${gap}`);
    const runsOut = calendarEnds(s, londonDate(new Date()));
    if (runsOut) out(`  WARN: ${s.id} ${runsOut}`);
    if (s.calendar.terms.length === 0) {
      out(
        `  note: ${s.id} has no calendar.terms — every weekday counts as a school day, so bank holidays and INSET days look like missing marks; add the term dates (and last year's, for year-on-year patterns)`,
      );
    }
  }
  out('connections:');
  const results: CheckResult[] = await runChecks(connectionChecks(config, process.env.DATABASE_URL));
  // A warning (e.g. a broker that accepts anonymous clients) is shown but does not fail the check;
  // nor does a test that was not run (skipped: neither ok nor failed, its detail says why).
  for (const r of results)
    out(`  ${r.skipped ? 'skip' : r.ok ? (r.warning ? 'WARN' : 'ok  ') : 'FAIL'} ${r.name}: ${r.detail}`);
  return results.every((r) => r.ok) ? 0 : 3;
}

/** The fobs-out check's answer when the store could not be looked in (its own test says why): skipped, not ok. */
const FOBS_NOT_LOOKED: CheckResult = {
  name: 'fobs-out',
  ok: true,
  skipped: true,
  detail: 'fobs out with a visit not looked for (see the store test)',
};

/**
 * The store's test while another live process holds the embedded store (`pid`): skipped, saying who
 * holds it. `check` never runs through a running server (its admin socket refuses it), so while
 * that server runs trying again never helps: its /readyz is where the store is seen. A holder that
 * is not (yet) a running server — one still starting, or another command — lets go in time.
 */
async function storeHeld(config: DoorstepConfig, pid: number): Promise<CheckResult> {
  // Only its pid is read here (nothing is sent to it): an admin file that cannot be trusted or read
  // simply does not tell that the holder is the server.
  const server = await runningServer(config).catch(() => undefined);
  const detail =
    server?.pid === pid
      ? `the store is open in the running Doorstep (pid ${pid}), and \`check\` never runs through it: the store test is skipped — the running server's /readyz shows it (its "store", "watch" and "fobs-out" checks)`
      : `the store is open in another Doorstep process (pid ${pid}) — a \`doorstep start\` still starting, or a command that has not ended: the store test is skipped; run \`check\` again once that command has ended (a running server's /readyz shows the store)`;
  return { name: 'store', ok: true, skipped: true, detail };
}

/**
 * The store's test — connected and asked, in the deployment's own schema as `doorstep start` does
 * (never migrated from `check`), or the embedded folder writable and its database opened unless a
 * running Doorstep holds it — and, while it is open, the fobs out with a visit that the config now
 * gives to someone else or to no one (src/checks/fobs-out.ts).
 */
async function lookInStore(
  config: DoorstepConfig,
  databaseUrl: string | undefined,
): Promise<{ store: CheckResult; fobsOut: CheckResult }> {
  let fobsOut = FOBS_NOT_LOOKED;
  const store = await (async (): Promise<CheckResult> => {
    if (databaseUrl) {
      // Connect and ask, in the deployment's own schema as `doorstep start` does; never migrate from `check`.
      const db = openPostgres({ url: databaseUrl, schema: config.store.schema });
      try {
        const { rows } = await db.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
        // Workers out or alarms open at a school the config no longer holds: nothing watches them.
        const orphans = await watchedOutsideConfig(
          db,
          config.schools.map((s) => s.id),
        );
        fobsOut = await fobsOutCheck(db, config);
        if (orphans.length)
          return { name: 'store', ok: false, detail: `${db.describe}: ${outsideConfigWords(orphans)}` };
        return { name: 'store', ok: true, detail: `${db.describe} answered (PostgreSQL ${rows[0]?.v})` };
      } catch (err) {
        return { name: 'store', ok: false, detail: `${db.describe}: ${describeError(err)}` };
      } finally {
        await db.close();
      }
    }
    // PGlite: the folder must be writable; a database in it is opened (never migrated) to look for
    // workers out at schools not in the config — unless a running `doorstep start` holds it.
    const dir = resolve(config.store.dataDir);
    try {
      await mkdir(dir, { recursive: true });
      await access(dir, constants.W_OK);
    } catch (err) {
      return { name: 'store', ok: false, detail: `embedded PGlite folder ${dir}: ${describeError(err)}` };
    }
    const writable = `embedded PGlite folder ${dir} is writable (DATABASE_URL not set)`;
    if (!existsSync(join(dir, 'PG_VERSION'))) return { name: 'store', ok: true, detail: writable };
    let db: Db;
    try {
      db = await openPglite({ dataDir: dir });
    } catch (err) {
      // Held by another process (the running Doorstep, most often): skipped, saying so.
      if (err instanceof StoreHeldError) return await storeHeld(config, err.pid);
      // Unreadable: said — the running process itself says it at start and on /readyz (its `watch` check).
      return {
        name: 'store',
        ok: true,
        warning: true,
        detail: `${writable}; workers out at schools not in the config not looked for: ${describeError(err)} — /readyz of the running Doorstep (its "watch" check) says whether there are any`,
      };
    }
    try {
      const orphans = await watchedOutsideConfig(
        db,
        config.schools.map((s) => s.id),
      );
      fobsOut = await fobsOutCheck(db, config);
      if (orphans.length)
        return { name: 'store', ok: false, detail: `${db.describe}: ${outsideConfigWords(orphans)}` };
      return { name: 'store', ok: true, detail: writable };
    } catch (err) {
      return { name: 'store', ok: false, detail: `${db.describe}: ${describeError(err)}` };
    } finally {
      await db.close();
    }
  })();
  return { store, fobsOut };
}
