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

/** Wrong credentials from one source, within the window, before it is refused outright. */
export const ADMIN_FAILURES_ALLOWED = 10;
/**
 * Wrong credentials from all sources together, within the window, before every source is refused
 * until it ends: one credential, so many sources guessing it are one guesser (a botnet, a /48 of
 * IPv6). The dashboard is then closed to its owner too for up to the window — an operator's tool
 * closed for 15 minutes, against a password guessed without limit.
 */
export const ADMIN_FAILURES_ALLOWED_ALL = 100;
export const ADMIN_FAILURE_WINDOW_MS = 15 * 60_000;

/**
 * Whose tries an address's count: an IPv4 address itself; an IPv6 address by its /64 — the network
 * one host is given, whose every address it may use (one address per guess was one host unlimited).
 */
export function guessSource(address: string): string {
  const v4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)?.[1];
  if (v4) return v4;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * Failed Basic-auth tries per source (`guessSource`) and in all, in this process: from
 * `ADMIN_FAILURES_ALLOWED` on, the source is answered 429 until its window ends; from
 * `ADMIN_FAILURES_ALLOWED_ALL` on, every source is. Bounded: the oldest sources are forgotten past
 * 10,000 (their tries still count in all).
 */
export class AdminFailures {
  private readonly tries = new Map<string, { n: number; since: number }>();
  private all = { n: 0, since: 0 };

  blocked(address: string, now: number): boolean {
    if (now - this.all.since < ADMIN_FAILURE_WINDOW_MS && this.all.n >= ADMIN_FAILURES_ALLOWED_ALL)
      return true;
    const source = guessSource(address);
    const t = this.tries.get(source);
    if (!t) return false;
    if (now - t.since >= ADMIN_FAILURE_WINDOW_MS) {
      this.tries.delete(source);
      return false;
    }
    return t.n >= ADMIN_FAILURES_ALLOWED;
  }

  /** The right credential from a source: its wrong tries are forgotten (a tab that had an old one). */
  succeeded(address: string): void {
    this.tries.delete(guessSource(address));
  }

  failed(address: string, now: number): void {
    if (now - this.all.since >= ADMIN_FAILURE_WINDOW_MS) this.all = { n: 1, since: now };
    else this.all.n++;
    const source = guessSource(address);
    const t = this.tries.get(source);
    if (!t || now - t.since >= ADMIN_FAILURE_WINDOW_MS) {
      this.tries.delete(source);
      this.tries.set(source, { n: 1, since: now });
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
