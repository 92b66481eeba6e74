import type { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { malformed } from './errors.ts';

const LABELS: Record<string, string> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  'utf-16': 'utf-16le',
  'utf-16le': 'utf-16le',
  'utf-16be': 'utf-16be',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
  'iso-8859-1': 'windows-1252',
  latin1: 'windows-1252',
};

/**
 * Picks the encoding from a byte-order mark, else from an XML declaration's `encoding=`, else the
 * fallback (`declared: false`: the school's `mis.encoding`, or UTF-8). An encoding Doorstep cannot
 * decode is an error, never a guess.
 *
 * A declaration read as it is here — one byte a character — is not UTF-16 text, whatever it says:
 * one that says UTF-16 (an export tool's template, saved as UTF-8) is decoded as UTF-8, as libxml2
 * does; before, it was decoded as UTF-16 and read as garbage "text before the root element". XML in
 * UTF-16 without a byte-order mark is known by its first bytes, `<?` with a zero byte after or
 * before each (the XML spec's appendix F).
 */
export function sniffEncoding(
  head: Buffer,
  fallback: string,
  unit: string,
): { encoding: string; skip: number; declared: boolean } {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf)
    return { encoding: 'utf-8', skip: 3, declared: true };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', skip: 2, declared: true };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', skip: 2, declared: true };
  if (head[0] === 0x3c && head[1] === 0x00 && head[2] === 0x3f && head[3] === 0x00)
    return { encoding: 'utf-16le', skip: 0, declared: true };
  if (head[0] === 0x00 && head[1] === 0x3c && head[2] === 0x00 && head[3] === 0x3f)
    return { encoding: 'utf-16be', skip: 0, declared: true };
  const decl = /^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(
    head.subarray(0, 200).toString('latin1'),
  );
  if (decl) {
    const label = decl[1]!.toLowerCase();
    // Own keys only: `encoding="constructor"` must not find a member of `Object.prototype`.
    const enc = Object.hasOwn(LABELS, label) ? LABELS[label] : undefined;
    if (!enc) {
      throw malformed(
        { unit, line: 1 },
        'encoding',
        `unsupported encoding "${decl[1]}" (expected UTF-8, UTF-16 or Windows-1252)`,
      );
    }
    return { encoding: enc.startsWith('utf-16') ? 'utf-8' : enc, skip: 0, declared: true };
  }
  return { encoding: fallback, skip: 0, declared: false };
}

/**
 * Streams a file as text in its encoding. Invalid bytes for that encoding stop the import with an
 * error naming the line they are on (before, only the byte range of the 64 KB chunk they fell in,
 * which no data manager can find in a 5,000-line export); the whole file is never held in memory.
 */
export async function* decodeText(
  input: Readable,
  unit: string,
  options: { fallback?: string; onBytes?: (n: number) => void } = {},
): AsyncGenerator<string> {
  let decoder: TextDecoder | undefined;
  /** Whether the file says its encoding (a byte-order mark or an XML declaration). */
  let declared = false;
  let offset = 0;
  /** Line breaks in the text decoded so far, and the chunk before this one (for its last bytes). */
  let lines = 0;
  let prev: Buffer | undefined;
  for await (const raw of input) {
    let chunk = raw as Buffer;
    options.onBytes?.(chunk.length);
    if (!decoder) {
      const { encoding, skip, declared: said } = sniffEncoding(chunk, options.fallback ?? 'utf-8', unit);
      declared = said;
      decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
      chunk = chunk.subarray(skip);
      offset += skip;
    }
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      // mis.encoding is the encoding of a file that does not say its own: one that says UTF-8 (its
      // byte-order mark or XML declaration) is read as UTF-8 whatever the setting, so the hint is
      // to export it again, never a setting that would change nothing.
      const hint =
        decoder.encoding !== 'utf-8'
          ? ''
          : declared
            ? '; the file says it is UTF-8 (its byte-order mark or XML declaration), which mis.encoding does not override: export it again as UTF-8'
            : "; if the export is Windows-1252, set the school's mis.encoding: windows-1252";
      const line = lineOfBadBytes(decoder.encoding, prev, offset, chunk, lines);
      throw malformed(
        { unit, line },
        undefined,
        `not valid ${decoder.encoding} text on that line (a character written in another encoding)${hint}`,
      );
    }
    offset += chunk.length;
    lines += newlines(text);
    prev = chunk;
    if (text) yield text;
  }
  if (decoder) {
    try {
      const tail = decoder.decode();
      if (tail) yield tail;
    } catch {
      throw malformed(
        { unit, line: lines + 1 },
        undefined,
        `file ends in the middle of a ${decoder.encoding} character`,
      );
    }
  }
}

function newlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * The line of a chunk's first bytes that are not text in `encoding`, the chunk failing to decode
 * after `before` line breaks. A fresh decoder is started where the chunk before left a character
 * unfinished (at most 3 bytes back: the first of its last bytes a decoder can start at), then fed the
 * chunk a line at a time, until a line fails.
 */
function lineOfBadBytes(
  encoding: string,
  prev: Buffer | undefined,
  /** Where the chunk starts in the file (a UTF-16 decoder starts on an even byte). */
  at: number,
  chunk: Buffer,
  before: number,
): number {
  const tail = prev ? prev.subarray(Math.max(0, prev.length - 3)) : Buffer.alloc(0);
  const wide = encoding !== 'utf-8';
  for (let from = 0; from <= tail.length; from++) {
    if (wide && (at - tail.length + from) % 2 !== 0) continue;
    const probe = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
    try {
      // Its line breaks, if any, were counted already.
      probe.decode(tail.subarray(from), { stream: true });
    } catch {
      continue;
    }
    let line = before + 1;
    for (let start = 0; start < chunk.length; ) {
      const nl = chunk.indexOf(10, start);
      const end = nl === -1 ? chunk.length : nl + 1;
      try {
        line += newlines(probe.decode(chunk.subarray(start, end), { stream: true }));
      } catch {
        return line;
      }
      start = end;
    }
    return line;
  }
  return before + 1;
}
