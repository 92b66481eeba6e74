import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import { dummyHash, verifyPassword } from '../../auth/password.ts';
import { appendAudit } from '../../store/audit.ts';
import {
  createSession,
  deleteSession,
  recordFailedSignIn,
  recordSignIn,
  userByUsername,
} from '../../store/users.ts';
import { userMaySeeSchool } from '../../visits/service.ts';
import { SESSION_COOKIE } from '../access.ts';
import { parseInput, userOf, type WebDeps } from './deps.ts';

const credentials = z.strictObject({
  username: z.string().min(1).max(100),
  password: z.string().min(1).max(256),
});

/** Sign-in, sign-out and "who am I" (with the CSRF token the pages send back). */
export function registerSessionRoutes(app: FastifyInstance, deps: WebDeps): void {
  // Per-account lockout stops guessing one password; this stops spraying many accounts from one address.
  const perAddress = { max: deps.signInsPerMinutePerAddress, timeWindow: '1 minute' };
  app.post('/api/login', { config: { access: 'public', rateLimit: perAddress } }, async (req, reply) => {
    const { username, password } = parseInput(credentials, req.body);
    const now = deps.now();
    const user = await userByUsername(deps.db, username);
    const generic = { code: 'DOORSTEP_UNAUTHENTICATED', message: 'wrong username or password' };
    if (!user || user.disabled) {
      await verifyPassword(password, await dummyHash()); // the same time either way
      return reply.code(401).send(generic);
    }
    if (user.lockedUntil && user.lockedUntil > now) {
      await appendAudit(deps.db, {
        actor: `user:${user.id}`,
        action: 'auth.locked-out',
        after: { username },
      });
      return reply.code(429).send({
        code: 'DOORSTEP_LOCKED',
        message: 'too many failed sign-ins: this account is locked for a while; ask an admin if it is urgent',
      });
    }
    if (!(await verifyPassword(password, user.passwordHash))) {
      const { locked } = await recordFailedSignIn(
        deps.db,
        user.id,
        deps.lockout.maxFailures,
        deps.lockout.lockMs,
        now,
      );
      await appendAudit(deps.db, {
        actor: `user:${user.id}`,
        action: locked ? 'auth.locked' : 'auth.failed',
        after: { username },
      });
      return reply.code(401).send(generic);
    }
    await recordSignIn(deps.db, user.id);
    const session = await createSession(deps.db, user.id, deps.sessionTtlMs, now);
    await appendAudit(deps.db, { actor: `user:${user.id}`, action: 'auth.signed-in', after: { username } });
    const secure = deps.secureCookies === 'auto' ? req.protocol === 'https' : deps.secureCookies;
    reply.setCookie(SESSION_COOKIE, session.token, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure,
      expires: session.expiresAt,
    });
    return { ok: true, home: homeOf(user.roles) };
  });

  app.post('/api/logout', { config: { access: 'signed-in' } }, async (req, reply) => {
    const token = req.cookies[SESSION_COOKIE];
    if (token) await deleteSession(deps.db, token);
    await appendAudit(deps.db, { actor: `user:${userOf(req).id}`, action: 'auth.signed-out' });
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });

  app.get('/api/me', { config: { access: 'signed-in' } }, async (req) => {
    const user = userOf(req);
    return {
      user: { id: user.id, displayName: user.displayName, roles: user.roles, positions: user.positions },
      csrfToken: req.csrfToken,
      home: homeOf(user.roles),
      schools: deps.config.schools
        .filter((s) => userMaySeeSchool(user, s.id))
        .map((s) => ({ id: s.id, name: s.name })),
    };
  });
}

/** Where a role starts: the office on the board, visiting staff on their visits, and so on. */
export function homeOf(roles: readonly string[]): string {
  if (roles.includes('office') || roles.includes('safeguarding')) return '/board';
  if (roles.includes('visiting-staff')) return '/visits';
  if (roles.includes('data-manager')) return '/data';
  if (roles.includes('admin')) return '/audit';
  return '/visits';
}
