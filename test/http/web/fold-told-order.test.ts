import { describe, expect, it } from 'vitest';

/**
 * An alarm card's folded Told lines keep the order of outcomes per target: failed, delivered, failed
 * again is three lines, the last the latest.
 */
interface Line {
  target: string;
  delivery: string;
  count: number;
  firstAt: string;
  lastAt: string;
}
const words = (await import(new URL('../../../web/assets/words.js', import.meta.url).href)) as {
  foldTold: (n: { at: string; target: string; delivery: string; deliveryText: string }[]) => Line[];
};

describe('folded Told lines keep what happened last', () => {
  it('failed, delivered, failed again to the same leaders: the card does not end on "delivered"', () => {
    const sms = (at: string, delivery: string, deliveryText: string) => ({
      at,
      target: 'sms:on-call-leaders',
      delivery,
      deliveryText,
    });
    const lines = words.foldTold([
      sms('2026-12-03T07:56:00Z', 'failed', 'FAILED (HTTP 503)'),
      sms('2026-12-03T08:01:00Z', 'sent', 'delivered'),
      sms('2026-12-03T08:21:00Z', 'failed', 'FAILED (HTTP 503)'),
    ]);
    // The last line the card shows for the target is what happened last (08:21, failed).
    expect(lines.map((l) => [l.delivery, l.lastAt]).at(-1)).toEqual(['failed', '2026-12-03T08:21:00Z']);
  });
});
