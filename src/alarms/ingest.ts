import type { Redis } from 'ioredis';
import type { SchoolConfig } from '../config/schema.ts';
import { policyFor } from '../domain/escalation/ladder.ts';
import { ALARM_TYPES, type FobEvent } from '../domain/fob/event.ts';
import { assessFobEvent, contentHash, type TransportFacts } from '../domain/fob/trust.ts';
import type { DoorstepCatalog } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';
import {
  alarmForEvent,
  type IngestWrite,
  insertRejected,
  type WriteResult,
  writeFobEvents,
} from '../store/alarms.ts';
import { type BoardEventRow, publishBoardEvents } from '../store/board.ts';
import type { Db } from '../store/db.ts';

export interface IngestDeps {
  db: Db;
  producer: Producer<DoorstepCatalog>;
  /** Redis connection for the board's live channel. */
  publisher?: Redis;
  prefix: string;
  /** Counts what the alarm path refused or doubted (exposed on /metrics). */
  counters?: IngestCounters;
  /** Per-stage timings (benchmarks): called with the event's vendor id and performance.now() bounds. */
  trace?: IngestTrace;
}

export type IngestStage = 'decode' | 'queue' | 'write' | 'publish' | 'enqueue';
export type IngestTrace = (
  vendorEventId: string,
  stage: IngestStage,
  startedAt: number,
  endedAt: number,
) => void;

export interface IngestCounters {
  rejected(schoolId: string, transport: string): void;
  untrusted(schoolId: string, transport: string): void;
  idConflict(schoolId: string, transport: string): void;
}

export interface IngestSource {
  transport: 'mqtt' | 'webhook';
  profile: string;
  raw: Buffer;
  /** What the transport vouches for; absent: nothing (the payload's device, no signature). */
  facts?: TransportFacts;
  /** MQTT topic or webhook id, kept with a refused event. */
  source?: string | null;
}

export type IngestOutcome =
  | { outcome: 'accepted'; eventId: string; alarmId: string | null; idConflict: boolean; trusted: boolean }
  | { outcome: 'duplicate'; alarmId: string | null }
  | { outcome: 'refused'; reason: string };

/** The device registry: device id → staff member; an unknown device still raises its alarm. */
export function staffFor(school: SchoolConfig, deviceId: string): string | null {
  return school.fobs.devices.find((d) => d.deviceId === deviceId)?.staffId ?? null;
}

/**
 * Accepts one decoded fob event. First it is assessed (`src/domain/fob/trust.ts`): the transport's
 * device, the device signature, the device clock — an untrusted alarm is still raised (flagged), an
 * untrusted anything-else is refused and kept in rejected_events. Then durable, in one statement:
 * the event row (once per device, event id and content), and for an alarm type the alarm, its
 * timeline, audit entry and board event. Then the board is told and the escalation job enqueued
 * (job id from the alarm: enqueueing again adds nothing). Only when this resolves may the transport
 * acknowledge (MQTT PUBACK, HTTP 2xx). An exact redelivery writes nothing new but still makes sure
 * the alarm's escalation job exists, so a crash between commit and enqueue loses nothing.
 */
export async function ingestFobEvent(
  deps: IngestDeps,
  school: SchoolConfig,
  decoded: FobEvent,
  source: IngestSource,
): Promise<IngestOutcome> {
  const facts = source.facts ?? { deviceId: null, signature: 'absent' };
  const device = school.fobs.devices.find((d) => d.deviceId === (facts.deviceId ?? decoded.deviceId));
  const a = assessFobEvent(decoded, facts, {
    deviceHasKey: device?.signingKey !== undefined,
    requireSigned: school.fobs.requireSignedEvents,
    maxClockSkewMs: school.fobs.maxClockSkewSeconds * 1000,
  });
  if (a.trustIssue || a.clockSkewMs !== null) deps.counters?.untrusted(school.id, source.transport);
  if (a.verdict === 'reject') {
    await insertRejected(deps.db, {
      schoolId: school.id,
      transport: source.transport,
      profile: source.profile,
      source: source.source ?? null,
      reason: `not trusted: ${a.trustIssue}`,
      raw: source.raw,
    });
    deps.counters?.rejected(school.id, source.transport);
    return { outcome: 'refused', reason: a.trustIssue! };
  }
  const event = a.event;
  const hash = contentHash(decoded);
  const staffId = staffFor(school, event.deviceId);
  const isAlarm = ALARM_TYPES.has(event.type);
  const write = () =>
    groupFor(deps.db, isAlarm).add(deps, {
      schoolId: school.id,
      event,
      staffId,
      transport: source.transport,
      profile: source.profile,
      raw: source.raw.toString('utf8').replaceAll('\u0000', ''),
      contentHash: hash,
      claimedDeviceId: a.claimedDeviceId,
      trustIssue: a.trustIssue,
      clockSkewMs: a.clockSkewMs,
      isAlarm,
      boardPayload: boardPayload(null, event, staffId),
      policy: isAlarm ? policyFor(school.escalation, event.type) : null,
    });
  // Events are written concurrently, but one device's events with the same id go in arrival order
  // (which one is "seen before", and so flagged as the conflict, is the one that came second).
  const key = `${school.id}\u0000${event.deviceId}\u0000${event.vendorEventId}`;
  const before = sameId.get(key);
  const mine = before ? before.then(write) : write();
  const settled = mine.then(
    () => {},
    () => {},
  );
  sameId.set(key, settled);
  void settled.then(() => {
    if (sameId.get(key) === settled) sameId.delete(key);
  });
  const w = await mine;
  if (!w.eventId) return { outcome: 'duplicate', alarmId: w.alarmId };
  if (w.idConflict) deps.counters?.idConflict(school.id, source.transport);
  return {
    outcome: 'accepted',
    eventId: w.eventId,
    alarmId: w.alarmId,
    idConflict: w.idConflict,
    trusted: a.trustIssue === null,
  };
}

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
      if (group.length === 1) results = [err as Error];
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
            const alarmId = await alarmForEvent(
              this.db,
              w.schoolId,
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
            schoolId: g.write.schoolId,
            type: 'alarm.raised',
            payload: { ...g.write.boardPayload, alarmId: r.alarmId },
          }),
        ),
    ).then(() => performance.now());
    const escalate = xs.filter(({ r }) => r.alarmId);
    try {
      if (escalate.length > 0)
        await deps.producer.enqueueBulk(
          'escalate',
          escalate.map(({ r }) => ({
            payload: { alarmId: r.alarmId!, step: 0 },
            options: { jobId: `escalate-${r.alarmId}-0` },
          })),
        );
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

/** Event ids (school, device, id) being written now: the next with the same id waits its turn. */
const sameId = new Map<string, Promise<void>>();

const lanes = new WeakMap<Db, { alarms: IngestGroups; reports: IngestGroups }>();

function groupFor(db: Db, isAlarm: boolean): IngestGroups {
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

/** What the board is told of a new alarm: ids only; the board looks up names itself. */
function boardPayload(
  alarmId: string | null,
  event: FobEvent,
  staffId: string | null,
): Record<string, unknown> {
  return {
    ...(alarmId ? { alarmId } : {}),
    type: event.type,
    deviceId: event.deviceId,
    vendorEventId: event.vendorEventId,
    staffId,
    unknownDevice: staffId === null,
    raisedAt: event.occurredAt,
  };
}
