import type { FastifyRequest } from 'fastify';
import type * as z from 'zod';
import type { DoorstepConfig } from '../../config/schema.ts';
import { doorstepError } from '../../errors.ts';
import type { User } from '../../store/users.ts';
import { knownSchool, userMaySeeSchool } from '../../visits/access.ts';
import type { VisitDeps } from '../../visits/change.ts';

/** What the web front end's routes use. */
export interface WebDeps extends VisitDeps {
  config: DoorstepConfig;
  /** Sign-in lockout: failures before the account locks, and for how long. */
  lockout: { maxFailures: number; lockMs: number };
  sessionTtlMs: number;
  /** Sign-in attempts per minute from one address, whatever the account (429 above it). */
  signInsPerMinutePerAddress: number;
  /** `auto`: Secure cookies when the request came over https (behind a proxy: X-Forwarded-Proto). */
  secureCookies: boolean | 'auto';
}

/**
 * The body or query checked against a zod schema; a bad field is a 400 naming it (`field`: the name
 * of a value checked on its own, such as one query parameter). A string holding a NUL character is
 * refused here too, by its field: PostgreSQL can store none in text or JSON, and its refusal,
 * reaching the HTTP layer, could only say "a value in the request is not valid".
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, field = 'body'): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : field;
    throw doorstepError('BAD_REQUEST', `${where}: ${issue.message}`);
  }
  const nul = nulAt(r.data, []);
  if (nul)
    throw doorstepError(
      'BAD_REQUEST',
      `${nul.length ? nul.join('.') : field}: expected text without a NUL character (U+0000)`,
    );
  return r.data;
}

/** The path to the first string in `value` that holds a NUL character, if any. */
function nulAt(value: unknown, path: (string | number)[]): (string | number)[] | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const at = nulAt(v, [...path, i]);
      if (at) return at;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype)
    for (const [k, v] of Object.entries(value)) {
      const at = nulAt(v, [...path, k]);
      if (at) return at;
    }
  return undefined;
}

export function userOf(req: FastifyRequest): User {
  if (!req.user) throw doorstepError('UNAUTHENTICATED', 'sign in first');
  return req.user;
}

/** The school asked for, which must exist and be one the user works at. */
export function schoolParam(deps: WebDeps, req: FastifyRequest, schoolId: string | undefined) {
  if (!schoolId) throw doorstepError('BAD_REQUEST', 'school: expected a school id');
  const school = knownSchool(deps.config, schoolId);
  if (!userMaySeeSchool(userOf(req), schoolId))
    throw doorstepError('FORBIDDEN', `you do not work at school "${schoolId}"`);
  return school;
}
