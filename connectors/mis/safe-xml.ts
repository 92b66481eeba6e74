import type { Readable } from 'node:stream';
import { decodeText } from './decode.ts';
import { malformed } from './errors.ts';
import { MAX_VALUE_READ } from './field-limits.ts';
import type { Where } from './types.ts';
import { type XmlEvents, XmlScanError, XmlScanner } from './xml-scanner.ts';

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
 * The one way Doorstep reads XML: `XmlScanner`, streamed, with a DOCTYPE refused outright (so no
 * external entity is ever resolved and no entity-expansion bomb can be declared), an undeclared
 * entity an error, a value, nesting or attribute list past its bound refused without reading on, and
 * the first problem — the scanner's or the caller's — reported with file and line.
 */
export class SafeXml {
  readonly unit: string;
  private readonly scanner: XmlScanner;
  private failure: Error | undefined;
  private readonly field: () => string | undefined;

  /**
   * `field` names the field being read, for an error about an over-long value; `fastPath: false`
   * turns off the scanner's learned record patterns (for tests).
   */
  constructor(
    unit: string,
    events: XmlEvents,
    options: { field?: () => string | undefined; fastPath?: boolean } = {},
  ) {
    this.unit = unit;
    this.field = options.field ?? (() => undefined);
    this.scanner = new XmlScanner(
      events,
      { maxToken: MAX_VALUE_READ, maxDepth: MAX_DEPTH, maxAttributes: MAX_ATTRIBUTES },
      { fastPath: options.fastPath ?? true },
    );
  }

  /** Records the first failure; event handlers call this instead of throwing inside the scan. */
  fail(err: Error): void {
    this.failure ??= err;
  }

  /** The line of the tag or text being reported. */
  get line(): number {
    return this.scanner.line;
  }

  /**
   * Appends a text event to a value being collected, refusing the file once the value passes
   * `MAX_VALUE_READ` (the caller stops collecting: `undefined` is returned).
   */
  append(value: string, text: string, field: string | undefined): string | undefined {
    if (value.length + text.length <= MAX_VALUE_READ) return value + text;
    this.fail(tooLong({ unit: this.unit, line: this.scanner.line }, field));
    return undefined;
  }

  private scanned(step: () => void): void {
    try {
      step();
    } catch (err) {
      if (!(err instanceof XmlScanError)) throw err;
      const where = { unit: this.unit, line: err.line };
      this.fail(
        err.kind === 'too-long'
          ? tooLong(where, this.field())
          : malformed(
              where,
              undefined,
              err.kind === 'syntax' ? `not well-formed XML: ${err.message}` : err.message,
            ),
      );
    }
    if (this.failure) throw this.failure;
  }

  /**
   * Decodes and scans the input chunk by chunk, yielding after each chunk so the caller can hand on
   * what the handlers collected. Throws the first failure; an empty file is an error. `encoding`:
   * the school's `mis.encoding`, for a file with no byte-order mark or declaration (which win).
   */
  async *feed(
    input: Readable,
    options: { onBytes?: ((n: number) => void) | undefined; encoding?: string | undefined } = {},
  ): AsyncGenerator<void> {
    let content = false;
    const decoding = {
      ...(options.onBytes ? { onBytes: options.onBytes } : {}),
      ...(options.encoding ? { fallback: options.encoding } : {}),
    };
    for await (const chunk of decodeText(input, this.unit, decoding)) {
      // Spaces before the first content are scanned too: they count in line numbers, and an XML
      // declaration after them is not at the start of the file.
      content ||= /\S/.test(chunk);
      this.scanned(() => this.scanner.write(chunk));
      yield;
    }
    if (!content)
      throw malformed({ unit: this.unit }, undefined, 'the file is empty: expected an XML document');
    this.scanned(() => this.scanner.close());
  }
}
