/**
 * Waits for every one of `work` to settle (fulfilled or rejected), or for `ms` to pass, whichever
 * comes first; never throws. For shutdown: what is in flight gets the time that is left, no more.
 */
export async function settledWithin(work: Iterable<Promise<unknown>>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled([...work]),
    new Promise<void>((r) => {
      timer = setTimeout(r, ms);
    }),
  ]);
  clearTimeout(timer);
}
