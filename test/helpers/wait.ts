/**
 * Polls `cond` until it gives something truthy and returns it; fails naming `what` after `ms`.
 * The one way tests wait for something another process or a queue does.
 */
export async function until<T>(
  cond: () => T | Promise<T>,
  ms = 10_000,
  what = 'a condition',
  everyMs = 25,
): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
