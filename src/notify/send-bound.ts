import { doorstepError } from '../errors.ts';

/**
 * How long one send through a channel may take before it counts as a failed try: under the notify
 * and send-notice jobs' own timeout (30 s), so a channel that hangs (an SMTP server that takes the
 * connection and never greets) is a recorded try — failed for good on the last one, and an alarm
 * moved on to its next level — never a job timed out by the worker host with the notification left
 * "sending" for ever and the board never saying that no one was reached.
 */
export const SEND_BOUND_MS = 20_000;

/** `send` through `channel`, or a transient CHANNEL_UNAVAILABLE once `ms` have passed without an answer. */
export function withinSendBound<T>(send: Promise<T>, channel: string, ms = SEND_BOUND_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(doorstepError('CHANNEL_UNAVAILABLE', `${channel}: no answer within ${ms / 1000} s`)),
      ms,
    );
  });
  return Promise.race([send, bound]).finally(() => clearTimeout(timer));
}
