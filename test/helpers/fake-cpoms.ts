import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rng } from './rng.ts';

/**
 * A fake CPOMS partner API that enforces exactly the contract in connectors/records/cpoms/wire.ts and
 * injects faults: 5xx, timeouts (no answer), slow answers, 429 with Retry-After, connection resets,
 * and "created but the response was lost". Faults are drawn from a seeded generator, so a run repeats.
 */
export interface Faults {
  error5xx?: number;
  timeout?: number;
  rateLimit?: number;
  reset?: number;
  lostResponse?: number;
  slowMs?: number;
  retryAfterSeconds?: number;
}

export interface StoredIncident {
  id: string;
  /** When it was created (ms since the epoch). */
  at: number;
  idempotencyKey: string;
  body: Record<string, unknown>;
}

export interface FakeCpoms {
  url: string;
  incidents: Map<string, StoredIncident>;
  /** 201s sent (a second 201 for one record would be a duplicate). */
  created: number;
  requests: number;
  faults: Faults;
  /** Server-side limit, records per second: over it, 429 with Retry-After: 1. */
  limitPerSecond: number | undefined;
  close(): Promise<void>;
}

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$/;

export async function startFakeCpoms(options: {
  token: string;
  faults?: Faults;
  seed?: number;
  limitPerSecond?: number;
  students?: Record<string, string>;
}): Promise<FakeCpoms> {
  const random = rng(options.seed ?? 1);
  const students = options.students ?? {};
  const hung = new Set<ServerResponse>();
  let windowSecond = 0;
  let windowCount = 0;
  const state: FakeCpoms = {
    url: '',
    incidents: new Map(),
    created: 0,
    requests: 0,
    faults: options.faults ?? {},
    limitPerSecond: options.limitPerSecond,
    close: async () => {
      for (const res of hung) res.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
    },
  };

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    state.requests++;
    const url = new URL(req.url ?? '/', 'http://fake');
    if (req.headers.authorization !== `Bearer ${options.token}`)
      return json(res, 401, { error: 'unauthorised' });

    if (req.method === 'GET' && url.pathname === '/api/categories') {
      return json(res, 200, {
        categories: [
          { id: 1, name: 'Attendance' },
          { id: 2, name: 'Home visit' },
          { id: 3, name: 'Lone working' },
        ],
      });
    }
    if (req.method === 'GET' && url.pathname === '/api/students') {
      const key = url.searchParams.get('upn') ?? url.searchParams.get('mis_id') ?? '';
      const id = students[key];
      return json(res, 200, { students: id ? [{ id }] : [] });
    }
    if (req.method !== 'POST' || url.pathname !== '/api/incidents')
      return json(res, 404, { error: 'not found' });

    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const f = state.faults;
    const roll = random();
    let edge = 0;
    const hit = (p: number | undefined) => {
      edge += p ?? 0;
      return roll < edge;
    };
    if (hit(f.reset)) return req.socket.destroy();
    if (hit(f.timeout)) {
      hung.add(res);
      return; // never answers; the client gives up
    }
    if (hit(f.error5xx)) return json(res, 503, { error: 'unavailable' });
    if (hit(f.rateLimit))
      return json(res, 429, { error: 'slow down' }, { 'retry-after': String(f.retryAfterSeconds ?? 1) });
    if (state.limitPerSecond !== undefined) {
      const second = Math.floor(Date.now() / 1000);
      if (second !== windowSecond) {
        windowSecond = second;
        windowCount = 0;
      }
      if (++windowCount > state.limitPerSecond)
        return json(res, 429, { error: 'over the limit' }, { 'retry-after': '1' });
    }
    const lose = hit(f.lostResponse);
    if (f.slowMs) await new Promise((r) => setTimeout(r, f.slowMs));

    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '')
      return json(res, 422, { errors: { 'Idempotency-Key': 'required' } });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      return json(res, 422, { errors: { body: 'not JSON' } });
    }
    const errors: Record<string, string> = {};
    if (!Array.isArray(body.students) || !body.students.every((s) => typeof s === 'string'))
      errors.students = 'an array of student ids';
    for (const field of ['category', 'title', 'description']) {
      if (typeof body[field] !== 'string' || body[field] === '') errors[field] = 'required';
    }
    if (typeof body.occurred_at !== 'string' || !ISO_WITH_OFFSET.test(body.occurred_at))
      errors.occurred_at = 'ISO 8601 with offset';
    if (Object.keys(errors).length) return json(res, 422, { errors });

    const existing = state.incidents.get(key);
    if (existing) return json(res, 409, { id: existing.id, students: existing.body.students });
    const incident = { id: String(state.incidents.size + 1), at: Date.now(), idempotencyKey: key, body };
    state.incidents.set(key, incident);
    state.created++;
    if (lose) return req.socket.destroy(); // created, but the answer never arrives
    return json(res, 201, { id: incident.id });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/**
 * A record's own key from the key CPOMS was sent: Doorstep puts its install's id first (16 hex
 * digits and a colon, migration 052); without it the key is returned as sent (and fails a match).
 */
export function recordKey(sent: unknown): string {
  return String(sent).replace(/^[0-9a-f]{16}:/, '');
}
