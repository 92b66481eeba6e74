import { randomBytes, type ScryptOptions, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DoorstepError, ERRORS } from '../errors.ts';

/** scrypt parameters (OWASP: N=2^17, r=8, p=1); stored with each hash so they can be raised later. */
const PARAMS = { N: 131072, r: 8, p: 1 } as const;
const KEY_LENGTH = 64;

/**
 * scrypt runs on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise), which also
 * serves file reads, DNS lookups and zlib, and each hash holds a core for ~0.3 s. A burst of sign-ins
 * must take neither every thread nor every core (the alarm path and PostgreSQL need one): at most
 * this many hashes run at once — half the pool, and one core fewer than the machine has, at least
 * one — and the rest wait their turn in order.
 */
export const MAX_CONCURRENT_HASHES = Math.max(
  1,
  Math.min(Math.floor((Number(process.env.UV_THREADPOOL_SIZE) || 4) / 2), availableParallelism() - 1),
);

let running = 0;
let finished = 0;
let refused = 0;
const waiting: (() => void)[] = [];

/**
 * How many hashes may wait for a thread. A sign-in behind 32 others waits ~10 s already; past that,
 * a burst (someone spraying passwords from many addresses) is refused at once (`HashQueueFull`, a
 * sign-in answers 503 with Retry-After) instead of growing a queue in memory that makes everyone's
 * sign-in wait minutes. Only password hashing waits here: the alarm path never hashes.
 */
export const MAX_WAITING_HASHES = 32;
let maxWaiting = MAX_WAITING_HASHES;

/** Sets how many hashes may wait (tests use a small number); returns the limit it replaced. */
export function limitWaitingHashes(n: number): number {
  const before = maxWaiting;
  maxWaiting = n;
  return before;
}

/** Seconds a refused sign-in is asked to wait (the queue at its limit drains in about this). */
export const HASH_QUEUE_RETRY_SECONDS = 10;

/**
 * A hash refused because `maxWaiting` others already wait for a thread: a 503 whose message is for
 * the person signing in (the HTTP layer shows it, with Retry-After).
 */
export class HashQueueFull extends DoorstepError {
  constructor() {
    super(
      ERRORS.SERVICE_UNAVAILABLE,
      `too many sign-ins are being checked at once: try again in ${HASH_QUEUE_RETRY_SECONDS} seconds`,
      { forPeople: true, retryAfterSeconds: HASH_QUEUE_RETRY_SECONDS },
    );
  }
}

/** How many hashes run now, wait for a thread, have finished and were refused since the process started. */
export function hashingStats(): { running: number; waiting: number; finished: number; refused: number } {
  return { running, waiting: waiting.length, finished, refused };
}

/**
 * The hashing threads, one per slot, started on first use and never holding the process open. Each
 * lowers its own CPU priority and keeps to the background cores (src/auth/hash-worker.ts), so a burst
 * of sign-ins cannot take cores from the alarm path.
 */
const idle: Worker[] = [];
let hashCpus: string | undefined;

/**
 * Where hashing threads started from now on run (`queue.backgroundCores`, src/core/background-cpus.ts):
 * set once at start, before the first sign-in.
 */
export function hashOnCpus(cpus: string | undefined): void {
  hashCpus = cpus;
}
let nextJob = 0;
const pending = new Map<number, { resolve: (k: Buffer) => void; reject: (e: Error) => void }>();

function hashThread(): Worker {
  const w = idle.pop();
  if (w) return w;
  const worker = new Worker(new URL('./hash-worker.ts', import.meta.url), { workerData: { cpus: hashCpus } });
  worker.on('message', (m: { id: number; key?: Uint8Array; error?: string }) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.key) p?.resolve(Buffer.from(m.key));
    else p?.reject(new Error(m.error ?? 'hashing failed'));
  });
  worker.on('error', (err) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  });
  // Never what keeps the process running (after the listeners, which would hold it again).
  worker.unref();
  return worker;
}

async function derive(password: string, salt: Buffer, o: ScryptOptions, len: number): Promise<Buffer> {
  if (running >= MAX_CONCURRENT_HASHES) {
    if (waiting.length >= maxWaiting) {
      refused++;
      throw new HashQueueFull();
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  } else running++;
  const worker = hashThread();
  let broken = false;
  try {
    const id = ++nextJob;
    // Held while it works for someone (a CLI waiting for its hash), let go when idle.
    worker.ref();
    return await new Promise<Buffer>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({
        id,
        password: password.normalize('NFKC'),
        salt,
        len,
        o: { N: o.N, r: o.r, p: o.p },
      });
    });
  } catch (err) {
    broken = true;
    worker.terminate().catch(() => {});
    throw err;
  } finally {
    worker.unref();
    if (!broken) idle.push(worker);
    finished++;
    // The slot passes straight to the next in line (running stays the same), or is given back.
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/** `scrypt$N$r$p$salt$hash` (base64). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS, KEY_LENGTH);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Constant-time comparison against a stored hash; a malformed hash never verifies. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64');
  const key = await derive(password, Buffer.from(salt, 'base64'), { N: +n, r: +r, p: +p }, expected.length);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A password rule people can meet: long rather than clever (NCSC guidance: three random words). */
export function passwordProblem(password: string): string | null {
  if (password.length < 12) return 'expected a password of at least 12 characters';
  if (password.length > 256) return 'expected a password of at most 256 characters';
  return null;
}

/**
 * A stand-in to verify against when there is no usable account: the same parameters as a real hash,
 * so verifying costs the same one scrypt run, but random bytes no password derives (making it costs
 * nothing, so the first unknown name is no slower than the next).
 */
export const DUMMY_HASH = [
  'scrypt',
  PARAMS.N,
  PARAMS.r,
  PARAMS.p,
  randomBytes(16).toString('base64'),
  randomBytes(KEY_LENGTH).toString('base64'),
].join('$');
