import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { DoorstepConfig } from '../config/schema.ts';
import { boardEventsAfter } from '../store/alarms.ts';
import { type BoardEventRow, boardChannel } from '../store/board.ts';
import type { Db } from '../store/db.ts';

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
}

function frame(e: BoardEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ schoolId: e.schoolId, ...e.payload })}\n\n`;
}

/**
 * `GET /board/events?school=ID`: the board's live stream (Server-Sent Events). Every process that
 * accepts an alarm publishes it on a Redis channel; this fans it out to the school's open boards at
 * once. A board that reconnects sends `Last-Event-ID` and first gets every event after it from the
 * board_events table, so nothing is missed across a reconnect. Payloads carry ids only.
 * (Sign-in and roles arrive with the board issue.)
 */
export async function registerBoardEvents(app: FastifyInstance, o: BoardEventsOptions): Promise<void> {
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  await o.subscriber.subscribe(boardChannel(o.prefix));
  o.subscriber.on('message', (_channel, message) => {
    try {
      const e = JSON.parse(message) as BoardEvent;
      bus.emit(e.schoolId, e);
    } catch {
      // not ours
    }
  });
  const streams = new Set<import('node:http').ServerResponse>();
  // Open streams would keep the server from closing: end them first (the board reconnects elsewhere).
  app.addHook('preClose', async () => {
    for (const res of streams) res.end();
  });
  app.addHook('onClose', async () => {
    o.subscriber.disconnect();
  });

  const routeOptions = o.access ? { config: { access: o.access } } : {};
  app.get<{ Querystring: { school?: string; lastEventId?: string } }>(
    '/board/events',
    routeOptions,
    async (req, reply) => {
      const schoolId = req.query.school;
      if (!schoolId || !o.config.schools.some((s) => s.id === schoolId)) {
        return reply.code(404).send({ code: 'DOORSTEP_NOT_FOUND', message: 'no such school' });
      }
      if (o.access && req.user && req.user.schools.length > 0 && !req.user.schools.includes(schoolId))
        return reply
          .code(403)
          .send({ code: 'DOORSTEP_FORBIDDEN', message: 'you do not work at this school' });
      const header = req.headers['last-event-id'];
      const lastId = (Array.isArray(header) ? header[0] : header) ?? req.query.lastEventId ?? '0';
      if (!/^\d+$/.test(lastId))
        return reply
          .code(400)
          .send({ code: 'DOORSTEP_BAD_REQUEST', message: 'Last-Event-ID must be a number' });

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write('retry: 2000\n\n');
      streams.add(res);

      // Board event ids come from a sequence, but concurrent writers commit (and publish) out of id
      // order, so "id > last" is not enough: live events are sent unless this stream already sent
      // that id, and a catch-up also replays the few seconds before the last id. Clients dedupe by id.
      const sentIds = new Set<string>();
      const send = (e: BoardEvent) => {
        if (sentIds.has(e.id)) return;
        sentIds.add(e.id);
        if (sentIds.size > 20_000) sentIds.delete(sentIds.values().next().value as string);
        res.write(frame(e));
      };
      let held: BoardEvent[] | null = [];
      const onEvent = (e: BoardEvent) => (held ? held.push(e) : send(e));
      bus.on(schoolId, onEvent);
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), o.heartbeatMs ?? 15_000);
      req.raw.on('close', () => {
        streams.delete(res);
        clearInterval(heartbeat);
        bus.off(schoolId, onEvent);
      });
      let cursor = lastId;
      let first = true;
      for (;;) {
        const page = await boardEventsAfter(o.db, schoolId, cursor, 500, first && lastId !== '0' ? 10 : 0);
        first = false;
        for (const e of page) send({ ...e, schoolId });
        if (page.length < 500) break;
        cursor = page.at(-1)!.id;
      }
      const pending = held;
      held = null;
      for (const e of pending) send(e);
    },
  );
}
