import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { redactDeep } from './redact.ts';

export type { Logger } from 'pino';

export interface LoggerSettings {
  level?: string;
  /** Extra bindings on every line, e.g. `{ role: 'worker' }`. Must not carry personal data. */
  base?: Record<string, unknown>;
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
      log: (object) => redactDeep(object) as Record<string, unknown>,
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
