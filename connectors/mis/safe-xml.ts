import type { Readable } from 'node:stream';
import { SaxesParser } from 'saxes';
import { decodeText } from './decode.ts';
import { malformed } from './errors.ts';

/**
 * The one way Doorstep parses XML: saxes, streamed, with a DOCTYPE refused outright (so no external
 * entity is ever resolved and no entity-expansion bomb can be declared), an undeclared entity a parse
 * error, and the first problem — the parser's or the caller's — reported with file and line.
 */
export class SafeXml {
  readonly parser = new SaxesParser({ position: true });
  readonly unit: string;
  private failure: Error | undefined;

  constructor(unit: string) {
    this.unit = unit;
    this.parser.on('doctype', () =>
      this.fail(
        malformed(
          { unit, line: this.parser.line },
          undefined,
          'a DOCTYPE is not allowed (external entities are never resolved)',
        ),
      ),
    );
    this.parser.on('error', (err) =>
      this.fail(
        malformed(
          { unit, line: this.parser.line },
          undefined,
          `not well-formed XML: ${err.message.replace(/^(?:[^:]*:)?\d+:\d+: /, '')}`,
        ),
      ),
    );
  }

  /** Records the first failure; event handlers call this instead of throwing inside saxes. */
  fail(err: Error): void {
    this.failure ??= err;
  }

  get line(): number {
    return this.parser.line;
  }

  /**
   * Decodes and parses the input chunk by chunk, yielding after each chunk so the caller can hand
   * on what the handlers collected. Throws the first failure; an empty file is an error.
   */
  async *feed(input: Readable, onBytes?: (n: number) => void): AsyncGenerator<void> {
    let content = false;
    for await (const chunk of decodeText(input, this.unit, onBytes ? { onBytes } : {})) {
      content ||= /\S/.test(chunk);
      if (!content) continue;
      this.parser.write(chunk);
      if (this.failure) throw this.failure;
      yield;
    }
    if (!content)
      throw malformed({ unit: this.unit }, undefined, 'the file is empty: expected an XML document');
    this.parser.close();
    if (this.failure) throw this.failure;
  }
}
