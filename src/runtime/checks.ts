import type { Redis } from 'ioredis';
import { fobsOutCheck } from '../checks/fobs-out.ts';
import { outsideConfigCheck } from '../checks/outside-config.ts';
import type { DoorstepConfig } from '../config/schema.ts';
import type { Check } from '../core/checks.ts';
import { describeError } from '../errors.ts';
import type { Db } from '../store/db.ts';

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export function redisCheck(conn: Redis, shownUrl: string, timeoutMs = 2000): Check {
  return async () => {
    try {
      await withTimeout(conn.ping(), timeoutMs, 'Redis');
      return { name: 'redis', ok: true, detail: `${shownUrl} answered PING` };
    } catch (err) {
      return { name: 'redis', ok: false, detail: `${shownUrl}: ${describeError(err)}` };
    }
  };
}

export function storeCheck(db: Db, timeoutMs = 2000): Check {
  return async () => {
    try {
      await withTimeout(db.query('SELECT 1'), timeoutMs, 'the database');
      return { name: 'store', ok: true, detail: `${db.describe} answered` };
    } catch (err) {
      return { name: 'store', ok: false, detail: `${db.describe}: ${describeError(err)}` };
    }
  };
}

/**
 * Workers out or alarms open at schools the config no longer holds: a warning on /readyz, never a
 * 503 (src/checks/outside-config.ts says why). The detail names school ids and counts only. Could not
 * look (the store slow or down): a warning too — the `store` check is the one that fails for that.
 */
export function watchCheck(db: Db, schoolIds: readonly string[], timeoutMs = 2000): Check {
  return async () => {
    try {
      return await withTimeout(outsideConfigCheck(db, schoolIds), timeoutMs, 'the database');
    } catch (err) {
      return {
        name: 'watch',
        ok: true,
        warning: true,
        detail: `could not look for workers out at schools not in the config: ${db.describe}: ${describeError(err)}`,
      };
    }
  };
}

/**
 * Visits out holding a fob the config now gives to someone else or to no one: a warning on /readyz,
 * never a 503 (src/checks/fobs-out.ts). School ids, fob ids and counts only. Could not look: a
 * warning too — the `store` check is the one that fails for that.
 */
export function fobsOutReadiness(db: Db, config: DoorstepConfig, timeoutMs = 2000): Check {
  return async () => {
    try {
      return await withTimeout(fobsOutCheck(db, config), timeoutMs, 'the database');
    } catch (err) {
      return {
        name: 'fobs-out',
        ok: true,
        warning: true,
        detail: `could not look for fobs out with a visit that the config now gives elsewhere: ${db.describe}: ${describeError(err)}`,
      };
    }
  };
}
