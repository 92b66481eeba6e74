import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { DoorstepConfig } from '../config/schema.ts';
import { orphansTo } from '../config/school-of.ts';
import { doorstepError } from '../errors.ts';
import { boardEventsAfter } from '../store/alarms.ts';
import { type BoardEventRow, boardChannel } from '../store/board.ts';
import type { Db } from '../store/db.ts';
import { parseSessionsEnded, type SessionsEnded, sessionsChannel } from '../store/sessions.ts';
import { liveSessions } from '../store/users.ts';
import { userMaySeeSchool } from '../visits/access.ts';

type BoardEvent = BoardEventRow;

export interface BoardEventsOptions {
  config: DoorstepConfig;
  db: Db;
  /** A connection this stream may put into subscriber mode (e.g. `redis.duplicate()`). */
  subscriber: Redis;
  prefix: string;
  heartbeatMs?: number;
  /** Who may open the stream (with the web front end: the office and safeguarding team). */
  access?: import('./access.ts').Access;
  now?: () => Date;
  /** How often the sessions behind open streams are re-checked in one query (a missed sign-out message, a change made without Redis). */
  revalidateMs?: number;
}

/** An open stream and the session it was opened under (none without the web front end). */
interface OpenStream {
  session: { tokenHash: string; userId: string } | null;
  /** Ends the stream; `sessionEnded` tells the board why first. */
  end: (sessionEnded: boolean) => void;
}

function endedBy(ended: SessionsEnded, s: OpenStream): boolean {
  if (!s.session) return false;
  return 'tokenHash' in ended ? s.session.tokenHash === ended.tokenHash : s.session.userId === ended.userId;
}

/** The longest a timer may wait (setTimeout's limit, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

function frame(e: BoardEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ schoolId: e.schoolId, ...e.payload })}\n\n`;
}

/**
 * `GET /board/events?school=ID`: the board's live stream (Server-Sent Events). Every process that
 * accepts an alarm publishes it on a Redis channel; this fans it out to the school's open boards at
 * once. A board that reconnects sends `Last-Event-ID` and first gets every event after it from the
 * board_events table, so nothing is missed across a reconnect. Payloads carry ids only.
 *
 * A stream lives no longer than its session: it ends when the session expires (a timer), when it
 * signs out or its account is disabled or given a new password (announced on a Redis channel, so the
 * process holding the stream hears it at once), and a periodic re-check of every open stream's
 * session in one query catches what a lost message or a change without Redis (the CLI) missed.
 * Nothing is added per event: the alarm path stays a publish and a write per open board.
 */
/**
 * How often an open board stream is sent a heartbeat: the page counts a stream silent for 12 s as
 * lost (two missed), so a hung server is said across the board 25 s after it was last heard.
 */
export const HEARTBEAT_MS = 5_000;
const HEARTBEAT_FRAME = 'event: heartbeat\ndata: {}\n\n';

/**
 * A board watches one school; its person's other schools' alarms reach it too, as this event (no
 * id: it is not the school's, and a reconnect's catch-up does not replay it — the board re-reads
 * every school's unacknowledged alarms then anyway). The board re-reads on it, and says "ALARM at …".
 */
export const ELSEWHERE_EVENT = 'alarm-elsewhere';
/** The board events that change whether another school has an unacknowledged alarm. */
const ELSEWHERE_TYPES = new Set(['alarm.raised', 'alarm.acknowledged', 'alarm.resolved', 'alarm.reopened']);
/**
 * Where the events of schools the config no longer holds are told too: the `orphansTo` school's
 * boards, which show their alarms, hear them as ELSEWHERE_EVENT (and re-read); so do the other boards
 * of the people who may see that school, as its alarms (their "ALARM at …" counts them as its).
 */
const ORPHANS = Symbol('schools not in the config');

export async function registerBoardEvents(app: FastifyInstance, o: BoardEventsOptions): Promise<void> {
  const now = o.now ?? (() => new Date());
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  const streams = new Set<OpenStream>();
  const board = boardChannel(o.prefix);
  const sessions = sessionsChannel(o.prefix);
  await o.subscriber.subscribe(board, sessions);
  o.subscriber.on('message', (channel, message) => {
    if (channel === sessions) {
      const ended = parseSessionsEnded(message);
      if (ended) for (const s of streams) if (endedBy(ended, s)) s.end(true);
      return;
    }
    if (channel !== board) return;
    try {
      const e = JSON.parse(message) as BoardEvent;
      bus.emit(e.schoolId, e);
      if (!o.config.schools.some((s) => s.id === e.schoolId)) bus.emit(ORPHANS, e);
    } catch {
      // not ours
    }
  });
  let revalidating = false;
  const revalidate = setInterval(async () => {
    const open = [...streams].filter((s) => s.session);
    if (revalidating || open.length === 0) return;
    revalidating = true;
    try {
      const live = await liveSessions(o.db, [...new Set(open.map((s) => s.session!.tokenHash))], now());
      for (const s of open) if (!live.has(s.session!.tokenHash)) s.end(true);
    } catch (err) {
      app.log.warn(
        { err: { code: (err as { code?: unknown }).code } },
        'board streams: session re-check failed',
      );
    } finally {
      revalidating = false;
    }
  }, o.revalidateMs ?? 60_000);
  revalidate.unref();
  // Open streams would keep the server from closing: end them first (the board reconnects elsewhere).
  app.addHook('preClose', async () => {
    for (const s of streams) s.end(false);
  });
  app.addHook('onClose', async () => {
    clearInterval(revalidate);
    o.subscriber.disconnect();
  });

  const routeOptions = o.access ? { config: { access: o.access } } : {};
  app.get<{ Querystring: { school?: string; lastEventId?: string } }>(
    '/board/events',
    routeOptions,
    async (req, reply) => {
      const schoolId = req.query.school;
      if (!schoolId || !o.config.schools.some((s) => s.id === schoolId)) {
        throw doorstepError('NOT_FOUND', 'no such school');
      }
      if (o.access && req.user && req.user.schools.length > 0 && !req.user.schools.includes(schoolId))
        throw doorstepError('FORBIDDEN', 'you do not work at this school');
      const header = req.headers['last-event-id'];
      const lastId = (Array.isArray(header) ? header[0] : header) ?? req.query.lastEventId ?? '0';
      // A bigint's digits at most: checked before the stream opens, as the replay's query would fail after.
      if (!/^\d{1,18}$/.test(lastId))
        throw doorstepError(
          'BAD_REQUEST',
          'Last-Event-ID: expected the number of an event (at most 18 digits)',
        );

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write('retry: 2000\n\n');
      const session =
        req.session && req.user ? { tokenHash: req.session.tokenHash, userId: req.user.id } : null;
      let expiry: NodeJS.Timeout | undefined;
      const stream: OpenStream = {
        session,
        end: (sessionEnded) => {
          if (res.writableEnded) return;
          // The board hears why, then the stream ends; reconnecting without a session is refused.
          if (sessionEnded) res.write('event: session-ended\ndata: {}\n\n');
          res.end();
        },
      };
      streams.add(stream);
      // A session held open while its person is out on a visit has no end to wait for: the periodic
      // re-check (liveSessions) ends the stream once it has run out.
      if (req.session && !req.session.heldWhileOut) {
        const left = req.session.expiresAt.getTime() - now().getTime();
        expiry = setTimeout(() => stream.end(true), Math.min(MAX_TIMER_MS, Math.max(0, left)));
      }

      // Board event ids come from a sequence, but concurrent writers commit (and publish) out of id
      // order, so "id > last" is not enough: live events are sent unless this stream already sent
      // that id, and a catch-up also replays the few seconds before the last id. Clients dedupe by id.
      const sentIds = new Set<string>();
      const send = (e: BoardEvent) => {
        if (sentIds.has(e.id) || res.writableEnded) return;
        sentIds.add(e.id);
        if (sentIds.size > 20_000) sentIds.delete(sentIds.values().next().value as string);
        res.write(frame(e));
      };
      let held: BoardEvent[] | null = [];
      const onEvent = (e: BoardEvent) => (held ? held.push(e) : send(e));
      bus.on(schoolId, onEvent);
      // A named event, not a comment: the page sees it, and a stream silent past a few of them (a
      // connection that hangs without closing) is one the board says it has lost (`board-live.js`).
      // Sent only once the board has caught up (the first at once): a stream stuck in a catch-up that
      // never ends (a database that does not answer) is never "live".
      let heartbeat: NodeJS.Timeout | undefined;
      const closed = () => {
        streams.delete(stream);
        clearTimeout(expiry);
        clearInterval(heartbeat);
        bus.off(schoolId, onEvent);
        for (const id of others) bus.off(id, onElsewhere);
        bus.off(ORPHANS, onOrphan);
      };
      // The person's other schools: an alarm there is said on this board too (ids only, as every frame).
      const others = req.user
        ? o.config.schools.map((s) => s.id).filter((id) => id !== schoolId && userMaySeeSchool(req.user!, id))
        : [];
      const onElsewhere = (e: BoardEvent, as = e.schoolId) => {
        if (!ELSEWHERE_TYPES.has(e.type) || res.writableEnded) return;
        res.write(
          `event: ${ELSEWHERE_EVENT}\ndata: ${JSON.stringify({ schoolId: as, type: e.type, alarmId: e.payload.alarmId })}\n\n`,
        );
      };
      for (const id of others) bus.on(id, onElsewhere);
      // The alarms of schools the config no longer holds are the `orphansTo` school's to take: its own
      // board hears them (as theirs); the board of anyone else who may see that school hears them as
      // that school's, as of any alarm of it.
      const taker = orphansTo(o.config).id;
      const onOrphan = (e: BoardEvent) => onElsewhere(e, taker === schoolId ? e.schoolId : taker);
      if (taker === schoolId || others.includes(taker)) bus.on(ORPHANS, onOrphan);
      req.raw.on('close', closed);
      res.on('close', closed);
      let cursor = lastId;
      let first = true;
      try {
        for (;;) {
          const page = await boardEventsAfter(o.db, schoolId, cursor, 500, first && lastId !== '0' ? 10 : 0);
          first = false;
          for (const e of page) send({ ...e, schoolId });
          if (page.length < 500) break;
          cursor = page.at(-1)!.id;
        }
      } catch (err) {
        // The stream is already open (no error answer is possible): end it, and the board reconnects
        // (`retry`) and catches up then, rather than holding live events for a catch-up that never ends.
        req.log.warn(
          { err, school: schoolId },
          'board catch-up failed; stream ended for the board to reconnect',
        );
        res.end();
        closed();
        return;
      }
      const pending = held;
      held = null;
      for (const e of pending) send(e);
      if (res.writableEnded) return;
      res.write(HEARTBEAT_FRAME);
      heartbeat = setInterval(() => res.write(HEARTBEAT_FRAME), o.heartbeatMs ?? HEARTBEAT_MS);
    },
  );
}
