import type { Redis } from 'ioredis';
import type { SchoolConfig } from '../config/schema.ts';
import type { DecodeError } from '../domain/fob/event.ts';
import type { TransportFacts } from '../domain/fob/trust.ts';
import type { DoorstepCatalog } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';
import type { Db } from '../store/db.ts';

/** What the alarm path's ingest needs and tells: its dependencies, counters, timings and outcomes. */

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
  /**
   * Takes new alarms' first escalation step in this process at once (the ingest role, whose workers
   * run the ladder, wires the escalate job's own handler here: `firstStepHere` in jobs/escalate.ts).
   * Absent (e.g. a web process's webhooks): the jobs run the step, at once.
   */
  firstStep?: FirstStepTaker;
  /**
   * The school whose registry holds a device (the trust's config): an event from a device another
   * school of the trust registers, arriving on this school's feed (one vendor account pushing every
   * device of the trust to one address), is taken at that school — its office hears its worker.
   */
  schoolOfDevice?: (deviceId: string) => SchoolConfig | undefined;
  /**
   * The vendors (profiles) of every feed of the trust: a school with no feed of its own is where its
   * devices' alarms go only when every feed is of the vendor that brought the alarm (devices name no
   * vendor). Absent: only the arriving feed's vendor is known, and such a school is routed to.
   */
  trustFeedProfiles?: ReadonlySet<string>;
  /**
   * A registered device whose id differs from this one only in spacing, letter case or look-alike
   * characters, trust-wide (a hint only: `deviceLookingLike`).
   */
  deviceLookingLike?: (
    deviceId: string,
  ) => { school: SchoolConfig; deviceId: string; staffId: string } | undefined;
}

/** Who takes a new alarm's first step in this process (`IngestDeps.firstStep`). */
export interface FirstStepTaker {
  /**
   * Which of these new alarms it will take the first step of (as many as it has room for now),
   * holding room for them: their escalate jobs are queued delayed (FIRST_STEP_NET_MS), as the safety
   * net; the others' jobs run the step at once.
   */
  reserve(alarmIds: readonly string[]): string[];
  /**
   * Takes the reserved alarms' first steps once `queued` (their safety-net jobs) has settled; if it
   * failed, takes none of them here (the transport's redelivery, or the visit watcher, sees to them).
   */
  take(alarmIds: readonly string[], queued: Promise<unknown>): void;
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
  /** An alarm's fields that could not be read (`checkEvent`): raised without them, flagged. */
  unreadable?: readonly DecodeError[];
  /** What the device sent, when the event as kept is not it: what a redelivery repeats (`contentHash`). */
  said?: string;
  /**
   * The window that tells a redelivery of an alarm with a reset clock from a new press (`contentHash`):
   * absent, the one it was received in; a retained MQTT copy sent again, the one it was first received
   * in (`arrivalWindow`).
   */
  window?: string;
  /**
   * For an alarm whose payload carries no time at all (`DecodeError.noDeviceTime`): what tells the
   * transport's redelivery of its message from a new one (the webhook's delivery id, the MQTT window
   * it was received in; absent where nothing does), part of its identity (`contentHash`) — the same
   * id again days later (a fob whose counter reset) is a new alarm, not a "duplicate" of the first.
   * Never set for a time present but unreadable (no zone, epoch ms): that is the device's own, in the
   * bytes, and a redelivery of it however late (an ingest outage, another instance's copy in the
   * next window) must stay one alarm.
   */
  redelivery?: string;
  /**
   * The school whose feed brought an alarm routed to another (`alarmHome`: a device it no longer
   * registers): a visit out there that holds the device keeps the alarm there, as that visit's.
   */
  arrivedAt?: SchoolConfig;
}

export type IngestOutcome =
  | {
      outcome: 'accepted';
      eventId: string;
      alarmId: string | null;
      idConflict: boolean;
      trusted: boolean;
      /** A new alarm from a device a visit out held: that visit's, raised at its school (absent otherwise). */
      held?: { schoolId: string; visitId: string };
    }
  | { outcome: 'duplicate'; alarmId: string | null }
  | { outcome: 'refused'; reason: string };
