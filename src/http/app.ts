import fastifyCookie from '@fastify/cookie';
import fastifyRateLimit from '@fastify/rate-limit';
import type { Queue } from 'bullmq';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { isTrustWide } from '../auth/scope.ts';
import { type Check, runChecks } from '../core/checks.ts';
import { type Secret, sameSecret } from '../core/secret.ts';
import { doorstepError, ERRORS, isDoorstepError, type Problem } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { isValueRefused, retryableConflict, sqlState } from '../store/sql-errors.ts';
import { type Access, cookieSession, isLocalProbe, registerAccess } from './access.ts';
import { type AdminCredential, registerAdminQueues } from './admin-queues.ts';
import { type BoardEventsOptions, registerBoardEvents } from './board-events.ts';
import { sendErrorPage, wantsHtml } from './error-pages.ts';
import { type FobWebhookOptions, registerFobWebhooks } from './fob-webhook.ts';
import { registerSmsWebhook, type SmsWebhookOptions } from './sms-webhook.ts';
import { registerVoiceWebhook } from './voice-webhook.ts';
import { registerAgreementsApi } from './web/agreements-api.ts';
import { registerAuditApi } from './web/audit-api.ts';
import { registerBoardApi } from './web/board-api.ts';
import { registerChronology } from './web/chronology.ts';
import { registerDataActions } from './web/data-actions.ts';
import { registerDataApi } from './web/data-api.ts';
import type { WebDeps } from './web/deps.ts';
import { registerLetterPage } from './web/letter-page.ts';
import { registerOutboxActions } from './web/outbox-actions.ts';
import { loadAssets, registerPages, type WebFiles } from './web/pages.ts';
import { registerPupilPage } from './web/pupil-page.ts';
import { registerPupilsApi } from './web/pupils-api.ts';
import { registerPushApi } from './web/push-api.ts';
import { registerRegisterApi } from './web/register-api.ts';
import { registerSessionRoutes } from './web/session-routes.ts';
import { registerSetupPage } from './web/setup-page.ts';
import { registerUsersApi } from './web/users-api.ts';
import { registerVisitsApi } from './web/visits-api.ts';

/** A served route and who may call it (the route-table test walks these). */
export interface RouteSummary {
  method: string;
  url: string;
  access: Access | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    doorstepRoutes: RouteSummary[];
  }
}

export interface HttpAppOptions {
  log: Logger;
  /** What /readyz tests: Redis and the store. */
  readiness: readonly Check[];
  metrics: Registry;
  queues: readonly Queue[];
  admin?: AdminCredential | undefined;
  /** Lone-worker device webhooks (the ingest path over HTTP). */
  fobWebhooks?: FobWebhookOptions | undefined;
  /** Replies to alarm SMS (take the alarm, the worker is safe). */
  smsWebhook?: SmsWebhookOptions | undefined;
  /** The board's live event stream. */
  boardEvents?: BoardEventsOptions | undefined;
  /** The web front end (sign-in, board, visit register, data manager and audit pages). */
  web?: WebDeps | undefined;
  /**
   * Behind a reverse proxy (TLS termination): trust the one hop in front, so the client address is
   * the one that proxy saw (the last X-Forwarded-For entry, which a client cannot forge) and the
   * scheme is its X-Forwarded-Proto. Without it, forwarded headers are ignored.
   */
  trustProxy?: boolean | undefined;
  /**
   * What a scraper not on this machine sends to read `/metrics` (`Authorization: Bearer <token>`);
   * without it only a local probe may. The figures say when an alarm is escalating and when a
   * school's lone-worker feed is down.
   */
  metricsToken?: Secret | undefined;
}

/** Trusts the peer (the proxy) and nothing it forwards: the address it saw is the client. */
const trustOneHop = (_address: string, hop: number) => hop === 0;

/** Codes for the HTTP-level refusals Fastify and its plugins raise (ours carry their own). */
const HTTP_CODES: Record<number, string> = {
  400: ERRORS.BAD_REQUEST.code,
  401: ERRORS.UNAUTHENTICATED.code,
  403: ERRORS.FORBIDDEN.code,
  404: ERRORS.NOT_FOUND.code,
  405: ERRORS.BAD_REQUEST.code,
  406: ERRORS.BAD_REQUEST.code,
  409: ERRORS.CONFLICT.code,
  413: ERRORS.TOO_LARGE.code,
  415: ERRORS.BAD_REQUEST.code,
  429: ERRORS.RATE_LIMITED.code,
};

type HttpError = Error & { statusCode?: number; code?: string; validation?: unknown };

/**
 * What a failed request answers: our errors with their catalog code and message; Fastify's 4xx
 * (validation, body parsing, limits) with their status and message; a value PostgreSQL refused as a
 * 400 or a conflict with stored data as a 409, never with the database's code or message; anything
 * else a 500 "internal error", logged by its code and stack only (no request data).
 */
function errorAnswer(err: HttpError): {
  status: number;
  code: string;
  message: string;
  problems?: readonly Problem[];
} {
  if (isDoorstepError(err) && (err.statusCode < 500 || err.forPeople))
    return {
      status: err.statusCode,
      code: err.code,
      message: err.message,
      // What to change, each by its rule and the request's field, for a client to point at.
      ...(err.statusCode < 500 && err.problems.length ? { problems: err.problems } : {}),
    };
  const state = sqlState(err);
  if (isValueRefused(err))
    return { status: 400, code: ERRORS.BAD_REQUEST.code, message: 'a value in the request is not valid' };
  if (state?.startsWith('23'))
    return { status: 409, code: ERRORS.CONFLICT.code, message: 'the request conflicts with what is stored' };
  const status = err.statusCode ?? 500;
  if (!isDoorstepError(err) && !state && status >= 400 && status < 500)
    return { status, code: HTTP_CODES[status] ?? ERRORS.BAD_REQUEST.code, message: err.message };
  return {
    status: status >= 500 && status < 600 ? status : 500,
    code: isDoorstepError(err) ? err.code : ERRORS.INTERNAL.code,
    message: 'internal error',
  };
}

/** The Fastify app: health, readiness, metrics and (when configured) the queue admin UI. */
export async function buildHttpApp(options: HttpAppOptions): Promise<FastifyInstance> {
  // The web role without its files refuses to start, before anything listens (and lets go of the
  // board stream's connection, so the process can exit).
  let files: WebFiles | undefined;
  try {
    files = options.web ? loadAssets() : undefined;
  } catch (err) {
    options.boardEvents?.subscriber.disconnect();
    throw err;
  }
  const app = Fastify({
    loggerInstance: options.log as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    // A request not fully received within a minute is answered 408 and its connection closed: a sender
    // trickling a body (a webhook's, verified as it streams in) cannot hold a connection for ever
    // (Fastify's default is no limit at all).
    requestTimeout: 60_000,
    return503OnClosing: true,
    trustProxy: options.trustProxy ? trustOneHop : false,
  });
  const routes: RouteSummary[] = [];
  app.decorate('doorstepRoutes', routes);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat())
      if (method !== 'HEAD') routes.push({ method, url: r.url, access: r.config?.access });
  });
  // No route takes a query parameter more than once: `?q=a&q=b` arrives as an array where every
  // handler reads a string, so it is refused here as a 400 naming the parameter, not a 500 later.
  app.addHook('preValidation', async (req) => {
    for (const [name, value] of Object.entries((req.query ?? {}) as Record<string, unknown>))
      if (Array.isArray(value))
        throw doorstepError('BAD_REQUEST', `${name.slice(0, 64)}: expected one value, got ${value.length}`);
  });
  // Nothing Doorstep answers is for a shared or back-button cache — a day's visit list, a letter to a
  // family, an alarm — unless its route says otherwise (the static assets: `no-cache` with an etag).
  app.addHook('onSend', async (_req, reply, payload) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
  const web = options.web;
  if (web) {
    await app.register(fastifyCookie);
    // Only routes that ask for it (sign-in) are limited; see session-routes.ts. Counted in Redis, so
    // every web process shares one count per address; if Redis fails, the per-account lock still holds.
    await app.register(fastifyRateLimit, {
      global: false,
      redis: web.publisher,
      nameSpace: `${web.prefix}:rate-limit:`,
      skipOnError: true,
      errorResponseBuilder: (_req, context) =>
        Object.assign(
          new Error(`too many sign-in attempts from this address; try again in ${context.after}`),
          {
            statusCode: context.statusCode,
          },
        ),
    });
    registerAccess(app, web.db, web.now, { ttlMs: web.sessionTtlMs, secureCookies: web.secureCookies });
  }

  app.setErrorHandler((raised: HttpError, req, reply) => {
    // Two requests that met on the same rows (a deadlock, a serialization failure): the catalog's
    // "try again in a second", as any passing failure is answered — never a 500.
    const err: HttpError = retryableConflict(raised) ?? raised;
    const answer = errorAnswer(err);
    // A service that passes (a burst of sign-ins past the hashing queue, say): the person is told when
    // to come back, and it is logged as a warning, not a failure.
    if (isDoorstepError(err) && err.retryAfterSeconds !== undefined)
      void reply.header('retry-after', String(err.retryAfterSeconds));
    if (isDoorstepError(err) && err.forPeople)
      req.log.warn({ code: answer.code }, `request refused: ${err.message}`);
    else if (answer.status >= 500)
      req.log.error({ err: { type: err.name, code: err.code, stack: err.stack } }, 'request failed');
    // A person in a browser gets a page with a way back; the message of a 4xx is already plain words.
    if (wantsHtml(req))
      return void sendErrorPage(reply, answer.status, answer.status < 500 ? answer.message : undefined);
    void reply.code(answer.status).send({
      code: answer.code,
      message: answer.message,
      ...(answer.problems ? { problems: answer.problems } : {}),
    });
  });
  app.setNotFoundHandler((req, reply) => {
    if (wantsHtml(req)) return sendErrorPage(reply, 404);
    return reply.code(404).send({ code: ERRORS.NOT_FOUND.code, message: 'no such page or API route' });
  });

  /** Liveness: the process is up and its event loop turns. No dependency is touched. */
  app.get('/healthz', async () => ({ status: 'ok' }));

  /**
   * Readiness: Redis and the store answer (200, else 503). Which check failed and why (hosts,
   * database, schema), and which warned (`warnings`: e.g. workers out at a school the config no
   * longer holds), is told only to a local probe (loopback, not through a proxy, and no proxy
   * declared: `isLocalProbe`) and to a signed-in trust-wide admin; anyone else learns up or down.
   */
  app.get('/readyz', async (req, reply) => {
    const results = await runChecks(options.readiness);
    const down = results.filter((r) => !r.ok);
    const status = down.length ? 'unavailable' : 'ready';
    const trustAdmin = async () => {
      const user = web
        ? (await cookieSession(web.db, req, web.now()).catch(() => undefined))?.user
        : undefined;
      return user ? user.roles.includes('admin') && isTrustWide(user) : false;
    };
    const detailed = isLocalProbe(req, options.trustProxy === true) || (await trustAdmin());
    return reply
      .code(down.length ? 503 : 200)
      .header('cache-control', 'no-store')
      .send(
        detailed
          ? {
              status,
              down: down.map((r) => r.name),
              warnings: results.filter((r) => r.ok && r.warning).map((r) => r.name),
              checks: results,
            }
          : { status },
      );
  });

  app.get('/metrics', async (req, reply) => {
    const given = req.headers.authorization;
    const token = options.metricsToken?.reveal();
    const allowed =
      isLocalProbe(req, options.trustProxy === true) ||
      (token !== undefined && typeof given === 'string' && sameSecret(given, `Bearer ${token}`));
    if (!allowed)
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="doorstep metrics"')
        .send({ code: ERRORS.UNAUTHORISED.code, message: 'metrics: a local probe, or the metrics token' });
    const body = await options.metrics.metrics();
    return reply.type(options.metrics.contentType).send(body);
  });

  if (options.admin) await registerAdminQueues(app, options.queues, options.admin);
  if (options.fobWebhooks) await registerFobWebhooks(app, options.fobWebhooks);
  if (options.smsWebhook) {
    await registerSmsWebhook(app, options.smsWebhook);
    await registerVoiceWebhook(app, options.smsWebhook);
  }
  if (options.boardEvents)
    await registerBoardEvents(app, {
      ...options.boardEvents,
      ...(web ? { access: ['office', 'safeguarding'] as const, now: web.now } : {}),
    });
  if (options.web) {
    registerSessionRoutes(app, options.web);
    registerSetupPage(app, options.web);
    registerBoardApi(app, options.web);
    registerVisitsApi(app, options.web);
    registerRegisterApi(app, options.web);
    registerPupilsApi(app, options.web);
    registerLetterPage(app, options.web);
    registerAgreementsApi(app, options.web);
    registerChronology(app, options.web);
    registerPupilPage(app, options.web);
    registerDataApi(app, options.web);
    registerDataActions(app, options.web);
    registerOutboxActions(app, options.web);
    registerAuditApi(app, options.web);
    registerUsersApi(app, options.web);
    registerPushApi(app, options.web);
    registerPages(app, options.web, files!);
  }
  return app;
}
