import type { EscalationPolicy } from '../domain/escalation/ladder.ts';
import { isDoorstepError } from '../errors.ts';
import {
  alarmForEvent,
  type IngestWrite,
  rehearseAlarmWrite,
  type WriteResult,
  writeFobEvents,
} from '../store/alarms.ts';
import { type BoardEventRow, publishBoardEvents } from '../store/board.ts';
import type { Db } from '../store/db.ts';
import type { IngestDeps } from './ingest-types.ts';
import { rememberRaised } from './recent-raises.ts';

interface Waiting {
  deps: IngestDeps;
  write: IngestWrite;
  at: number;
  resolve: (r: WriteResult) => void;
  reject: (err: unknown) => void;
}

/**
 * How many groups may be in the database at once (alarms; reports), and how large a group may grow.
 * Several in flight: a group stuck behind a slow WAL flush does not hold up the next alarm (the
 * database flushes concurrent commits together anyway); few enough to leave the pool's other
 * connections to the escalation workers.
 */
const ALARM_GROUPS_IN_FLIGHT = 4;
const REPORT_GROUPS_IN_FLIGHT = 2;
const MAX_GROUP = 500;
/**
 * How long a new alarm's escalate job waits when this process takes its first step itself
 * (`IngestDeps.firstStep`): then it finds the step taken and only makes sure its notifications and
 * next step are queued; should the step here have failed or the process died, it takes the step.
 * Shorter than the visit watcher's look for stalled ladders would matter (15 s), long enough that the
 * step here has normally long finished.
 */
export const FIRST_STEP_NET_MS = 10_000;

/**
 * How the ingest role opens its store: as many connections as its lanes write at once are kept open
 * however long the night is quiet, each having rehearsed the alarm write (rolled back) while held by
 * `prepareIngestStore` — the first alarm on a fresh connection otherwise waited ~10 ms more for its
 * backend to plan the write, which put a new connection's alarms in the slowest 1%.
 */
export const INGEST_STORE = {
  keepOpen: ALARM_GROUPS_IN_FLIGHT + REPORT_GROUPS_IN_FLIGHT,
  prepare: rehearseAlarmWrite,
};

/** How often the kept connections are looked at again (one dropped is replaced and rehearsed). */
const PREPARE_EVERY_MS = 30_000;

/**
 * Opens and rehearses the kept connections now (PostgreSQL), then every 30 s in the background
 * (a connection the network dropped is replaced then, not by the next alarm). Never in front of an
 * alarm: a rehearsal holds its own connection, and an alarm takes any other the pool has. Returns
 * the stop for shutdown.
 */
export async function prepareIngestStore(db: Db): Promise<() => void> {
  let running = false;
  const prepare = async () => {
    if (running) return;
    running = true;
    try {
      await db.prepareConnections?.(INGEST_STORE.keepOpen);
    } finally {
      running = false;
    }
  };
  await prepare();
  const timer = setInterval(() => void prepare(), PREPARE_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Group commit for the alarm path. Events that arrive while the lane's groups are in the database
 * wait and go together in the next group: ONE statement (`writeFobEvents`) and one commit for all
 * of them, then one Redis pipeline for their board events and one for their escalation jobs. Each
 * event's promise resolves only after its group committed and its board event and job are out, so
 * the transport still acknowledges each message only after its own durable write. An event that
 * arrives when a group slot is free is written at once (no timer, no added wait at low rates).
 * Alarms and reports (location, battery, timers, check-ins) have separate lanes: a burst of reports
 * never makes an SOS wait behind it.
 */
class IngestGroups {
  private waiting: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly db: Db;
  private readonly slots: number;

  constructor(db: Db, slots: number) {
    this.db = db;
    this.slots = slots;
  }

  add(deps: IngestDeps, write: IngestWrite): Promise<WriteResult> {
    return new Promise<WriteResult>((resolve, reject) => {
      this.waiting.push({ deps, write, at: performance.now(), resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.scheduled || this.inFlight >= this.slots || this.waiting.length === 0) return;
    // Let the messages already read from the socket join this group (they are handled a tick apart).
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.inFlight >= this.slots || this.waiting.length === 0) return;
      const group = this.waiting.splice(0, MAX_GROUP);
      this.inFlight++;
      void this.run(group).finally(() => {
        this.inFlight--;
        this.kick();
      });
      this.kick();
    });
  }

  private async run(group: Waiting[]): Promise<void> {
    const started = performance.now();
    let results: (WriteResult | Error)[];
    try {
      results = await writeFobEvents(
        this.db,
        group.map((g) => g.write),
      );
    } catch (err) {
      // One event alone, or a database that did not answer (each alone would wait as long again).
      if (group.length === 1 || isDoorstepError(err, 'SERVICE_UNAVAILABLE'))
        results = group.map(() => err as Error);
      // One bad event must not fail the others: write each on its own.
      else
        results = await Promise.all(
          group.map((g) =>
            writeFobEvents(this.db, [g.write]).then(
              (r) => r[0]!,
              (e: Error) => e,
            ),
          ),
        );
    }
    const written = performance.now();
    for (const g of group) {
      g.deps.trace?.(g.write.event.vendorEventId, 'queue', g.at, started);
      g.deps.trace?.(g.write.event.vendorEventId, 'write', started, written);
    }
    const ok: { g: Waiting; r: WriteResult }[] = [];
    group.forEach((g, i) => {
      const r = results[i]!;
      if (r instanceof Error) g.reject(r);
      else ok.push({ g, r });
    });
    // Exact redeliveries: the alarm the first delivery raised, so its escalation job is made sure of.
    const live = (
      await Promise.all(
        ok.map(async (x) => {
          if (x.r.eventId) return x;
          const w = x.g.write;
          try {
            // Written where it arrived when a visit out there held the device (`IngestWrite.heldAt`).
            const alarmId = await alarmForEvent(
              this.db,
              w.heldAt ? [w.schoolId, w.heldAt.schoolId] : w.schoolId,
              w.event.deviceId,
              w.event.vendorEventId,
              w.contentHash,
            );
            return { g: x.g, r: { ...x.r, alarmId } };
          } catch (err) {
            x.g.reject(err);
            return null;
          }
        }),
      )
    ).filter((x) => x !== null);
    // Per queue producer (normally one): the board first, then the escalation jobs; every event is
    // acknowledged only after both.
    const parts = new Map<IngestDeps['producer'], typeof live>();
    for (const x of live) {
      const p = parts.get(x.g.deps.producer);
      if (p) p.push(x);
      else parts.set(x.g.deps.producer, [x]);
    }
    await Promise.all([...parts.values()].map((xs) => this.tell(xs)));
  }

  private async tell(xs: { g: Waiting; r: WriteResult }[]): Promise<void> {
    const deps = xs[0]!.g.deps;
    const t0 = performance.now();
    const told = publishBoardEvents(
      deps.publisher,
      deps.prefix,
      xs
        .filter(({ r }) => r.eventId && r.alarmId && r.boardId)
        .map(
          ({ g, r }): BoardEventRow => ({
            id: r.boardId!,
            schoolId: r.raised?.schoolId ?? g.write.schoolId,
            type: 'alarm.raised',
            payload: { ...boardPayloadOf(g.write, r), alarmId: r.alarmId },
          }),
        ),
    ).then(() => performance.now());
    const escalate = xs.filter(({ r }) => r.alarmId);
    // New alarms: their first step (run by this process's workers, normally) need not read them back.
    for (const { g, r } of escalate) {
      const policy = policyOf(g.write, r);
      if (r.eventId && policy)
        rememberRaised({
          id: r.alarmId!,
          schoolId: r.raised?.schoolId ?? g.write.schoolId,
          type: g.write.event.type,
          deviceId: g.write.event.deviceId,
          staffId: r.raised ? r.raised.staffId : g.write.staffId,
          // Tied to a visit by the visit watcher, as every device alarm (the board finds it meanwhile).
          visitId: null,
          policy: policy as EscalationPolicy,
          raisedAt: new Date(g.write.event.occurredAt),
          test: false,
        });
    }
    // New alarms' first step taken here at once where this process runs the ladder (no queue hop
    // between the commit and the first page), as many as it has room for; their jobs wait as the
    // safety net, and the step here starts once they are queued.
    const taker = deps.firstStep;
    const here = new Set(
      taker?.reserve(
        escalate.filter(({ g, r }) => r.eventId && g.deps.firstStep === taker).map(({ r }) => r.alarmId!),
      ) ?? [],
    );
    const queued =
      escalate.length > 0
        ? deps.producer.enqueueBulk(
            'escalate',
            escalate.map(({ r }) => ({
              payload: { alarmId: r.alarmId!, step: 0 },
              options: {
                jobId: `escalate-${r.alarmId}-0`,
                ...(here.has(r.alarmId!) ? { delayMs: FIRST_STEP_NET_MS } : {}),
              },
            })),
          )
        : Promise.resolve();
    if (here.size > 0) taker!.take([...here], queued);
    try {
      await queued;
      const enqueued = performance.now();
      const toldAt = await told;
      for (const { g, r } of xs) {
        if (g.deps.trace) {
          const id = g.write.event.vendorEventId;
          g.deps.trace(id, 'publish', t0, toldAt);
          g.deps.trace(id, 'enqueue', t0, enqueued);
        }
        g.resolve(r);
      }
    } catch (err) {
      await told;
      for (const { g } of xs) g.reject(err);
    }
  }
}

/**
 * The board event of a new alarm as written: a device a visit out held raised that visit's alarm,
 * under its lead's staff id, as the write statement wrote its row (migration 078).
 */
function boardPayloadOf(w: IngestWrite, r: WriteResult): Record<string, unknown> {
  if (!r.raised?.visitId) return w.boardPayload;
  return { ...w.boardPayload, staffId: r.raised.staffId, unknownDevice: r.raised.staffId === null };
}

/** The ladder a new alarm was written with: where it arrived, when it was kept there (`heldAt`). */
function policyOf(w: IngestWrite, r: WriteResult): unknown {
  return w.heldAt && r.raised && r.raised.schoolId !== w.schoolId ? w.heldAt.policy : w.policy;
}

const lanes = new WeakMap<Db, { alarms: IngestGroups; reports: IngestGroups }>();

export function groupFor(db: Db, isAlarm: boolean): IngestGroups {
  let l = lanes.get(db);
  if (!l) {
    l = {
      alarms: new IngestGroups(db, ALARM_GROUPS_IN_FLIGHT),
      reports: new IngestGroups(db, REPORT_GROUPS_IN_FLIGHT),
    };
    lanes.set(db, l);
  }
  return isAlarm ? l.alarms : l.reports;
}
