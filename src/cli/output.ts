import { DoorstepError, describeError } from '../errors.ts';

/**
 * How a CLI command ends on an error: one line `doorstep: <message>` on stderr, then any detail
 * lines (e.g. every config problem), never a stack trace. Returns the exit code.
 */
export function reportFatal(
  err: unknown,
  write: (line: string) => void = (l) => process.stderr.write(`${printable(l)}\n`),
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

/**
 * Stored free text — staff-typed notes and addresses, MIS values, a sink's answer — made safe to write
 * to an admin's terminal: every control character (C0, DEL, C1) but newline and tab is written as a
 * visible escape (`\x1b`), so none can move the cursor, clear the screen, set the clipboard (OSC 52)
 * or ring the bell. Every CLI line that carries stored text goes through it.
 */
export function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, (c) =>
    c === '\n' || c === '\t' ? c : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
