import { timingSafeEqual } from 'node:crypto';
import type {} from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { holdsRole } from '../auth/scope.ts';
import type { UserRole } from '../domain/roles.ts';
import { ERRORS } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { sessionUser, type User } from '../store/users.ts';
import { sendErrorPage } from './error-pages.ts';

/**
 * Who may call a route: `public`, any `signed-in` user, or the listed roles (admin may always; what
 * the route then shows or changes is limited to the user's schools, an admin's included).
 * Every route of the front end declares one in its `config.access`; a route without one is refused
 * at start-up, so nothing is served unguarded by accident. Routes with their own scheme (health,
 * metrics, device webhooks, the queue admin UI behind Basic auth) are listed in OWN_AUTH.
 */
export type Access = 'public' | 'signed-in' | readonly UserRole[];

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    user: User | null;
    csrfToken: string | null;
    /**
     * The session behind `user`: its token hash (what its open streams are known by), its end, and
     * whether it is held past that end by a visit of its person — out, or just back safe
     * (sessionExpiredSql).
     */
    session: { tokenHash: string; expiresAt: Date; heldWhileOut: boolean } | null;
  }
}

export const SESSION_COOKIE = 'doorstep_session';

/** How the session cookie is set: by sign-in, and again while a visit of its person holds it. */
export interface SessionCookie {
  ttlMs: number;
  /** `auto`: Secure cookies when the request came over https (behind a proxy: X-Forwarded-Proto). */
  secureCookies: boolean | 'auto';
}

export function sessionCookieOptions(req: FastifyRequest, secureCookies: boolean | 'auto') {
  const secure = secureCookies === 'auto' ? req.protocol === 'https' : secureCookies;
  return { path: '/', httpOnly: true, sameSite: 'strict', secure } as const;
}

/** Routes that authenticate by other means (or need none), by URL prefix. */
export const OWN_AUTH = [
  '/healthz',
  '/readyz',
  '/metrics',
  '/hooks/fob/',
  '/hooks/sms/',
  '/hooks/voice/',
  '/admin/queues',
  '/assets/',
  '/favicon.ico',
];

export function allows(access: Access, user: User | null): boolean {
  if (access === 'public') return true;
  if (!user) return false;
  if (access === 'signed-in') return true;
  return access.some((r) => holdsRole(user, r));
}

function isPage(req: FastifyRequest): boolean {
  return req.method === 'GET' && !req.url.startsWith('/api/') && !req.url.startsWith('/board/events');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The session the request's cookie names, when it is valid (see sessionUser). */
export async function cookieSession(db: Db, req: FastifyRequest, now: Date) {
  const token = req.cookies?.[SESSION_COOKIE];
  return token ? sessionUser(db, token, now) : undefined;
}

/**
 * A probe on this machine: the peer is loopback and no proxy forwarded the request — and Doorstep is
 * not told it runs behind a proxy (`http.trustProxy`): a proxy on this machine that adds no
 * forwarding header (nginx's default `proxy_pass`) would otherwise pass every visitor off as local.
 */
export function isLocalProbe(req: FastifyRequest, behindProxy: boolean): boolean {
  if (behindProxy) return false;
  const peer = req.socket.remoteAddress ?? '';
  const loopback = peer === '::1' || peer.startsWith('127.') || peer.startsWith('::ffff:127.');
  return loopback && req.headers['x-forwarded-for'] === undefined && req.headers.forwarded === undefined;
}

/**
 * Session lookup, the route's access rule, and CSRF for every state-changing request (a signed-in
 * route's session token; a public route's JSON body). With `cookie`,
 * a session held open by a visit of its person (out, or just back safe) has its cookie's end moved on (a session
 * length from now) with each request — the phone page re-reads while out — so the browser does not
 * drop the cookie at the expiry the server no longer applies to them.
 */
export function registerAccess(
  app: FastifyInstance,
  db: Db,
  now: () => Date = () => new Date(),
  cookie?: SessionCookie,
): void {
  app.decorateRequest('user', null);
  app.decorateRequest('csrfToken', null);
  app.decorateRequest('session', null);

  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (access === undefined && !OWN_AUTH.some((p) => route.url.startsWith(p)))
      throw new Error(`route ${route.method} ${route.url} declares no access rule`);
  });

  app.addHook('onRequest', async (req, reply) => {
    const access = req.routeOptions.config?.access;
    if (access === undefined) return;
    const s = await cookieSession(db, req, now());
    if (s) {
      req.user = s.user;
      req.csrfToken = s.csrfToken;
      req.session = { tokenHash: s.tokenHash, expiresAt: s.expiresAt, heldWhileOut: s.heldWhileOut };
      if (s.heldWhileOut && cookie) {
        const until = Math.max(s.expiresAt.getTime(), now().getTime() + cookie.ttlMs);
        reply.setCookie(SESSION_COOKIE, req.cookies[SESSION_COOKIE]!, {
          ...sessionCookieOptions(req, cookie.secureCookies),
          expires: new Date(until),
        });
      }
    }
    if (!allows(access, req.user)) return deny(req, reply, req.user ? 403 : 401);
    if (!['GET', 'HEAD', 'OPTIONS'].includes(req.method)) {
      if (access === 'public') {
        // Public POSTs (sign-in, first-run setup) act on no session, so they ask for no session's
        // token — the next person signing in on a shared office PC still carries the last one's
        // cookie, and their page has no token to send. They take JSON only: a cross-site form cannot
        // send it without CORS.
        if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
          return reply
            .code(415)
            .send({ code: ERRORS.BAD_REQUEST.code, message: 'expected application/json' });
      } else {
        // Signed-in requests prove they come from our pages (synchronizer token, SameSite=Strict cookie).
        const sent = req.headers['x-csrf-token'];
        if (typeof sent !== 'string' || !req.csrfToken || !safeEqual(sent, req.csrfToken))
          return reply.code(403).send({ code: ERRORS.CSRF.code, message: 'missing or wrong CSRF token' });
      }
    }
  });
}

function deny(req: FastifyRequest, reply: FastifyReply, status: 401 | 403) {
  if (isPage(req)) {
    if (status === 401) return reply.redirect(`/login?next=${encodeURIComponent(req.url)}`);
    return sendErrorPage(reply, 403);
  }
  return reply.code(status).send({
    code: status === 401 ? ERRORS.UNAUTHENTICATED.code : ERRORS.FORBIDDEN.code,
    message: status === 401 ? 'sign in first' : 'your role does not allow this',
  });
}
