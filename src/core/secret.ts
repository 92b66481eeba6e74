import { createHash, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

/**
 * A resolved secret. It prints as `[secret]` everywhere (String(), JSON, util.inspect, pino), so a
 * config object can be logged or dumped without leaking credentials; `reveal()` is the one way in.
 */
export class Secret {
  readonly #value: string;
  /** Where it came from, e.g. `env:CPOMS_TOKEN` or `file:/run/secrets/cpoms` — safe to print. */
  readonly source: string;

  constructor(value: string, source: string) {
    this.#value = value;
    this.source = source;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[secret]';
  }

  toJSON(): string {
    return '[secret]';
  }

  [inspect.custom](): string {
    return `[secret from ${this.source}]`;
  }
}

/**
 * A secret given against the one expected (a webhook address's token, a metrics bearer), in constant
 * time: compared as SHA-256 digests, so neither the length nor the first differing byte shows.
 */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
