/**
 * The Node/V8 flags a Doorstep command runs with. V8 sizes its heap only as the process starts, so
 * the CLI's entry (`bin/doorstep.js`) runs itself again with the missing ones, in place (same pid,
 * same arguments and environment). No imports: the entry loads this before anything else.
 *
 * - `import` streams a file through many short-lived objects: a small young generation keeps its
 *   memory flat (and is faster).
 * - a process running the `ingest` role (the alarm path): an old generation allowed 256 MB before
 *   its first full collection. Its live heap is ~55 MB; left to V8's start-up limit, a burst of
 *   alarms grew it into a full (mark-compact) collection every 10–20 s at 200 alarms/s, each pausing
 *   the event loop 5–15 ms with the alarms in flight waiting — the slowest of `npm run bench:alarm`'s
 *   runs were most often those. With the limit raised there was none in a whole bench run. The cost
 *   is memory: up to ~256 MB of old generation before the first collection instead of ~60 MB.
 *   And a young generation of at most 4 MB a half: left to V8, it grew to 64 MB within seconds of a
 *   burst, and each of its scavenges (one every ~3 s at 200 alarms/s) copied the ~4.5 MB then alive
 *   and paused the event loop 18–30 ms — most of the slowest 1% of `bench:alarm`'s runs were in
 *   flight during one. At 4 MB it scavenges ~6 times a second, each pausing 1–5 ms (event-loop
 *   stalls in a run's steady state 8–9 ms at most, against 21–37 ms).
 */
export const IMPORT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];
export const INGEST_NODE_FLAGS: readonly string[] = [
  '--initial-old-space-size=256',
  '--max-semi-space-size=4',
];

/** The flags `doorstep <args>` wants (args without node and the script: `['start', '--role', 'ingest']`). */
export function nodeFlagsFor(args: readonly string[]): readonly string[] {
  if (args[0] === 'import') return IMPORT_NODE_FLAGS;
  if (args[0] === 'start' && rolesOf(args).some((r) => r === 'all' || r === 'ingest'))
    return INGEST_NODE_FLAGS;
  return [];
}

/** `--role x`, `--role=x`, `-r x`, `-rx`; the last one given wins, as for the CLI; default all. */
function rolesOf(args: readonly string[]): string[] {
  let value = 'all';
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if ((a === '--role' || a === '-r') && i + 1 < args.length) value = args[++i]!;
    else if (a.startsWith('--role=')) value = a.slice('--role='.length);
    else if (a.startsWith('-r') && !a.startsWith('--') && a.length > 2) value = a.slice(2);
  }
  return value.split(',').map((r) => r.trim());
}

const MANAGED: readonly string[] = [...IMPORT_NODE_FLAGS, ...INGEST_NODE_FLAGS];

/**
 * The Node flags `doorstep <args>` should run with, from the ones this process has: those above that
 * the command does not want are dropped (a worker child started from an ingest process), the ones it
 * wants and lacks added; any other flag (an operator's `--inspect`) kept as it is.
 */
export function execArgvFor(args: readonly string[], execArgv: readonly string[]): string[] {
  const want = nodeFlagsFor(args);
  return [
    ...execArgv.filter((f) => !MANAGED.includes(f) || want.includes(f)),
    ...want.filter((f) => !execArgv.includes(f)),
  ];
}
