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
 * fallback. An encoding Doorstep cannot decode is an error, never a guess.
 */
export function sniffEncoding(
  head: Buffer,
  fallback: string,
  unit: string,
): { encoding: string; skip: number } {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', skip: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', skip: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', skip: 2 };
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
    return { encoding: enc, skip: 0 };
  }
  return { encoding: fallback, skip: 0 };
}

/**
 * Streams a file as text in its encoding. Invalid bytes for that encoding stop the import with an
 * error naming the byte offset; the whole file is never held in memory.
 */
export async function* decodeText(
  input: Readable,
  unit: string,
  options: { fallback?: string; onBytes?: (n: number) => void } = {},
): AsyncGenerator<string> {
  let decoder: TextDecoder | undefined;
  let offset = 0;
  for await (const raw of input) {
    let chunk = raw as Buffer;
    options.onBytes?.(chunk.length);
    if (!decoder) {
      const { encoding, skip } = sniffEncoding(chunk, options.fallback ?? 'utf-8', unit);
      decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
      chunk = chunk.subarray(skip);
      offset += skip;
    }
    try {
      const text = decoder.decode(chunk, { stream: true });
      offset += chunk.length;
      if (text) yield text;
    } catch {
      const hint =
        decoder.encoding === 'utf-8'
          ? "; if the export is Windows-1252, set the school's mis.encoding: windows-1252"
          : '';
      throw malformed(
        { unit },
        undefined,
        `not valid ${decoder.encoding} text (in bytes ${offset}–${offset + chunk.length})${hint}`,
      );
    }
  }
  if (decoder) {
    try {
      const tail = decoder.decode();
      if (tail) yield tail;
    } catch {
      throw malformed({ unit }, undefined, `file ends in the middle of a ${decoder.encoding} character`);
    }
  }
}
