import { afterAll, beforeAll } from 'vitest';
import { XmlScanner } from '../../connectors/mis/xml-scanner.ts';

/**
 * Counts the records XmlScanner reads by a learned pattern while a test file runs (its private
 * `record` wrapped for the file's tests, then restored; a test may set `count` back to 0): a test of
 * the fast path shows it ran.
 */
export function countFastRecords(): { count: number } {
  const counted = { count: 0 };
  const proto = XmlScanner.prototype as unknown as Record<string, (...a: unknown[]) => number>;
  const record = proto.record!;
  beforeAll(() => {
    proto.record = function (this: unknown, ...a: unknown[]) {
      const next = record.apply(this, a);
      if (next >= 0) counted.count++;
      return next;
    };
  });
  afterAll(() => {
    proto.record = record;
  });
  return counted;
}
