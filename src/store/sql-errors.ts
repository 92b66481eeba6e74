import { type DoorstepError, doorstepError } from '../errors.ts';

/**
 * PostgreSQL's SQLSTATE of an error from the store (PostgreSQL or PGlite), when it is one: five
 * digits or capitals, on an error that is not an HTTP one.
 */
export function sqlState(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { statusCode?: unknown; code?: unknown };
  return e.statusCode === undefined && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)
    ? e.code
    : undefined;
}

/**
 * The database refused a value (SQLSTATE class 22, data exception): the same write fails the same
 * way every time, so it is the input's fault and never worth retrying.
 */
export function isValueRefused(err: unknown): boolean {
  return sqlState(err)?.startsWith('22') ?? false;
}

/**
 * The write fails the same way on every try, whatever the database's state: a refused value (class
 * 22) or a program limit exceeded (class 54, e.g. 54000 "index row size … exceeds btree maximum").
 * Retrying such a write (redelivering its message) can never succeed.
 */
export function failsEveryTime(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && (state.startsWith('22') || state.startsWith('54'));
}

/**
 * PostgreSQL gave the transaction up because another one met it on the same rows at the same moment
 * (40P01 a deadlock, 40001 a serialization failure): nothing of it was written, and the same request
 * made again succeeds. The catalog's error for it (503 SERVICE_UNAVAILABLE, `Retry-After: 1`, its
 * message said as it is), never a 500; undefined for any other error.
 */
export function retryableConflict(err: unknown): DoorstepError | undefined {
  const state = sqlState(err);
  if (state !== '40P01' && state !== '40001') return undefined;
  return doorstepError(
    'SERVICE_UNAVAILABLE',
    'another change to the same record was being made at the same moment, so nothing was changed: try again',
    { cause: err, forPeople: true, retryAfterSeconds: 1, details: [state] },
  );
}
