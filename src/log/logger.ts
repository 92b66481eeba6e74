import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { redactDeep } from './redact.ts';

export type { Logger } from 'pino';

export interface LoggerSettings {
  level?: string;
  /** Extra bindings on every line, e.g. `{ role: 'worker' }`. Must not carry personal data. */
  base?: Record<string, unknown>;
}

/**
 * Pino runs `formatters.log` before its serializers, so Fastify's `req`/`res` (whose serializers
 * keep only method, url, host, remote address and status code) are left to those serializers;
 * everything else is redacted here.
 */
function redactLogObject(object: Record<string, unknown>): Record<string, unknown> {
  const { req, res, ...rest } = object;
  const out = redactDeep(rest) as Record<string, unknown>;
  if (req !== undefined) out.req = withoutQuery(req);
  if (res !== undefined) out.res = res;
  return out;
}

/** A fob webhook's address with its token (`/hooks/fob/<school>/<profile>/<token>`): the token is a secret. */
const TOKEN_IN_PATH = /(\/hooks\/fob\/[^/?]+\/[^/?]+\/)[^/?]+/;

/**
 * A pupil's id in an address (`/pupils/<id>`, `/api/pupils/<id>/…`): the MIS id, which for a CTF
 * school is the UPN — a national identifier, and a safeguarding action's log line tied to a child.
 */
const PUPIL_IN_PATH = /(\/pupils\/)[^/?]+/;

/**
 * A request as logged: method and path only. Query strings can carry personal data (a pupil
 * search) and are never logged, nor the token a webhook's address carries, nor a pupil's id in the
 * path; the request object itself is left untouched for routing.
 */
function withoutQuery(req: unknown): unknown {
  if (!req || typeof req !== 'object') return req;
  const r = req as { method?: string; url?: string; ip?: string; socket?: { remoteAddress?: string } };
  if (typeof r.url !== 'string') return req;
  const tokened = TOKEN_IN_PATH.test(r.url);
  const pupil = PUPIL_IN_PATH.test(r.url);
  if (!r.url.includes('?') && !tokened && !pupil) return req;
  const path = (r.url.includes('?') ? `${r.url.slice(0, r.url.indexOf('?'))}?[query redacted]` : r.url)
    .replace(TOKEN_IN_PATH, '$1[token redacted]')
    .replace(PUPIL_IN_PATH, '$1[pupil id redacted]');
  return { method: r.method, url: path, remoteAddress: r.ip ?? r.socket?.remoteAddress };
}

/**
 * The one pino logger factory. JSON lines on stdout (or the given stream). Every object logged,
 * including child-logger bindings and errors, is passed through `redactDeep` first.
 */
export function createLogger(settings: LoggerSettings = {}, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: 'doorstep', pid: process.pid, ...settings.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'msg',
    errorKey: 'err',
    formatters: {
      level: (label) => ({ level: label }),
      bindings: (bindings) => redactDeep(bindings) as Record<string, unknown>,
      log: redactLogObject,
    },
  };
  const logger = destination ? pino(options, destination) : pino(options);
  // Pino applies `formatters.bindings` to the root only and resets it for children, so child
  // bindings are redacted here; children inherit this method through their prototype.
  const child = logger.child;
  logger.child = function redactedChild(this: Logger, bindings, childOptions) {
    return child.call(this, redactDeep(bindings) as typeof bindings, childOptions);
  } as typeof logger.child;
  return logger;
}
