/**
 * Progress for something that may be read more than once (an import unit read again from its
 * start): each reading counts from zero, and only what goes past the furthest earlier reading is
 * reported, so progress never goes back and nothing is counted twice.
 *
 *   const readings = countedOnce(report);
 *   const onRead = readings(); // one per reading
 */
export function countedOnce(report: (n: number) => void): () => (n: number) => void {
  let reported = 0;
  return () => {
    let read = 0;
    return (n) => {
      read += n;
      if (read > reported) {
        report(read - reported);
        reported = read;
      }
    };
  };
}
