import type { Readable } from 'node:stream';
import { SaxesParser } from 'saxes';
import { decodeText } from './decode.ts';
import { malformed } from './errors.ts';
import { MAX_VALUE_READ } from './field-limits.ts';
import type { Where } from './types.ts';

/** saxes's private buffers (saxes 6), read to bound what it holds; see `checkBuffers`. */
interface SaxesBuffers {
  text: string;
  name: string;
  piTarget: string;
  entity: string;
  tags: unknown[];
  attribList: unknown[];
}

const MAX_DEPTH = 64;
const MAX_ATTRIBUTES = 256;

function tooLong(where: Where, field: string | undefined): Error {
  return malformed(
    where,
    field,
    `a value longer than ${MAX_VALUE_READ} characters, far over any field's limit: the file is refused without reading the rest`,
  );
}

/**
 * The one way Doorstep parses XML: saxes, streamed, with a DOCTYPE refused outright (so no external
 * entity is ever resolved and no entity-expansion bomb can be declared), an undeclared entity a parse
 * error, and the first problem — the parser's or the caller's — reported with file and line.
 */
export class SafeXml {
  readonly parser = new SaxesParser({ position: true });
  readonly unit: string;
  private failure: Error | undefined;
  private readonly field: () => string | undefined;

  /** `field` names the field being read, for an error about an over-long value. */
  constructor(unit: string, options: { field?: () => string | undefined } = {}) {
    this.unit = unit;
    this.field = options.field ?? (() => undefined);
    const buffers = this.parser as unknown as Record<keyof SaxesBuffers, unknown>;
    if (![buffers.text, buffers.name, buffers.piTarget, buffers.entity].every((b) => typeof b === 'string'))
      throw new Error('saxes no longer keeps its buffers where SafeXml bounds them: review safe-xml.ts');
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
   * Appends a text event to a value being collected, refusing the file once the value passes
   * `MAX_VALUE_READ` (the caller stops collecting: `undefined` is returned).
   */
  append(value: string, text: string, field: string | undefined): string | undefined {
    if (value.length + text.length <= MAX_VALUE_READ) return value + text;
    this.fail(tooLong({ unit: this.unit, line: this.parser.line }, field));
    return undefined;
  }

  /**
   * saxes holds a whole text node, attribute value, name or comment until it ends, and every open
   * element; checked after each chunk, so an absurd one refuses the file after at most one chunk
   * more than the limit instead of being read whole into memory.
   */
  private checkBuffers(): void {
    const p = this.parser as unknown as SaxesBuffers;
    const where = { unit: this.unit, line: this.parser.line };
    if (Math.max(p.text.length, p.name.length, p.piTarget.length, p.entity.length) > MAX_VALUE_READ)
      this.fail(tooLong(where, this.field()));
    else if (p.tags.length > MAX_DEPTH)
      this.fail(malformed(where, undefined, `elements nested more than ${MAX_DEPTH} deep`));
    else if (p.attribList.length > MAX_ATTRIBUTES)
      this.fail(malformed(where, undefined, `an element with more than ${MAX_ATTRIBUTES} attributes`));
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
      this.checkBuffers();
      if (this.failure) throw this.failure;
      yield;
    }
    if (!content)
      throw malformed({ unit: this.unit }, undefined, 'the file is empty: expected an XML document');
    this.parser.close();
    if (this.failure) throw this.failure;
  }
}
