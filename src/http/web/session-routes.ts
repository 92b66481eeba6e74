import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import {
  DEVICE_COOKIE,
  DEVICE_LIFETIME_DAYS,
  DeviceFailures,
  knownDevice,
  rememberDevice,
} from '../../auth/devices.ts';
import { DUMMY_HASH, hashPassword, needsRehash, verifyPassword } from '../../auth/password.ts';
import { isTrustWide } from '../../auth/scope.ts';
import { ERRORS } from '../../errors.ts';
import { appendAudit } from '../../store/audit.ts';
import { publishSessionsEnded } from '../../store/sessions.ts';
import {
  clearFailedSignIns,
  createSessionIfUnchanged,
  deleteSession,
  recordFailedSignIn,
  rehashPassword,
  userByUsername,
} from '../../store/users.ts';
import { userMaySeeSchool } from '../../visits/access.ts';
import { SESSION_COOKIE, sessionCookieOptions } from '../access.ts';
import { parseInput, userOf, type WebDeps } from './deps.ts';
import { forgetBrowserPush, pushEndpointInput } from './push-api.ts';

/** Sign-out: the browser's push subscription, when it has one, to forget with the session. */
const logoutInput = z.strictObject({ pushEndpoint: pushEndpointInput.optional() });

const credentials = z.strictObject({
  username: z.string().min(1).max(100),
  password: z.string().min(1).max(256),
});

/**
 * Sign-in, sign-out and "who am I" (with the CSRF token the pages send back).
 *
 * Sign-in answers a wrong password, an unknown or disabled account and a locked account with the
 * same 401 after the same work: one password hash (against a stand-in hash when there is no usable
 * account), one failure count, one audit entry. A lock (`lockout.maxFailures` failures) lasts
 * `lockout.minutes` and is passed by the right password from a device that has signed in to the
 * account before (devices.ts), so nobody can lock the owner out of their own devices.
 */
export function registerSessionRoutes(app: FastifyInstance, deps: WebDeps): void {
  if (!deps.publisher) throw new Error('the web front end needs its Redis connection (WebDeps.publisher)');
  const devices = new DeviceFailures(
    deps.publisher,
    deps.prefix,
    deps.lockout.maxFailures,
    deps.lockout.lockMs,
  );
  const minutes = Math.ceil(deps.lockout.lockMs / 60_000);
  const refused = {
    code: ERRORS.UNAUTHENTICATED.code,
    message: `wrong username or password; after several failed tries, wait ${minutes} minutes or use a device you have signed in on before`,
  };

  // Per-account lockout stops guessing one password; this stops spraying many accounts from one
  // address. The count is kept in Redis, so every web process shares it; the address is the peer's,
  // or behind a configured proxy the one that proxy saw (app.ts).
  const perAddress = { max: deps.signInsPerMinutePerAddress, timeWindow: '1 minute' };
  app.post('/api/login', { config: { access: 'public', rateLimit: perAddress } }, async (req, reply) => {
    const { username, password } = parseInput(credentials, req.body);
    const now = deps.now();
    const user = await userByUsername(deps.db, username);
    const usable = user && !user.disabled ? user : undefined;
    const right = await verifyPassword(password, usable?.passwordHash ?? DUMMY_HASH);
    const device = usable ? knownDevice(req.cookies[DEVICE_COOKIE], usable, now) : undefined;
    // The lock as it stands now, not as it stood before the hash: hashes wait their turn, so a burst
    // of guesses sent together would otherwise each be judged by the state before the burst, and the
    // right one among them sign in however many wrong ones had locked the account meanwhile.
    // Read again whatever the password, and whatever the account: a read only for the right password
    // (or only for an account that exists and is enabled) would tell it by its timing.
    const again = await userByUsername(deps.db, username);
    const lockedUntil = usable ? again?.lockedUntil : undefined;
    const locked = Boolean(lockedUntil && lockedUntil > now);

    if (usable && right && (!locked || (device && (await devices.trusted(device))))) {
      const session = await createSessionIfUnchanged(
        deps.db,
        usable.id,
        usable.passwordHash,
        deps.sessionTtlMs,
        now,
      );
      // The password changed or the account disabled while its hash was checked: that change ended
      // every session of the account, this one included.
      if (!session) return reply.code(401).send(refused);
      await clearFailedSignIns(deps.db, usable.id);
      // A hash made before argon2id or with other parameters (password.ts) is made again now, while
      // the password is at hand. It may wait: a hash refused (the queue full, the hasher lost) leaves
      // the old one, which still verifies, for the next sign-in.
      if (needsRehash(usable.passwordHash))
        await hashPassword(password).then(
          (hash) => rehashPassword(deps.db, usable.id, usable.passwordHash, hash),
          () => undefined,
        );
      await appendAudit(deps.db, {
        actor: `user:${usable.id}`,
        action: 'auth.signed-in',
        after: { username, ...(locked ? { passedLockFromKnownDevice: true } : {}) },
      });
      const cookie = sessionCookieOptions(req, deps.secureCookies);
      reply.setCookie(SESSION_COOKIE, session.token, { ...cookie, expires: session.expiresAt });
      reply.setCookie(DEVICE_COOKIE, rememberDevice(req.cookies[DEVICE_COOKIE], usable, now), {
        ...cookie,
        path: '/api/login',
        maxAge: DEVICE_LIFETIME_DAYS * 86_400,
      });
      return { ok: true, home: homeOf(usable.roles) };
    }

    const counted = await recordFailedSignIn(
      deps.db,
      username,
      deps.lockout.maxFailures,
      deps.lockout.lockMs,
      now,
    );
    if (device && !right) await devices.failed(device);
    await appendAudit(
      deps.db,
      user
        ? {
            actor: `user:${user.id}`,
            action: locked ? 'auth.locked-out' : counted.locked ? 'auth.locked' : 'auth.failed',
            after: { username },
          }
        : // The name tried is not kept: it may be someone's password typed in the wrong box.
          { actor: 'anonymous', action: 'auth.failed' },
    );
    return reply.code(401).send(refused);
  });

  app.post('/api/logout', { config: { access: 'signed-in' } }, async (req, reply) => {
    // The browser's alarm pushes end with its sign-out (`pushEndpoint`: its subscription, if any): a
    // shared phone does not go on showing one person's alarms to whoever picks it up next.
    const { pushEndpoint } = parseInput(logoutInput, req.body ?? {});
    if (pushEndpoint) await forgetBrowserPush(deps.db, userOf(req).id, pushEndpoint);
    const token = req.cookies[SESSION_COOKIE];
    if (token) {
      const tokenHash = await deleteSession(deps.db, token);
      await publishSessionsEnded(deps.publisher, deps.prefix, { tokenHash });
    }
    await appendAudit(deps.db, { actor: `user:${userOf(req).id}`, action: 'auth.signed-out' });
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });

  app.get('/api/me', { config: { access: 'signed-in' } }, async (req) => {
    const user = userOf(req);
    return {
      user: {
        id: user.id,
        displayName: user.displayName,
        roles: user.roles,
        positions: user.positions,
        trustWide: isTrustWide(user),
      },
      csrfToken: req.csrfToken,
      /**
       * A visit of theirs holds this session: they are out on it, or back safe less than an hour
       * ("I need help" stays open that long). Signing out then takes "I need help" off this phone,
       * so the page asks first.
       */
      onVisit: req.session?.heldWhileOut === true,
      home: homeOf(user.roles),
      schools: deps.config.schools
        .filter((s) => userMaySeeSchool(user, s.id))
        // `push`: the school has a Web Push channel (the board offers "Alarms on this device" only then).
        .map((s) => ({ id: s.id, name: s.name, push: Boolean(s.channels.push) })),
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
