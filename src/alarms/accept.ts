import { type FobTransportConfig, profileFor } from '../../connectors/fob/index.ts';
import { verifyDevicePayload } from '../../connectors/fob/profiles/peoplesafe-style.ts';
import { parseJson } from '../../connectors/fob/types.ts';
import { registersVendor } from '../config/fob-vendors.ts';
import type { SchoolConfig } from '../config/schema.ts';
import { lookalikeDifference, lookalikeKey, shownId } from '../domain/fob/device-lookalike.ts';
import {
  ALARM_TYPES,
  arrivalWindow,
  checkEvent,
  contentEventId,
  type Decoded,
  type DecodeError,
  type FobEventType,
  foldsInto,
  UNREADABLE_DEVICE,
} from '../domain/fob/event.ts';
import {
  type TransportFacts,
  UNREADABLE_BODY_ISSUE,
  UNREADABLE_ISSUE,
  vouchedFacts,
} from '../domain/fob/trust.ts';
import { addTimeline } from '../store/alarm-state.ts';
import {
  ALARM_PATH_TIMEOUT_MS,
  alarmStillOpen,
  insertRejected,
  openAlarmOfCause,
  openUnreadableBodyAlarm,
  REJECTED_RAW_MAX_BYTES,
} from '../store/alarms.ts';
import { failsEveryTime } from '../store/sql-errors.ts';
import { assessIn, ingestFobEvent } from './ingest.ts';
import type { IngestDeps, IngestOutcome } from './ingest-types.ts';

/** What a transport knows of one message besides its bytes. */
export interface Arrival {
  receivedAt: Date;
  /** MQTT topic or webhook id. */
  source: string | null;
  /** The device the transport vouches for (MQTT topic level), when it can tell. */
  deviceId: string | null;
  /** The transport should vouch for a device and cannot: an MQTT topic with an empty device level. */
  deviceMissing?: boolean;
  /** The device signature carried beside the payload, if any. */
  signature: string | null;
  /**
   * A retained MQTT message the broker sent again on a resumed session (`MqttArrival`): told apart by
   * the window it was first received in, not this one (`arrivalWindow`).
   */
  retainedAgain?: { firstSeenAt: Date | null };
  /**
   * The body was over the transport's `maxBytes` and was not held (a webhook's, verified as it came
   * in): `raw` is only its first bytes; its whole length and SHA-256 (hex) are these. It is raised
   * unread, as any body over the bound is.
   */
  cut?: { bytes: number; sha256: string };
}

/** The alarm path's time limit, for its timeline notes written before the message is acknowledged. */
const BOUNDED = { timeoutMs: ALARM_PATH_TIMEOUT_MS };

export type AcceptOutcome = IngestOutcome | { outcome: 'invalid'; field: string; reason: string };

/**
 * The one way a raw fob payload enters Doorstep, shared by the MQTT transport and the webhook
 * route: decode with the transport's profile (undecodable → rejected_events, bounded), check the
 * device signature against the device's key, then `ingestFobEvent` (assess → durable write → board
 * → escalation). The transport acknowledges only when this resolves. An event with a value the
 * database refuses (or a write beyond one of its limits) is never left to fail for ever: an alarm is
 * raised with what can be stored, any other event is kept in rejected_events (and acknowledged).
 */
export async function acceptFobPayload(
  deps: IngestDeps,
  school: SchoolConfig,
  transport: FobTransportConfig,
  raw: Buffer,
  arrival: Arrival,
): Promise<AcceptOutcome> {
  // Over the bound, nothing is parsed (a batch neither): `acceptOne` raises or refuses it unread.
  const batch = overBound(transport, raw, arrival) ? null : batchOf(raw);
  if (!batch) return acceptOne(deps, school, transport, raw, arrival, raw);
  // A gateway that batches (a JSON array of events): each event taken as if it came alone, the
  // device signature checked over the body as sent — bar a device's further alarms in the same
  // message, noted on the alarm its earlier one raised (or, redelivered, met) while that alarm is
  // still open (one message must not page one wearer's ladder hundreds of times), and the items past
  // MAX_BATCH_ITEMS, kept refused under one alarm that says so (`cutBatch`). What it answers is the
  // first event's that was taken (a webhook sender sees the batch accepted), else the first refusal.
  const outcomes: AcceptOutcome[] = [];
  const alarmed = new Map<string, MessageAlarm>();
  for (const item of batch.slice(0, MAX_BATCH_ITEMS))
    outcomes.push(
      await acceptOne(deps, school, transport, Buffer.from(JSON.stringify(item)), arrival, raw, { alarmed }),
    );
  if (batch.length > MAX_BATCH_ITEMS)
    outcomes.push(await cutBatch(deps, school, transport, raw, arrival, batch, alarmed));
  return outcomes.find((o) => o.outcome !== 'invalid' && o.outcome !== 'refused') ?? outcomes[0]!;
}

/**
 * The most events one message (a JSON array) is read for. A signed request or a gateway's message of
 * hundreds of SOS would otherwise raise hundreds of alarms and ladders, burying a real one.
 */
export const MAX_BATCH_ITEMS = 100;

/**
 * The items of a batch past `MAX_BATCH_ITEMS`: each kept in rejected_events (the data page), none
 * read — and, never silence, one SOS raised that says the message was cut, so someone looks at what
 * it carried. From the device the MQTT topic names, else an unknown device (`UNREADABLE_DEVICE`); its
 * event id made from the message's bytes (a redelivery is the same alarm).
 */
async function cutBatch(
  deps: IngestDeps,
  school: SchoolConfig,
  transport: FobTransportConfig,
  raw: Buffer,
  arrival: Arrival,
  batch: readonly unknown[],
  alarmed: Map<string, MessageAlarm>,
): Promise<AcceptOutcome> {
  const n = batch.length;
  // The tail kept in arrays of up to REJECTED_RAW_MAX_BYTES, a write each: a 64 KiB array of
  // 30,000 tiny items must not hold the acknowledgement (and every PUBACK behind it on the
  // connection) for a write per item, nor lose any item to the kept payload's bound.
  for (const run of runsWithin(batch, MAX_BATCH_ITEMS, REJECTED_RAW_MAX_BYTES))
    await insertRejected(deps.db, {
      schoolId: school.id,
      transport: transport.kind,
      profile: transport.profile,
      source: arrival.source,
      reason: `(batch): items ${run.from + 1}–${run.to} of ${n}, past the ${MAX_BATCH_ITEMS} events one message is read for; not read — an alarm is raised for the cut message`,
      raw: Buffer.from(`[${run.items.join(',')}]`),
    });
  const device =
    (transport.kind === 'mqtt'
      ? vouchedFacts({ deviceId: arrival.deviceId, signature: 'absent' }).deviceId
      : null) ?? UNREADABLE_DEVICE;
  const cut = unreadableBodyAlarm(
    device,
    raw,
    arrival,
    redeliveryKey(transport, arrival),
    {
      field: '(batch)',
      reason: `the message carries ${n} events, more than the ${MAX_BATCH_ITEMS} one message is read for: the ${n - MAX_BATCH_ITEMS} after the ${MAX_BATCH_ITEMS}th were not read (kept with the refused payloads)`,
    },
    `raised as an SOS so that someone looks at them (${transport.profile} ${transport.kind})`,
  );
  // On a device's topic, its alarm from this message, while still open, is the one told of the cut;
  // else (none, or acknowledged or resolved: paging has stopped) the cut raises its own.
  return acceptOne(deps, school, transport, raw, arrival, raw, { alarmed }, cut);
}

/**
 * Where an event from this feed is raised. An alarm from a device this school does not register but
 * another school of the trust does: at that school (its board, its ladder), as if its own feed had
 * brought it. Alarms only: another school's check-ins and timers from this feed would let this feed's
 * credential clear that school's missed check-ins (they stay here, where no visit of this school is
 * theirs). Only to a school whose feeds include one of this vendor (profile), or with no feed of its
 * own (its fobs reach it through the trust's feeds) in a trust whose feeds are all of this vendor: the
 * same id at a school with another vendor's fobs is another device, and the SOS of a fob this school
 * has not registered yet would be raised there under someone else's name — never heard here. Failing
 * that, it stays here as an unknown device. Over all of this, a visit out here that holds the device
 * (the fob it left with, since moved to another school's registry) keeps the alarm here, its own:
 * the write statement looks (`IngestSource.arrivedAt`), at no round trip more.
 */
function alarmHome(
  deps: IngestDeps,
  school: SchoolConfig,
  transport: FobTransportConfig,
  deviceId: string,
  type: FobEventType,
): SchoolConfig {
  if (school.fobs.devices.some((d) => d.deviceId === deviceId) || !ALARM_TYPES.has(type)) return school;
  const elsewhere = deps.schoolOfDevice?.(deviceId);
  if (elsewhere === undefined) return school;
  // No feed of its own: its devices' vendor is known only when the trust's feeds are all of one.
  const vendors = deps.trustFeedProfiles ?? new Set([transport.profile]);
  return registersVendor(elsewhere, transport.profile, vendors) ? elsewhere : school;
}

/**
 * What an unknown device's alarm card says of whose fob it may be (null: nothing to say). Its id
 * differing only in spacing, letter case or look-alike characters (`lookalikeKey`: a gateway that
 * sends ids in lower case or with a newline after them, an id typed in by hand with a non-breaking
 * hyphen or in full-width letters) from one at this school (the only one there that does): that fob
 * and its wearer. At another school of the trust: that school only, never its wearer (its staff are
 * its own office's to know) — the same id there not routed (that school's fobs may be another
 * vendor's), or the id differing so. Ids are still matched exactly: this only says whose it may be.
 */
function unknownDeviceHint(
  deps: IngestDeps,
  home: SchoolConfig,
  transport: FobTransportConfig,
  deviceId: string,
): string | null {
  if (home.fobs.devices.some((d) => d.deviceId === deviceId)) return null;
  const key = lookalikeKey(deviceId);
  const alike = home.fobs.devices.filter((d) => lookalikeKey(d.deviceId) === key);
  const shown = shownId(deviceId);
  const here = alike.length === 1 ? alike[0]! : undefined;
  if (here)
    return `device ${shown} is not registered, but ${here.deviceId} is, worn by staff ${here.staffId} (the ids differ only in ${lookalikeDifference(deviceId, here.deviceId)}): if it is that fob, correct its id in the school's fobs.devices`;
  const like = deps.deviceLookingLike?.(deviceId);
  if (!like || like.school === home) return null;
  const at = like.school.name;
  return like.deviceId === deviceId
    ? `device ${shown} is registered at ${at}, but that school's fobs may be another vendor's than this ${transport.profile} feed's: raised here as an unknown device — if it may be ${at}'s worker, tell ${at} now`
    : `device ${shown} is not registered, but ${like.deviceId} is at ${at} (the ids differ only in ${lookalikeDifference(deviceId, like.deviceId)}): if it is that fob, tell ${at} now, and correct its id there`;
}

/**
 * The items of a body that is a JSON array (of at least one item; its size is the transport's
 * `maxBytes`' to bound); null for anything else. Each is taken as its own message: an item that is no
 * event is refused (or raised) alone, never taking the batch's real events with it.
 */
function batchOf(raw: Buffer): unknown[] | null {
  // Cheap look first: most bodies are one object. Past a byte-order mark and any JSON whitespace
  // (however much: a pretty-printed body may start with a blank line and an indent), its first byte.
  let i = raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
  while (i < raw.length && (raw[i] === 0x20 || raw[i] === 0x09 || raw[i] === 0x0a || raw[i] === 0x0d)) i++;
  if (raw[i] !== 0x5b && raw[i] !== 0x22) return null;
  const parsed = parseJson(raw);
  if (!parsed.ok || !Array.isArray(parsed.value) || parsed.value.length === 0) return null;
  return parsed.value;
}

/**
 * The items of `batch` from `start` on, as runs of consecutive items whose JSON array fits in
 * `maxBytes` (an item larger than that alone in its run), in order: `from` is the first item's index,
 * `to` one past the last.
 */
function runsWithin(
  batch: readonly unknown[],
  start: number,
  maxBytes: number,
): { from: number; to: number; items: string[] }[] {
  const runs: { from: number; to: number; items: string[] }[] = [];
  let run: { from: number; to: number; items: string[] } | null = null;
  let bytes = 0;
  for (let i = start; i < batch.length; i++) {
    const item = JSON.stringify(batch[i]) ?? 'null';
    const size = Buffer.byteLength(item) + 1;
    if (run === null || bytes + size + 1 > maxBytes) {
      run = { from: i, to: i, items: [] };
      runs.push(run);
      bytes = 0;
    }
    run.items.push(item);
    run.to = i + 1;
    bytes += size;
  }
  return runs;
}

/**
 * Of the message an item of a batch came in: the latest alarm each device raised or met in it (an
 * item redelivered: its alarm as it stands), by school, transport's device and the device its payload
 * names (`sameDeviceKey`).
 */
interface SameMessage {
  alarmed?: Map<string, MessageAlarm>;
}

/**
 * The alarm a device's item raised or met in a message, and the kind of event that raised it. A later
 * item is noted on it (`foldsInto`) only if that hides nothing: never an item of a known type on an
 * alarm raised only for want of one (`guessed`: a gateway's type-less heartbeat, a body that could not
 * be read), nor a trusted item on an untrusted alarm — the office may resolve that one as the false
 * alarm it looks like, and the wearer's real press with it (as across transports, a trusted copy of
 * an untrusted alarm is raised again, `trustedCopy`). Such an item is raised on its own.
 */
interface MessageAlarm {
  alarmId: string;
  type: FobEventType;
  guessed: boolean;
  trusted: boolean;
}

/**
 * What tells one wearer's alarms in one message from another's: the school, the device the transport
 * vouches for (over MQTT the topic's) and the device the payload names. A gateway that batches several
 * wearers on one topic sends each under its own name: wearer B's SOS, on A's topic, is never folded
 * into A's alarm (it is raised, flagged as naming another device). Null for an unknown device: two
 * presses whose device could not be read may be two workers, never folded.
 */
function sameDeviceKey(homeId: string, deviceId: string, claimed: string): string | null {
  if (deviceId === UNREADABLE_DEVICE || claimed === UNREADABLE_DEVICE) return null;
  return `${homeId}\u0000${deviceId}\u0000${claimed}`;
}

/**
 * What an alarm raised only for want of a known type (`unknownTypeAlarm`: no type given, or one no map
 * names) says of it — the first thing it could not read, `type` — else null.
 */
function unknownTypeCause(decoded: Decoded): string | null {
  if (!decoded.ok) return null;
  const first = decoded.unreadable?.[0];
  return first?.field === 'type' ? first.reason : null;
}

async function acceptOne(
  deps: IngestDeps,
  school: SchoolConfig,
  transport: FobTransportConfig,
  raw: Buffer,
  arrival: Arrival,
  signed: Buffer,
  message: SameMessage = {},
  /** An alarm decided on without reading the body (a batch cut short): raised as it is. */
  decidedAlarm?: Decoded,
): Promise<AcceptOutcome> {
  const t0 = deps.trace ? performance.now() : 0;
  // Over its transport's bound, a body is not read at all (a 40 MB "check-in" would hold the event
  // loop and the heap, and be kept whole): on a device's topic it is raised below, like any body
  // that cannot be read.
  let decoded: Decoded =
    decidedAlarm ??
    (overBound(transport, raw, arrival)
      ? {
          ok: false,
          error: {
            field: '(body)',
            reason: `the body is ${arrival.cut?.bytes ?? raw.length} bytes, over the ${transport.maxBytes} an event may have`,
          },
        }
      : decodeOrRefuse(transport, raw, arrival));
  // An event id made from what the profile read is made from the bytes instead (each item's, in a batch).
  if (decoded.ok) decoded = idFromBytes(decoded, raw, transport, arrival);
  let unreadableBody = decidedAlarm !== undefined;
  // A body that cannot be read at all, on a topic that names the device (which the broker's ACL lets
  // only the school's gateway publish on): when in doubt on the alarm path, raise — an SOS from that
  // device, untrusted, what could not be read named on the board.
  // Over a webhook the vendor is verified (its signature, or the token in the address) but names no
  // device the body can be read for: an SOS from an unknown device, said to be the feed's — and so
  // over MQTT on a topic that names no device (a gateway's feed, `deviceBinding: none`; an empty or
  // unusable device level): it may be a worker's SOS the gateway cut short, never PUBACKed unraised.
  // (Not an empty body: that is how a retained message is cleared, not something a device sends.)
  if (!decoded.ok && decoded.error.field === '(body)' && (arrival.cut !== undefined || hasContent(raw))) {
    const named =
      transport.kind === 'mqtt'
        ? vouchedFacts({ deviceId: arrival.deviceId, signature: 'absent' }).deviceId
        : null;
    const device = named ?? UNREADABLE_DEVICE;
    // What tells this message's redelivery (the broker's, or the sender's retry under its delivery
    // id) from a new message: the same id the alarm it raised carries.
    const tellApartBy = redeliveryKey(transport, arrival);
    // One open at a time per device and feed: a gateway's or vendor's new format (a binary heartbeat
    // every 30 s) would otherwise raise one alarm per message and bury a real one. Further unreadable
    // messages go on its timeline while it is open — unacknowledged, its ladder still paging; once
    // acknowledged (paging stopped) the next one raises anew, or another worker's SOS would page no
    // one. Looked for where such an alarm is raised: over MQTT the school that registers the device.
    // A topic that names no device: one per feed (`UNREADABLE_DEVICE`), as over a webhook — a broken
    // gateway pages once, not per message.
    const open = await openUnreadableBodyAlarm(deps.db, {
      schoolId: transport.kind === 'mqtt' ? alarmHome(deps, school, transport, device, 'sos').id : school.id,
      transport: transport.kind,
      device,
      profile: transport.profile,
      issuePrefix: UNREADABLE_BODY_ISSUE,
    });
    if (open !== null) {
      // The same message again (another instance's copy, a redelivery, the sender's retry) is that
      // alarm's, said once; another one is noted on its timeline and kept with the refused payloads.
      const again = open.eventId === unreadableEventId(raw, arrival, tellApartBy);
      if (!again) {
        await insertRejected(deps.db, {
          schoolId: school.id,
          transport: transport.kind,
          profile: transport.profile,
          source: arrival.source,
          reason: `(body): ${decoded.error.reason}; noted on open alarm ${open.id}`,
          raw,
          ...(arrival.cut ? { bytes: arrival.cut.bytes } : {}),
        });
        await addTimeline(
          deps.db,
          open.id,
          transport.kind === 'webhook'
            ? `another message from the ${transport.profile} webhook could not be read (${decoded.error.reason}): kept with the refused payloads`
            : named === null
              ? `another message on the ${transport.profile} MQTT feed, on a topic that names no device, could not be read (${decoded.error.reason}): kept with the refused payloads`
              : `another message on device ${device}'s topic could not be read (${decoded.error.reason}): kept with the refused payloads`,
          null,
          BOUNDED,
        );
      }
      // The alarm's own message again: its ladder made sure of, as for any redelivery — the first
      // delivery may have written the alarm and failed to queue its escalation (Redis away), and was
      // then not acknowledged. A job already there is left as it is; a step already taken is not taken
      // again (jobs/escalate.ts). (Another message folded in needs no Redis: a heartbeat every 30 s
      // must not fail while Redis is away.)
      if (again)
        await deps.producer.enqueue(
          'escalate',
          { alarmId: open.id, step: 0 },
          { jobId: `escalate-${open.id}-0` },
        );
      return { outcome: 'duplicate', alarmId: open.id };
    }
    const raisedAs =
      transport.kind === 'webhook'
        ? `raised as an SOS: a verified message from the ${transport.profile} webhook that names no device Doorstep can read`
        : named === null
          ? `raised as an SOS: a message on the ${transport.profile} MQTT feed whose topic names no device, and none Doorstep can read`
          : undefined;
    decoded = unreadableBodyAlarm(device, raw, arrival, tellApartBy, decoded.error, raisedAs);
    unreadableBody = decoded.ok;
  }
  if (!decoded.ok) {
    await insertRejected(deps.db, {
      schoolId: school.id,
      transport: transport.kind,
      profile: transport.profile,
      source: arrival.source,
      reason: `${decoded.error.field}: ${decoded.error.reason}`,
      raw,
      ...(arrival.cut ? { bytes: arrival.cut.bytes } : {}),
    });
    deps.counters?.rejected(school.id, transport.kind);
    return { outcome: 'invalid', field: decoded.error.field, reason: decoded.error.reason };
  }
  deps.trace?.(decoded.event.vendorEventId, 'decode', t0, performance.now());
  // A topic level that cannot name a device (over-long, unusable characters) vouches for none.
  const vouched = vouchedFacts({
    deviceId: arrival.deviceId,
    ...(arrival.deviceMissing ? { deviceMissing: true } : {}),
    signature: 'absent',
  });
  const deviceId = vouched.deviceId ?? decoded.event.deviceId;
  const home = alarmHome(deps, school, transport, deviceId, decoded.event.type);
  // A device's further alarm in the same message (a batch of 400 SOS from one wearer): noted on the
  // alarm its earlier one raised (or met, redelivered) and kept with the refused payloads, not raised
  // again — its ladder pages once. Only while that alarm is open (unacknowledged, still paging): a
  // resend of an old, acknowledged press with a new one behind it must page for the new one. Not for
  // an unknown device, nor across the devices payloads name (`sameDeviceKey`).
  const isAlarm = ALARM_TYPES.has(decoded.event.type);
  const sameDevice = isAlarm ? sameDeviceKey(home.id, deviceId, decoded.event.deviceId) : null;
  const met = sameDevice === null ? undefined : message.alarmed?.get(sameDevice);
  const key = home.fobs.devices.find((d) => d.deviceId === deviceId)?.signingKey;
  const facts: TransportFacts = {
    ...vouched,
    signature:
      arrival.signature === null
        ? 'absent'
        : key && verifyDevicePayload(key.reveal(), signed, arrival.signature)
          ? 'valid'
          : 'invalid',
  };
  // What this item's alarm is, for the device's later items in the message: raised for want of a
  // type or of a readable body (`guessed`), and whether it is trusted — worked out (pure, no round
  // trip) only in a batch, where a later item may fold into it.
  const guessed = unreadableBody || unknownTypeCause(decoded) !== null;
  const trusted = () => assessIn(home, decoded.event, facts, decoded.unreadable).trustIssue === null;
  const earlier =
    met !== undefined &&
    foldsInto(met.type, decoded.event.type) &&
    !(met.guessed && !guessed) &&
    (met.trusted || !trusted())
      ? met.alarmId
      : undefined;
  const first = earlier !== undefined && (await alarmStillOpen(deps.db, earlier)) ? earlier : undefined;
  if (first !== undefined) {
    // The message cut short (its own items past the bound are kept already): said on that alarm.
    if (decidedAlarm)
      await addTimeline(
        deps.db,
        first,
        `the message that raised this alarm was cut: ${decoded.unreadable?.[0]?.reason}`,
        null,
        BOUNDED,
      );
    else {
      await insertRejected(deps.db, {
        schoolId: home.id,
        transport: transport.kind,
        profile: transport.profile,
        source: arrival.source,
        reason: `(batch): another ${decoded.event.type} of device ${deviceId} in the same message; noted on alarm ${first}`,
        raw,
      });
      await addTimeline(
        deps.db,
        first,
        `another ${decoded.event.type} from device ${deviceId} came in the same message (event ${decoded.event.vendorEventId}, at ${decoded.event.occurredAt}): noted here, not raised again — kept with the refused payloads`,
        null,
        BOUNDED,
      );
    }
    return { outcome: 'duplicate', alarmId: first };
  }
  // An SOS raised only because its type was missing or unknown (a gateway whose heartbeats or
  // positions carry no type field, a vendor's new kind of report): still raised — when in doubt,
  // raise — but one open at a time per device, feed and cause, as for a body that cannot be read,
  // or such a gateway would raise an SOS for every message and bury a real alarm. Further ones go on
  // its timeline while it is open (its ladder still paging) and are kept with the refused payloads;
  // once acknowledged, the next raises anew. Its own event again (a redelivery) is taken as ever.
  const typeCause = isAlarm && sameDevice !== null && !decidedAlarm ? unknownTypeCause(decoded) : null;
  if (typeCause !== null) {
    const claimed = decoded.event.deviceId === deviceId ? null : decoded.event.deviceId;
    const open = await openAlarmOfCause(deps.db, {
      schoolId: home.id,
      transport: transport.kind,
      device: deviceId,
      claimedDevice: claimed,
      profile: transport.profile,
      issuePrefix: `${UNREADABLE_ISSUE}type (${typeCause})`,
    });
    if (open !== null && open.eventId !== decoded.event.vendorEventId) {
      const what = typeCause.replace(/; raised as an SOS$/, '');
      await insertRejected(deps.db, {
        schoolId: home.id,
        transport: transport.kind,
        profile: transport.profile,
        source: arrival.source,
        reason: `type: ${what}; noted on open alarm ${open.id}`,
        raw,
      });
      await addTimeline(
        deps.db,
        open.id,
        `another event from device ${deviceId}${claimed === null ? '' : ` (the payload names ${claimed})`} came for the same reason, ${what} (event ${decoded.event.vendorEventId}, at ${decoded.event.occurredAt}): noted here while this alarm is unacknowledged, not raised again — kept with the refused payloads`,
        null,
        BOUNDED,
      );
      return { outcome: 'duplicate', alarmId: open.id };
    }
  }
  // An alarm whose payload carries no time at all: what tells its redelivery from a new press (a fob
  // whose counter reset sends the same bytes again), part of its identity (`IngestSource.redelivery`).
  // Not for a time present but unreadable (no zone, epoch ms): the device's own time is in the bytes,
  // so a new press already differs, and the broker's redelivery hours on is the same alarm.
  const redelivery = decoded.unreadable?.some((u) => u.field === 'occurredAt' && u.noDeviceTime)
    ? redeliveryKey(transport, arrival)
    : undefined;
  const source = {
    transport: transport.kind,
    profile: transport.profile,
    // Routed to the school that registers the device: kept here if a visit out here holds it.
    ...(home !== school ? { arrivedAt: school } : {}),
    // What tells a redelivery of an alarm with a reset clock from a new press (`IngestSource.window`):
    // a retained copy sent again, the window it was first received in (`arrivalWindow`); a webhook,
    // its delivery id (a sender's retry keeps it, minutes later) or, with none (Blackline's push),
    // nothing: the same bytes again are that message resent. Otherwise the window it came in.
    ...(arrival.retainedAgain
      ? { window: arrivalWindow(arrival.receivedAt, arrival.retainedAgain) }
      : transport.kind === 'webhook'
        ? { window: redeliveryKey(transport, arrival) ?? 'webhook' }
        : {}),
    ...(redelivery !== undefined ? { redelivery } : {}),
    // A body that could not be read is kept as a refused one is: its first REJECTED_RAW_MAX_BYTES.
    raw: unreadableBody ? raw.subarray(0, REJECTED_RAW_MAX_BYTES) : raw,
    facts,
    source: arrival.source,
  };
  try {
    const outcome = await ingestFobEvent(deps, home, decoded.event, {
      ...source,
      ...(decoded.unreadable?.length ? { unreadable: decoded.unreadable } : {}),
      ...(decoded.said !== undefined ? { said: decoded.said } : {}),
    });
    if (sameDevice !== null && outcome.outcome !== 'refused' && outcome.alarmId)
      message.alarmed?.set(sameDevice, {
        alarmId: outcome.alarmId,
        type: decoded.event.type,
        guessed,
        // The ingest's own assessment where it made one (accepted); else (a duplicate met) the same test.
        trusted: outcome.outcome === 'accepted' ? outcome.trusted : trusted(),
      });
    // Kept where it arrived, as the alarm of a visit out there that holds the device (the fob it
    // left with, moved to another school's registry since): its card says so already.
    const held = outcome.outcome === 'accepted' ? outcome.held : undefined;
    // Its card says where it came from: an office told "I'm fine" by its own worker then knows to
    // ask the school whose feed brought it (a fob moved between schools, not yet re-registered).
    if (home !== school && outcome.outcome === 'accepted' && outcome.alarmId && held === undefined)
      await addTimeline(
        deps.db,
        outcome.alarmId,
        `arrived on ${school.name}'s ${transport.profile} feed, where device ${deviceId} is not registered: raised here, where it is — if this school's wearer did not press it, tell ${school.name}`,
        null,
        BOUNDED,
      );
    // An unknown device whose id is registered elsewhere, or differs from a registered one only in
    // spacing, letter case or look-alike characters: raised as unknown (ids are matched exactly), its
    // card saying whose fob it may be.
    if (outcome.outcome === 'accepted' && outcome.alarmId && held === undefined) {
      const hint = unknownDeviceHint(deps, home, transport, deviceId);
      if (hint) await addTimeline(deps.db, outcome.alarmId, hint, null, BOUNDED);
    }
    return outcome;
  } catch (err) {
    // Anything else (the database or Redis away) is thrown: not acknowledged, so redelivered.
    if (!failsForThisPayload(err)) throw err;
  }
  // The database refused a value of this event (SQLSTATE class 22), the write is beyond one of its
  // limits (class 54: an index row too large, say), or Doorstep's own code failed on a value of a
  // shape no one foresaw (a TypeError or RangeError): it would fail the same way on every redelivery
  // (an MQTT message would come back for ever and hold up the session's queue). An alarm is raised
  // with only its type, device and event id, at the time received; anything else is kept refused.
  const refused = { field: '(event)', reason: 'a value the database could not store' };
  if (ALARM_TYPES.has(decoded.event.type)) {
    try {
      return await ingestFobEvent(
        deps,
        home,
        {
          ...decoded.event,
          occurredAt: decoded.event.receivedAt,
          location: null,
          batteryPercent: null,
          message: null,
          voiceNoteUrl: null,
        },
        {
          ...source,
          unreadable: [
            ...(decoded.unreadable ?? []),
            { ...refused, reason: `${refused.reason}; raised with its type and device only` },
          ],
          // What a redelivery repeats is the payload itself (the event as kept is stripped).
          said: `raw\n${raw.toString('base64')}`,
        },
      );
    } catch (err) {
      if (!failsForThisPayload(err)) throw err;
    }
  }
  await insertRejected(deps.db, {
    schoolId: home.id,
    transport: transport.kind,
    profile: transport.profile,
    source: arrival.source,
    reason: `${refused.field}: ${refused.reason}`,
    raw,
  });
  deps.counters?.rejected(home.id, transport.kind);
  return { outcome: 'invalid', ...refused };
}

/**
 * An alarm whose event id could not be used has one made by `checkEvent` from what the profile read
 * of it — which, when the profile could not read the device either (a vendor's renamed fields), is the
 * same for every worker: two workers' SOS in one window were one alarm, the second answered
 * "duplicate" and never raised. Here the id is made from the message's own bytes; with no readable
 * time either, what tells a new press from a redelivery besides (`redeliveryKey`).
 */
function idFromBytes(
  decoded: Decoded,
  raw: Buffer,
  transport: FobTransportConfig,
  arrival: Arrival,
): Decoded {
  if (!decoded.ok || !decoded.unreadable?.some((u) => u.field === 'vendorEventId')) return decoded;
  const timeless = decoded.unreadable.some((u) => u.field === 'occurredAt');
  const tellApartBy = timeless ? redeliveryKey(transport, arrival) : undefined;
  const id = contentEventId(raw, tellApartBy);
  const by =
    transport.kind === 'mqtt'
      ? 'and the time received'
      : arrival.source
        ? 'and its delivery id'
        : 'alone (the feed gives no delivery id: the same bytes again are the same message, resent)';
  return {
    ...decoded,
    event: { ...decoded.event, vendorEventId: id },
    unreadable: decoded.unreadable.map((u) =>
      u.field !== 'vendorEventId'
        ? u
        : {
            field: u.field,
            reason: timeless
              ? `not a usable event id, and no time to tell a redelivery by; made from the message ${by}: ${id}`
              : `not a usable event id; made from the message: ${id}`,
          },
    ),
  };
}

/** Whether a body is over its transport's bound (`maxBytes`): not read at all. */
function overBound(transport: FobTransportConfig, raw: Buffer, arrival: Arrival): boolean {
  return arrival.cut !== undefined || raw.length > transport.maxBytes;
}

/**
 * What, besides a message's bytes, tells its redelivery from a new message when nothing in it can (no
 * usable event id, no time): a webhook's delivery id (its retries keep it); over a webhook with none
 * (an address-token feed: Blackline's push) nothing — the vendor's server writes each message once,
 * its own id in it, so the same bytes again, however much later, are that message resent (a second
 * alarm for it once the first was acknowledged would page everyone again); over MQTT the window it
 * was received in (`arrivalWindow`): every instance's copy of one message is one alarm, the same bytes
 * sent again minutes later (a device with no counter, pressed again) a new one.
 */
function redeliveryKey(transport: FobTransportConfig, arrival: Arrival): string | undefined {
  if (transport.kind === 'webhook') return arrival.source ? `webhook ${arrival.source}` : undefined;
  return arrivalWindow(arrival.receivedAt, arrival.retainedAgain);
}

function hasContent(raw: Buffer): boolean {
  return raw.some((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
}

/**
 * The event id of a body that could not be read: its bytes (of a body not held, `Arrival.cut`, its
 * length and digest) and what tells a redelivery from a new message (`redeliveryKey`).
 */
function unreadableEventId(raw: Buffer, arrival: Arrival, tellApartBy: string | undefined): string {
  const content = arrival.cut ? `${arrival.cut.bytes} bytes, sha256 ${arrival.cut.sha256}` : raw;
  return contentEventId(content, tellApartBy);
}

/**
 * An SOS from `device` for a body no profile can read (not JSON, not an object, cut short): its event
 * id made from the bytes (the broker redelivering them is one alarm), raised at the time received,
 * and what could not be read named so the office treats it as real but unverified.
 */
function unreadableBodyAlarm(
  device: string,
  raw: Buffer,
  arrival: Arrival,
  /** What tells a redelivery from a new message (`redeliveryKey`). */
  tellApartBy: string | undefined,
  why: DecodeError,
  raisedAs = 'raised as an SOS from the device its topic names',
): Decoded {
  const id = unreadableEventId(raw, arrival, tellApartBy);
  const at = arrival.receivedAt.toISOString();
  const decoded = checkEvent({
    vendorEventId: id,
    deviceId: device,
    type: 'sos',
    occurredAt: at,
    receivedAt: at,
    location: null,
    batteryPercent: null,
    message: null,
    voiceNoteUrl: null,
  });
  if (!decoded.ok) return { ok: false, error: why };
  return {
    ok: true,
    event: decoded.event,
    unreadable: [{ field: why.field, reason: `${why.reason}; ${raisedAs}` }],
    // What a redelivery repeats: the same bytes (their digest; the event id is made from them too).
    said: `raw-sha256\n${id}`,
  };
}

/**
 * The profile's reading of the payload. A profile that throws on it (a value of a shape its code did
 * not foresee) would throw on every redelivery — over MQTT holding every later message of the session
 * behind it, alarms included — so the payload is refused as undecodable instead, never thrown.
 */
function decodeOrRefuse(transport: FobTransportConfig, raw: Buffer, arrival: Arrival): Decoded {
  try {
    return profileFor(transport).decode(raw, {
      receivedAt: arrival.receivedAt,
      ...(arrival.source && transport.kind === 'mqtt' ? { topic: arrival.source } : {}),
    });
  } catch (err) {
    const what = err instanceof Error ? err.name : typeof err;
    return {
      ok: false,
      error: { field: '(body)', reason: `the ${transport.profile} profile could not read it (${what})` },
    };
  }
}

/**
 * An error this payload causes every time it is handled: the database refusing one of its values or
 * limits (`failsEveryTime`), or Doorstep's own code failing on a value of a shape no one foresaw (a
 * TypeError or RangeError). Redelivering it can never succeed.
 */
function failsForThisPayload(err: unknown): boolean {
  return failsEveryTime(err) || err instanceof TypeError || err instanceof RangeError;
}
