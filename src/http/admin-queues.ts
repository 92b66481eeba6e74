import { timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Secret } from '../core/secret.ts';
import { ERRORS } from '../errors.ts';

export const ADMIN_QUEUES_PATH = '/admin/queues';

export interface AdminCredential {
  username: string;
  password: Secret;
}

/** Constant-time comparison of an HTTP Basic credential. */
export function basicAuthMatches(header: string | undefined, cred: AdminCredential): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const given = Buffer.from(header.slice(6), 'base64');
  const expected = Buffer.from(`${cred.username}:${cred.password.reveal()}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The queues of the alarm path: shown, never changed from the dashboard. Paused there, no ladder
 * step, notification or visit watch would run (the watcher's own safety net queues into the same
 * paused queue), and nothing would say so.
 */
export const READ_ONLY_QUEUES: ReadonlySet<string> = new Set(['alarms', 'notify']);

/** Wrong credentials from one address, within the window, before it is refused outright. */
export const ADMIN_FAILURES_ALLOWED = 10;
export const ADMIN_FAILURE_WINDOW_MS = 15 * 60_000;

/**
 * Failed Basic-auth tries per address, in this process: from `ADMIN_FAILURES_ALLOWED` on, the address
 * is answered 429 until its window ends (a guessed password was tried without limit). Bounded: the
 * oldest addresses are forgotten past 10,000.
 */
export class AdminFailures {
  private readonly tries = new Map<string, { n: number; since: number }>();

  blocked(address: string, now: number): boolean {
    const t = this.tries.get(address);
    if (!t) return false;
    if (now - t.since >= ADMIN_FAILURE_WINDOW_MS) {
      this.tries.delete(address);
      return false;
    }
    return t.n >= ADMIN_FAILURES_ALLOWED;
  }

  /** The right credential from an address: its wrong tries are forgotten (a tab that had an old one). */
  succeeded(address: string): void {
    this.tries.delete(address);
  }

  failed(address: string, now: number): void {
    const t = this.tries.get(address);
    if (!t || now - t.since >= ADMIN_FAILURE_WINDOW_MS) {
      this.tries.delete(address);
      this.tries.set(address, { n: 1, since: now });
      if (this.tries.size > 10_000) this.tries.delete(this.tries.keys().next().value!);
    } else t.n++;
  }
}

/**
 * bull-board behind HTTP Basic auth. Only registered when a credential is configured: without one
 * the path does not exist (404), so an unconfigured deployment never exposes job data. The alarm
 * path's queues are read-only there (`READ_ONLY_QUEUES`); wrong credentials are limited per address.
 */
export async function registerAdminQueues(
  app: FastifyInstance,
  queues: readonly Queue[],
  cred: AdminCredential,
  now: () => number = Date.now,
): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(ADMIN_QUEUES_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: READ_ONLY_QUEUES.has(q.name) })),
    serverAdapter,
  });
  const failures = new AdminFailures();
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (req, reply) => {
      if (failures.blocked(req.ip, now()))
        return reply
          .code(429)
          .header('retry-after', String(ADMIN_FAILURE_WINDOW_MS / 1000))
          .send({ code: ERRORS.RATE_LIMITED.code, message: 'too many wrong credentials: try again later' });
      if (!basicAuthMatches(req.headers.authorization, cred)) {
        // A browser's first request carries no credential: only a wrong one counts.
        if (req.headers.authorization) failures.failed(req.ip, now());
        return reply
          .code(401)
          .header('www-authenticate', 'Basic realm="doorstep admin", charset="UTF-8"')
          .send({ code: ERRORS.UNAUTHORISED.code, message: 'credentials required' });
      }
      failures.succeeded(req.ip);
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: ADMIN_QUEUES_PATH });
  });
}
