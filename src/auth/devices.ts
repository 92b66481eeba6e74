import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { UserWithSecret } from '../store/users.ts';

/**
 * Devices that have signed in to an account before. After repeated failures an account is locked
 * for a while (see session-routes.ts), but a device it has signed in from before still passes with the
 * right password: a stranger can lock out new devices, never the owner's own phone or desk.
 *
 * The cookie (HttpOnly, sent only to the sign-in route) holds up to five entries, one per account,
 * `userId.issuedDay.nonce.mac`. The MAC is keyed by the account's password hash, so nothing is stored
 * for it, nobody without the hash can make one, and a new password forgets every device at once.
 * Wrong passwords sent with an entry are counted per entry in Redis (shared by every process); an
 * entry with as many failures as lock an account stops passing the lock until its window runs out,
 * so a stolen device cookie is no way round the lockout.
 */
export const DEVICE_COOKIE = 'doorstep_device';
export const DEVICE_LIFETIME_DAYS = 180;
const MAX_ENTRIES = 5;
const DAY_MS = 86_400_000;

function mac(user: UserWithSecret, issuedDay: number, nonce: string): Buffer {
  return createHmac('sha256', user.passwordHash).update(`device:${user.id}.${issuedDay}.${nonce}`).digest();
}

function entries(cookie: string | undefined): string[] {
  return (cookie ?? '').split('~').filter((e) => /^\d{1,18}\.\d{1,6}\.[\w-]{22}\.[\w-]{43}$/.test(e));
}

/** The entry this cookie holds for the account, when it is genuine and not too old. */
export function knownDevice(
  cookie: string | undefined,
  user: UserWithSecret,
  now: Date,
): { nonce: string } | undefined {
  const today = Math.floor(now.getTime() / DAY_MS);
  for (const e of entries(cookie)) {
    const [userId, issued, nonce, sent] = e.split('.') as [string, string, string, string];
    if (userId !== user.id || today - Number(issued) >= DEVICE_LIFETIME_DAYS || Number(issued) > today)
      continue;
    const expected = mac(user, Number(issued), nonce);
    const given = Buffer.from(sent, 'base64url');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return { nonce };
  }
  return undefined;
}

/** The cookie after a successful sign-in: a fresh entry for this account first, the others' after it. */
export function rememberDevice(cookie: string | undefined, user: UserWithSecret, now: Date): string {
  const issued = Math.floor(now.getTime() / DAY_MS);
  const nonce = randomBytes(16).toString('base64url');
  const mine = `${user.id}.${issued}.${nonce}.${mac(user, issued, nonce).toString('base64url')}`;
  const others = entries(cookie).filter((e) => !e.startsWith(`${user.id}.`));
  return [mine, ...others].slice(0, MAX_ENTRIES).join('~');
}

/** Failed sign-ins per device entry, in Redis. */
export class DeviceFailures {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly maxFailures: number;
  private readonly windowMs: number;

  constructor(redis: Redis, prefix: string, maxFailures: number, windowMs: number) {
    this.redis = redis;
    this.prefix = prefix;
    this.maxFailures = maxFailures;
    this.windowMs = windowMs;
  }

  private key(nonce: string): string {
    return `${this.prefix}:signin:device:${nonce}`;
  }

  /** The entry has fewer failures than lock an account. */
  async trusted(device: { nonce: string }): Promise<boolean> {
    return Number((await this.redis.get(this.key(device.nonce))) ?? 0) < this.maxFailures;
  }

  async failed(device: { nonce: string }): Promise<void> {
    const key = this.key(device.nonce);
    if ((await this.redis.incr(key)) === 1) await this.redis.pexpire(key, this.windowMs);
  }
}
