import { doorstepError } from '../errors.ts';

/**
 * How long one send through a channel may take before it counts as a failed try: under the notify
 * and send-notice jobs' own timeout (30 s), so a channel that hangs is a recorded try — and an alarm
 * moved on to its next level — never a job timed out by the worker host with the notification left
 * "sending" for ever and the board never saying that no one was reached.
 */
export const SEND_BOUND_MS = 20_000;

/**
 * `send` through `channel`, or a failure for good once `ms` have passed without an answer. The send
 * is still under way then — a channel's own timeouts (10 s per HTTP request, nodemailer's per SMTP
 * step) came first when it had stopped — and nothing can call it back: a tarpitting SMTP server
 * answering each step within its timeout delivers the message after the bound. Whether it went is
 * not known, so it is never sent again — a retry would send it a second time, and every retry again
 * — and the failure is permanent: the notification is failed now and the alarm's next level brought
 * forward, as for a refusal, so the ladder still moves on and nothing is doubled. (Not a transient
 * failure, retried: each of up to six tries could deliver the same e-mail.)
 */
export function withinSendBound<T>(send: Promise<T>, channel: string, ms = SEND_BOUND_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          doorstepError(
            'CHANNEL_REFUSED',
            `${channel}: no answer within ${ms / 1000} s; it may still have gone, so it is not sent again`,
          ),
        ),
      ms,
    );
  });
  return Promise.race([send, bound]).finally(() => clearTimeout(timer));
}
