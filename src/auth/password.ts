import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { availableParallelism, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { backgroundCommand, canPin } from '../core/background-cpus.ts';
import { DoorstepError, ERRORS } from '../errors.ts';
import type { KdfParams } from './hash-child.ts';

/**
 * Argon2id, OWASP's first choice for password storage, at its base configuration m = 19 MiB, t = 2,
 * p = 1 (OWASP Password Storage Cheat Sheet; node:crypto's `argon2`, OpenSSL's implementation). Each
 * hash stores its parameters in the PHC string format (`$argon2id$v=19$m=19456,t=2,p=1$salt$key`),
 * so they can be raised later: a stored hash made with other parameters, or an scrypt hash of the
 * releases before this one (`scrypt$N$r$p$salt$key`, N = 2^17, r = 8 — OWASP's scrypt line, which it
 * ranks as strong as this), still verifies, and is made again at its owner's next sign-in
 * (`needsRehash`). OWASP ranks the two alike against guessing; argon2id costs a sign-in ~45 ms of
 * one core and 19 MB here against scrypt's ~300 ms and 128 MB — the work a burst of sign-ins takes
 * from the alarm path and PostgreSQL on a small machine.
 */
export const ARGON2 = { memory: 19456, passes: 2, parallelism: 1 } as const;
const KEY_LENGTH = 32;
/** The shortest derived key a stored hash may hold (256 bits) and still be compared. */
const MIN_STORED_KEY_LENGTH = 32;

/**
 * Each hash holds a core for ~45 ms and 19 MB (an scrypt hash still stored: ~0.3 s and 128 MB). A burst of sign-ins must not take every core (the
 * alarm path and PostgreSQL need one) nor grow memory with the burst: at most this many hashes run
 * at once, each in a hashing process of its own — two, and one fewer than the machine's cores, at
 * least one — and the rest wait their turn in order.
 */
export const MAX_CONCURRENT_HASHES = Math.max(1, Math.min(2, availableParallelism() - 1));

let running = 0;
let finished = 0;
let refused = 0;
const waiting: (() => void)[] = [];

/**
 * How many hashes may wait for a hashing process. A sign-in behind 32 others waits a second or two (ten with scrypt hashes); past that,
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
 * A hash refused because `maxWaiting` others already wait for a hashing process: a 503 whose message is for
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

/**
 * A hash lost with its hashing process (killed, out of memory, past its deadline, or started without
 * its channel): the sign-in is answered 503 with Retry-After — the next try gets a fresh process —
 * never a 500, and the reason (`cause`) stays in the server's log.
 */
export class HasherLost extends DoorstepError {
  constructor(cause: Error) {
    super(
      ERRORS.SERVICE_UNAVAILABLE,
      'the password could not be checked just now: try again in a few seconds',
      {
        forPeople: true,
        retryAfterSeconds: 2,
        cause,
      },
    );
  }
}

/** How many hashes run now, wait for a hashing process, have finished and were refused since the process started. */
export function hashingStats(): { running: number; waiting: number; finished: number; refused: number } {
  return { running, waiting: waiting.length, finished, refused };
}

/**
 * The hashing processes, one per slot, started on first use and never holding the process open.
 * Each runs under `nice` and on the background cores from its first instruction
 * (src/auth/hash-child.ts says why a process and not a thread), so a burst of sign-ins takes neither
 * a core nor the memory-map lock from the alarm path and the board.
 */
const HASH_CHILD = fileURLToPath(new URL('./hash-child.ts', import.meta.url));
const HASH_NICE = 10;
const idle: Hasher[] = [];
let hashCpus: string | undefined;

/**
 * Where hashing processes started from now on run (`queue.backgroundCores`, src/core/background-cpus.ts):
 * set once at start, before the first sign-in.
 */
export function hashOnCpus(cpus: string | undefined): void {
  hashCpus = cpus;
}

/** The process ids of the hashing processes now running (idle or busy): for tests and diagnostics. */
export function hashingPids(): number[] {
  return [...live].flatMap((h) => (h.child.pid === undefined ? [] : [h.child.pid]));
}

interface Hasher {
  child: ChildProcess;
  /** The job it is working on: rejected if the process dies or stops answering first. */
  job?: { id: number; resolve: (k: Buffer) => void; reject: (e: Error) => void };
  dead: boolean;
}
const live = new Set<Hasher>();

/**
 * How long a hash may take before its process is given up (killed, the hash failed): a hash takes
 * well under a second, but a process stopped or starved must not hold its slot, and every sign-in
 * behind it, for ever.
 */
export const HASH_DEADLINE_MS = 30_000;
let deadlineMs = HASH_DEADLINE_MS;

/** Sets how long a hash may take (tests use a short one); returns the limit it replaced. */
export function limitHashTime(ms: number): number {
  const before = deadlineMs;
  deadlineMs = ms;
  return before;
}

/** Holds the process open while `h` works for someone (a CLI waiting for its hash); lets go when idle. */
function hold(h: Hasher, on: boolean): void {
  const channel = h.child.channel as { ref(): void; unref(): void } | null | undefined;
  if (on) {
    h.child.ref();
    channel?.ref();
  } else {
    h.child.unref();
    channel?.unref();
  }
}

/** `h` is never used again: out of the pool, killed, and the hash it was doing failed with `err`. */
function discard(h: Hasher, err: Error): void {
  if (h.dead) return;
  h.dead = true;
  live.delete(h);
  const i = idle.indexOf(h);
  if (i >= 0) idle.splice(i, 1);
  if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill('SIGKILL');
  hold(h, false);
  h.job?.reject(new HasherLost(err));
  h.job = undefined;
}

async function hasher(): Promise<Hasher> {
  const found = idle.pop();
  if (found) return found;
  // Checked at every start, as the worker child's is: a container's CPU set may have shrunk since
  // Doorstep started, and `taskset` refusing them would fail every sign-in. Unpinned, it still hashes.
  const cpus = hashCpus !== undefined && (await canPin(hashCpus)) ? hashCpus : undefined;
  const run = backgroundCommand({ cpus, nice: HASH_NICE }, process.execPath, [HASH_CHILD]);
  const child = spawn(run.command, run.args, {
    // Nothing of the parent's environment (its secrets, NODE_OPTIONS): only glibc's huge pages for
    // each hash's memory (an scrypt hash's 128 MB: ~60 page faults instead of ~32,000).
    env: { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const h: Hasher = { child, dead: false };
  live.add(h);
  child.on('message', (m: { id?: number; key?: Uint8Array; error?: string }) => {
    const job = h.job;
    // An answer to a job it is not doing (one given up) is no answer to this one.
    if (!job || m.id !== job.id) return;
    h.job = undefined;
    if (m.key) job.resolve(Buffer.from(m.key));
    else job.reject(new Error(m.error ?? 'hashing failed'));
  });
  child.on('exit', (code, signal) =>
    discard(h, new Error(`the hashing process ended (${signal ?? `code ${code}`})`)),
  );
  // Could not be started at all (node or taskset missing): no 'exit' follows.
  child.on('error', (err) => discard(h, err));
  // Only where the `nice` program is missing (it is part of every Linux and macOS install).
  try {
    if (child.pid !== undefined && !run.niced) setPriority(child.pid, HASH_NICE);
  } catch {
    // Not permitted here: it still hashes, at normal priority.
  }
  hold(h, false);
  return h;
}
let nextJob = 0;

async function derive(password: string, salt: Buffer, o: KdfParams, len: number): Promise<Buffer> {
  if (running >= MAX_CONCURRENT_HASHES) {
    if (waiting.length >= maxWaiting) {
      refused++;
      throw new HashQueueFull();
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  } else running++;
  let h: Hasher | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    // Inside the try: a start that throws (out of memory, a bad argument) gives the slot back.
    const w = await hasher();
    h = w;
    if (typeof w.child.send !== 'function') {
      // Started without its channel (out of file descriptors): never used.
      const lost = new Error('the hashing process started without its channel');
      discard(w, lost);
      throw new HasherLost(lost);
    }
    const id = ++nextJob;
    hold(w, true);
    return await new Promise<Buffer>((resolve, reject) => {
      w.job = { id, resolve, reject };
      timer = setTimeout(
        () => discard(w, new Error(`the hashing process did not answer within ${deadlineMs / 1000} s`)),
        deadlineMs,
      );
      w.child.send({ id, password: password.normalize('NFKC'), salt, len, o }, (err) => {
        if (err) discard(w, err);
      });
    });
  } finally {
    clearTimeout(timer);
    if (h && !h.dead) {
      hold(h, false);
      idle.push(h);
    }
    finished++;
    // The slot passes straight to the next in line (running stays the same), or is given back.
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/** PHC's base64: the standard alphabet without padding. */
const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');

/** `$argon2id$v=19$m=19456,t=2,p=1$salt$key` (PHC string format, base64 without padding). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, { alg: 'argon2id', ...ARGON2 }, KEY_LENGTH);
  const { memory: m, passes: t, parallelism: p } = ARGON2;
  return `$argon2id$v=19$m=${m},t=${t},p=${p}$${b64(salt)}$${b64(key)}`;
}

/**
 * Bounds on a stored hash's parameters: a hash is read from the database, and one written by hand
 * (or by another tool) with a cost of gigabytes must fail, not take the hashing process's memory.
 */
const MAX = {
  // 64 MiB, 4 passes, 4 lanes: the argon2 npm package's and passlib's defaults (m = 65536, t = 3,
  // p = 4) verify; about a second of one core at the most.
  argon2Memory: 65_536,
  argon2Passes: 4,
  argon2Parallelism: 4,
  // An scrypt hash's memory, 128·N·r bytes (and 128·r·p), within what the hashing process allows.
  scryptMemory: 128 * 1024 * 1024,
  scryptN: 2 ** 20,
  scryptR: 16,
  scryptP: 4,
  /** The longest derived key compared (512 bits). */
  key: 64,
};
/** The shortest salt argon2 takes (8 bytes); ours are 16. */
const MIN_SALT = 8;

const posInt = (s: string | undefined, max: number): number | undefined => {
  if (s === undefined || !/^\d{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= max ? n : undefined;
};

/** A stored hash read into what made it, or undefined when it is not one this release can verify. */
function readStored(stored: string): { params: KdfParams; salt: Buffer; key: Buffer } | undefined {
  const argon = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(
    stored,
  );
  if (argon) {
    const memory = posInt(argon[1], MAX.argon2Memory);
    const passes = posInt(argon[2], MAX.argon2Passes);
    const parallelism = posInt(argon[3], MAX.argon2Parallelism);
    // Argon2 needs at least 8 KiB of memory a lane.
    if (!memory || !passes || !parallelism || memory < 8 * parallelism) return undefined;
    return sized({ alg: 'argon2id', memory, passes, parallelism }, argon[4]!, argon[5]!);
  }
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [, n, r, p, salt, key] = parts as [string, string, string, string, string, string];
  const N = posInt(n, MAX.scryptN);
  const rr = posInt(r, MAX.scryptR);
  const pp = posInt(p, MAX.scryptP);
  if (!N || !rr || !pp || 128 * N * rr > MAX.scryptMemory || 128 * rr * pp > MAX.scryptMemory)
    return undefined;
  return sized({ alg: 'scrypt', N, r: rr, p: pp }, salt, key);
}

/** The salt and key of a stored hash, when each is a length a hash can be made with and compared. */
function sized(
  params: KdfParams,
  salt64: string,
  key64: string,
): { params: KdfParams; salt: Buffer; key: Buffer } | undefined {
  const salt = Buffer.from(salt64, 'base64');
  const key = Buffer.from(key64, 'base64');
  if (salt.length < MIN_SALT || key.length < MIN_STORED_KEY_LENGTH || key.length > MAX.key) return undefined;
  return { params, salt, key };
}

/**
 * Constant-time comparison against a stored hash; a malformed hash never verifies — one whose derived
 * key is missing or short (`…$salt$`) among them: an empty key would equal any password's.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const read = readStored(stored);
  if (!read) return false;
  let key: Buffer;
  try {
    key = await derive(password, read.salt, read.params, read.key.length);
  } catch (err) {
    // A hash its parameters cannot make (refused by the algorithm) never verifies, as a malformed
    // one does; a hashing process lost or a queue full is the sign-in's 503, not a wrong password.
    if (err instanceof DoorstepError) throw err;
    return false;
  }
  return key.length === read.key.length && timingSafeEqual(key, read.key);
}

/**
 * Whether a stored hash (one that just verified) should be made again with today's algorithm and
 * parameters: an scrypt hash, or an argon2id hash made with other parameters.
 */
export function needsRehash(stored: string): boolean {
  const read = readStored(stored);
  if (read?.params.alg !== 'argon2id') return true;
  const { memory, passes, parallelism } = read.params;
  return (
    memory !== ARGON2.memory ||
    passes !== ARGON2.passes ||
    parallelism !== ARGON2.parallelism ||
    read.key.length !== KEY_LENGTH
  );
}

/** A password rule people can meet: long rather than clever (NCSC guidance: three random words). */
export function passwordProblem(password: string): string | null {
  if (password.length < 12) return 'expected a password of at least 12 characters';
  if (password.length > 256) return 'expected a password of at most 256 characters';
  return null;
}

/**
 * A stand-in to verify against when there is no usable account: the same parameters as a new hash,
 * so verifying costs the same one hash, but random bytes no password derives (making it costs
 * nothing, so the first unknown name is no slower than the next).
 */
export const DUMMY_HASH = `$argon2id$v=19$m=${ARGON2.memory},t=${ARGON2.passes},p=${ARGON2.parallelism}$${b64(randomBytes(16))}$${b64(randomBytes(KEY_LENGTH))}`;
