/**
 * Every error Doorstep raises or answers with on purpose has a stable code, a message meant for a
 * person, an HTTP status (when it surfaces through the API), a process exit code (when it ends a CLI
 * command) and a retry class (what a job does when it fails with it). Modelled on Fastify's
 * lib/errors.js. The README's error table lists the same codes (a test ties the two).
 */
export interface ErrorSpec {
  readonly code: string;
  readonly statusCode: number;
  readonly exitCode: number;
  /**
   * `transient`: may succeed later (a service down, a rate limit, a timeout) — a job retries it;
   * `permanent`: the same request will fail the same way — never retried;
   * `config`: a person must change the configuration or credentials — never retried.
   */
  readonly retry: RetryClass;
}

export type RetryClass = 'transient' | 'permanent' | 'config';

export const ERRORS = {
  CONFIG_INVALID: { code: 'DOORSTEP_CONFIG_INVALID', statusCode: 500, exitCode: 2, retry: 'config' },
  CONFIG_UNREADABLE: { code: 'DOORSTEP_CONFIG_UNREADABLE', statusCode: 500, exitCode: 2, retry: 'config' },
  SCHOOL_UNKNOWN: { code: 'DOORSTEP_SCHOOL_UNKNOWN', statusCode: 404, exitCode: 64, retry: 'config' },
  USAGE: { code: 'DOORSTEP_USAGE', statusCode: 400, exitCode: 64, retry: 'permanent' },
  SERVICE_UNAVAILABLE: {
    code: 'DOORSTEP_SERVICE_UNAVAILABLE',
    statusCode: 503,
    exitCode: 3,
    retry: 'transient',
  },
  MIGRATION_FAILED: { code: 'DOORSTEP_MIGRATION_FAILED', statusCode: 500, exitCode: 4, retry: 'permanent' },
  MIGRATION_CHANGED: { code: 'DOORSTEP_MIGRATION_CHANGED', statusCode: 500, exitCode: 4, retry: 'config' },
  JOB_PAYLOAD_INVALID: {
    code: 'DOORSTEP_JOB_PAYLOAD_INVALID',
    statusCode: 400,
    exitCode: 1,
    retry: 'permanent',
  },
  JOB_UNKNOWN: { code: 'DOORSTEP_JOB_UNKNOWN', statusCode: 400, exitCode: 1, retry: 'permanent' },
  JOB_TIMEOUT: { code: 'DOORSTEP_JOB_TIMEOUT', statusCode: 504, exitCode: 1, retry: 'transient' },
  IMPORT_MALFORMED: { code: 'DOORSTEP_IMPORT_MALFORMED', statusCode: 422, exitCode: 5, retry: 'permanent' },
  IMPORT_REFUSED: { code: 'DOORSTEP_IMPORT_REFUSED', statusCode: 422, exitCode: 5, retry: 'permanent' },
  MIS_AUTH: { code: 'DOORSTEP_MIS_AUTH', statusCode: 502, exitCode: 3, retry: 'config' },
  MIS_RATE_LIMITED: { code: 'DOORSTEP_MIS_RATE_LIMITED', statusCode: 503, exitCode: 3, retry: 'transient' },
  MIS_UNAVAILABLE: { code: 'DOORSTEP_MIS_UNAVAILABLE', statusCode: 502, exitCode: 3, retry: 'transient' },
  MIS_BAD_RESPONSE: { code: 'DOORSTEP_MIS_BAD_RESPONSE', statusCode: 502, exitCode: 3, retry: 'permanent' },
  CHANNEL_AUTH: { code: 'DOORSTEP_CHANNEL_AUTH', statusCode: 502, exitCode: 3, retry: 'config' },
  CHANNEL_REFUSED: { code: 'DOORSTEP_CHANNEL_REFUSED', statusCode: 502, exitCode: 3, retry: 'permanent' },
  CHANNEL_UNAVAILABLE: {
    code: 'DOORSTEP_CHANNEL_UNAVAILABLE',
    statusCode: 502,
    exitCode: 3,
    retry: 'transient',
  },
  RECORD_AUTH: { code: 'DOORSTEP_RECORD_AUTH', statusCode: 502, exitCode: 3, retry: 'config' },
  RECORD_REFUSED: { code: 'DOORSTEP_RECORD_REFUSED', statusCode: 502, exitCode: 3, retry: 'permanent' },
  RECORD_UNAVAILABLE: {
    code: 'DOORSTEP_RECORD_UNAVAILABLE',
    statusCode: 502,
    exitCode: 3,
    retry: 'transient',
  },
  DEAD_MAN_REFUSED: { code: 'DOORSTEP_DEAD_MAN_REFUSED', statusCode: 502, exitCode: 3, retry: 'config' },
  DEAD_MAN_UNAVAILABLE: {
    code: 'DOORSTEP_DEAD_MAN_UNAVAILABLE',
    statusCode: 502,
    exitCode: 3,
    retry: 'transient',
  },
  AUDIT_APPEND_ONLY: { code: 'DOORSTEP_AUDIT_APPEND_ONLY', statusCode: 409, exitCode: 1, retry: 'permanent' },
  UNAUTHENTICATED: { code: 'DOORSTEP_UNAUTHENTICATED', statusCode: 401, exitCode: 1, retry: 'permanent' },
  UNAUTHORISED: { code: 'DOORSTEP_UNAUTHORISED', statusCode: 401, exitCode: 1, retry: 'permanent' },
  FORBIDDEN: { code: 'DOORSTEP_FORBIDDEN', statusCode: 403, exitCode: 1, retry: 'permanent' },
  CSRF: { code: 'DOORSTEP_CSRF', statusCode: 403, exitCode: 1, retry: 'permanent' },
  NOT_FOUND: { code: 'DOORSTEP_NOT_FOUND', statusCode: 404, exitCode: 1, retry: 'permanent' },
  BAD_REQUEST: { code: 'DOORSTEP_BAD_REQUEST', statusCode: 400, exitCode: 64, retry: 'permanent' },
  CONFLICT: { code: 'DOORSTEP_CONFLICT', statusCode: 409, exitCode: 1, retry: 'permanent' },
  POLICY: { code: 'DOORSTEP_POLICY', statusCode: 422, exitCode: 1, retry: 'permanent' },
  TOO_LARGE: { code: 'DOORSTEP_TOO_LARGE', statusCode: 413, exitCode: 1, retry: 'permanent' },
  RATE_LIMITED: { code: 'DOORSTEP_RATE_LIMITED', statusCode: 429, exitCode: 1, retry: 'transient' },
  INTERNAL: { code: 'DOORSTEP_INTERNAL', statusCode: 500, exitCode: 1, retry: 'transient' },
  UNSUPPORTED_MEDIA_TYPE: {
    code: 'DOORSTEP_UNSUPPORTED_MEDIA_TYPE',
    statusCode: 415,
    exitCode: 1,
    retry: 'permanent',
  },
  PAYLOAD_TOO_LARGE: { code: 'DOORSTEP_PAYLOAD_TOO_LARGE', statusCode: 413, exitCode: 1, retry: 'permanent' },
  WEBHOOK_UNVERIFIED: {
    code: 'DOORSTEP_WEBHOOK_UNVERIFIED',
    statusCode: 401,
    exitCode: 1,
    retry: 'permanent',
  },
  FOB_EVENT_INVALID: { code: 'DOORSTEP_FOB_EVENT_INVALID', statusCode: 422, exitCode: 1, retry: 'permanent' },
  FOB_EVENT_UNTRUSTED: {
    code: 'DOORSTEP_FOB_EVENT_UNTRUSTED',
    statusCode: 422,
    exitCode: 1,
    retry: 'permanent',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorName = keyof typeof ERRORS;

/**
 * One thing a refused request must change, for a client to point at: the rule that refused it, the
 * request's field it is about (a dotted path, as a 400 names it: `vehicle.insuranceConfirmed`) where
 * there is one, and the words for a person. Never personal data.
 */
export interface Problem {
  readonly rule: string;
  readonly field?: string;
  readonly message: string;
}

export class DoorstepError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly exitCode: number;
  readonly retry: RetryClass;
  /** Machine-readable detail (never personal data: ids, paths, field names). */
  readonly details: readonly string[];
  /**
   * A 5xx whose message is written for the person who asked (a busy service saying when to come
   * back), answered as it is; other 5xx messages are replaced by "internal error".
   */
  readonly forPeople: boolean;
  /** Seconds to come back after (HTTP `Retry-After`), for an error that passes. */
  readonly retryAfterSeconds: number | undefined;
  /** What the request must change (a 4xx answers them in its body as `problems`); empty: not said. */
  readonly problems: readonly Problem[];

  constructor(
    spec: ErrorSpec,
    message: string,
    options: {
      details?: readonly string[];
      cause?: unknown;
      forPeople?: boolean;
      retryAfterSeconds?: number;
      problems?: readonly Problem[];
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DoorstepError';
    this.code = spec.code;
    this.statusCode = spec.statusCode;
    this.exitCode = spec.exitCode;
    this.retry = spec.retry;
    this.details = options.details ?? [];
    this.forPeople = options.forPeople ?? false;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.problems = options.problems ?? [];
  }
}

export function doorstepError(
  name: ErrorName,
  message: string,
  options?: ConstructorParameters<typeof DoorstepError>[2],
): DoorstepError {
  return new DoorstepError(ERRORS[name], message, options);
}

export function isDoorstepError(err: unknown, name?: ErrorName): err is DoorstepError {
  return err instanceof DoorstepError && (name === undefined || err.code === ERRORS[name].code);
}

/** One line describing any thrown value, for CLI output and logs (no stack). */
export function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describeError(err.errors[0]);
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/** The spec of a catalog code (`DOORSTEP_…`), or undefined for a code that is not ours. */
export function specOf(code: string): ErrorSpec | undefined {
  return Object.values(ERRORS).find((e) => e.code === code);
}

/**
 * How a job treats a thrown value: a catalog error by its class; anything else (a bug, a driver
 * error, a dropped connection) as transient, so nothing is given up on by mistake.
 */
export function retryClassOf(err: unknown): RetryClass {
  if (err instanceof DoorstepError) return err.retry;
  const code = (err as { code?: unknown } | null)?.code;
  return (typeof code === 'string' && specOf(code)?.retry) || 'transient';
}
