import { isDoorstepError } from '../../src/errors.ts';

/** The Doorstep error a step was refused with (its code and message); fails when it was not refused. */
export async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isDoorstepError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}
