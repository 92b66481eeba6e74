import { DoorstepError, describeError } from '../errors.ts';

/**
 * How a CLI command ends on an error: one line `doorstep: <message>` on stderr, then any detail
 * lines (e.g. every config problem), never a stack trace. Returns the exit code.
 */
export function reportFatal(
  err: unknown,
  write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): number {
  if (err instanceof DoorstepError) {
    write(`doorstep: ${err.message}`);
    for (const d of err.details) write(`  ${d}`);
    return err.exitCode;
  }
  write(`doorstep: unexpected error: ${describeError(err)}`);
  if (process.env.DOORSTEP_DEBUG && err instanceof Error && err.stack) write(err.stack);
  return 1;
}
