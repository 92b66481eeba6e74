import fastifyCookie from '@fastify/cookie';
import fastifyRateLimit from '@fastify/rate-limit';
import type { Queue } from 'bullmq';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../log/logger.ts';
import { type Check, runChecks } from '../runtime/checks.ts';
import { type Access, registerAccess } from './access.ts';
import { type AdminCredential, registerAdminQueues } from './admin-queues.ts';
import { type BoardEventsOptions, registerBoardEvents } from './board-events.ts';
import { type FobWebhookOptions, registerFobWebhooks } from './fob-webhook.ts';
import { registerAuditApi } from './web/audit-api.ts';
import { registerBoardApi } from './web/board-api.ts';
import { registerDataApi } from './web/data-api.ts';
import type { WebDeps } from './web/deps.ts';
import { registerPages } from './web/pages.ts';
import { registerSessionRoutes } from './web/session-routes.ts';
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
  /** The board's live event stream. */
  boardEvents?: BoardEventsOptions | undefined;
  /** The web front end (sign-in, board, visit register, data manager and audit pages). */
  web?: WebDeps | undefined;
  trustProxy?: boolean | undefined;
}

/** The Fastify app: health, readiness, metrics and (when configured) the queue admin UI. */
export async function buildHttpApp(options: HttpAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.log as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    trustProxy: options.trustProxy ?? false,
  });
  const routes: RouteSummary[] = [];
  app.decorate('doorstepRoutes', routes);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat())
      if (method !== 'HEAD') routes.push({ method, url: r.url, access: r.config?.access });
  });
  if (options.web) {
    await app.register(fastifyCookie);
    // Only routes that ask for it (sign-in) are limited; see session-routes.ts.
    await app.register(fastifyRateLimit, { global: false });
    registerAccess(app, options.web.db, options.web.now);
  }

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    void reply.code(status).send({
      code: err.code ?? 'DOORSTEP_INTERNAL',
      message: status >= 500 ? 'internal error' : err.message,
    });
  });

  /** Liveness: the process is up and its event loop turns. No dependency is touched. */
  app.get('/healthz', async () => ({ status: 'ok' }));

  /** Readiness: Redis and the store answer. 503 names what is down. */
  app.get('/readyz', async (_req, reply) => {
    const results = await runChecks(options.readiness);
    const down = results.filter((r) => !r.ok);
    return reply.code(down.length ? 503 : 200).send({
      status: down.length ? 'unavailable' : 'ready',
      down: down.map((r) => r.name),
      checks: results,
    });
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await options.metrics.metrics();
    return reply.type(options.metrics.contentType).send(body);
  });

  if (options.admin) await registerAdminQueues(app, options.queues, options.admin);
  if (options.fobWebhooks) await registerFobWebhooks(app, options.fobWebhooks);
  if (options.boardEvents)
    await registerBoardEvents(app, {
      ...options.boardEvents,
      ...(options.web ? { access: ['office', 'safeguarding'] as const } : {}),
    });
  if (options.web) {
    registerSessionRoutes(app, options.web);
    registerBoardApi(app, options.web);
    registerVisitsApi(app, options.web);
    registerDataApi(app, options.web);
    registerAuditApi(app, options.web);
    registerUsersApi(app, options.web);
    await registerPages(app, options.web);
  }
  return app;
}
