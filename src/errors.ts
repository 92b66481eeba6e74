/**
 * Every error Doorstep raises on purpose has a stable code, a message meant for a person, an HTTP
 * status (when it surfaces through the API) and a process exit code (when it ends a CLI command).
 * Modelled on Fastify's lib/errors.js.
 */
export interface ErrorSpec {
  readonly code: string;
  readonly statusCode: number;
  readonly exitCode: number;
}

export const ERRORS = {
  CONFIG_INVALID: { code: 'DOORSTEP_CONFIG_INVALID', statusCode: 500, exitCode: 2 },
  USAGE: { code: 'DOORSTEP_USAGE', statusCode: 400, exitCode: 64 },
  CONFIG_UNREADABLE: { code: 'DOORSTEP_CONFIG_UNREADABLE', statusCode: 500, exitCode: 2 },
  SERVICE_UNAVAILABLE: { code: 'DOORSTEP_SERVICE_UNAVAILABLE', statusCode: 503, exitCode: 3 },
  MIGRATION_FAILED: { code: 'DOORSTEP_MIGRATION_FAILED', statusCode: 500, exitCode: 4 },
  MIGRATION_CHANGED: { code: 'DOORSTEP_MIGRATION_CHANGED', statusCode: 500, exitCode: 4 },
  JOB_PAYLOAD_INVALID: { code: 'DOORSTEP_JOB_PAYLOAD_INVALID', statusCode: 400, exitCode: 1 },
  JOB_UNKNOWN: { code: 'DOORSTEP_JOB_UNKNOWN', statusCode: 400, exitCode: 1 },
  JOB_TIMEOUT: { code: 'DOORSTEP_JOB_TIMEOUT', statusCode: 504, exitCode: 1 },
  IMPORT_MALFORMED: { code: 'DOORSTEP_IMPORT_MALFORMED', statusCode: 422, exitCode: 5 },
  IMPORT_REFUSED: { code: 'DOORSTEP_IMPORT_REFUSED', statusCode: 422, exitCode: 5 },
  MIS_AUTH: { code: 'DOORSTEP_MIS_AUTH', statusCode: 502, exitCode: 3 },
  MIS_RATE_LIMITED: { code: 'DOORSTEP_MIS_RATE_LIMITED', statusCode: 503, exitCode: 3 },
  MIS_UNAVAILABLE: { code: 'DOORSTEP_MIS_UNAVAILABLE', statusCode: 502, exitCode: 3 },
  MIS_BAD_RESPONSE: { code: 'DOORSTEP_MIS_BAD_RESPONSE', statusCode: 502, exitCode: 3 },
  AUDIT_APPEND_ONLY: { code: 'DOORSTEP_AUDIT_APPEND_ONLY', statusCode: 409, exitCode: 1 },
  UNAUTHENTICATED: { code: 'DOORSTEP_UNAUTHENTICATED', statusCode: 401, exitCode: 1 },
  FORBIDDEN: { code: 'DOORSTEP_FORBIDDEN', statusCode: 403, exitCode: 1 },
  CSRF: { code: 'DOORSTEP_CSRF', statusCode: 403, exitCode: 1 },
  NOT_FOUND: { code: 'DOORSTEP_NOT_FOUND', statusCode: 404, exitCode: 1 },
  BAD_REQUEST: { code: 'DOORSTEP_BAD_REQUEST', statusCode: 400, exitCode: 64 },
  CONFLICT: { code: 'DOORSTEP_CONFLICT', statusCode: 409, exitCode: 1 },
  POLICY: { code: 'DOORSTEP_POLICY', statusCode: 422, exitCode: 1 },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorName = keyof typeof ERRORS;

export class DoorstepError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly exitCode: number;
  /** Machine-readable detail (never personal data: ids, paths, field names). */
  readonly details: readonly string[];

  constructor(
    spec: ErrorSpec,
    message: string,
    options: { details?: readonly string[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DoorstepError';
    this.code = spec.code;
    this.statusCode = spec.statusCode;
    this.exitCode = spec.exitCode;
    this.details = options.details ?? [];
  }
}

export function doorstepError(
  name: ErrorName,
  message: string,
  options?: { details?: readonly string[]; cause?: unknown },
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
