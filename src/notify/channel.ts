import type { CheckResult } from '../core/checks.ts';
import { unreachable } from '../core/outbound-http.ts';

/** A notification for a person or place: which alarm, which ladder step, where to. Ids only. */
export interface Notification {
  id: string;
  alarmId: string;
  schoolId: string;
  step: number;
  /** `board`, `sms:on-call-leaders`, `email:dsl`, … */
  target: string;
  alarmType: string;
  /** Null for an alarm the visit watcher raised. */
  deviceId: string | null;
  staffId: string | null;
  visitId?: string | null;
  /** A TEST alarm (a fob drill): the words say so first. */
  test?: boolean;
  /** What this level asks the office to do (from the policy), when it says. */
  prompt?: string | null;
  /**
   * Looked up as an e-mail is sent (src/notify/email-details.ts), never carried in a job: the name
   * of the staff id's account, and the link to the board.
   */
  staffName?: string | null;
  boardUrl?: string | null;
  /** Not an alarm but a notice to named people (a child not seen): its subject and words. */
  notice?: { subject: string; text: string } | null;
}

export interface DeliveryReceipt {
  /** The channel's id for what it sent, or a description. */
  receipt: string;
}

/** Every notification channel (board, SMS, e-mail, Teams, Google Chat, webhook). */
export interface Channel {
  readonly kind: string;
  /** A connection test that sends nothing to anyone (used by `doorstep check`). */
  check(): Promise<CheckResult>;
  send(n: Notification): Promise<DeliveryReceipt>;
}

/** The people on the alarm's visit (or the wearer of the device): defined with the ladder's targets. */
export { VISITING_STAFF } from '../domain/escalation/ladder.ts';

/** The contacts group of a visit's family: the pupil's first contact with a phone (a visit announced by text). */
export const FAMILY = 'family';

/** The channel kind of a target: `sms:on-call-leaders` → `sms`. */
export function channelKind(target: string): string {
  return target.split(':')[0]!;
}

/**
 * Reachability of an incoming-webhook URL without posting to it: any HTTP answer will do. A URL that
 * is not one is a failed check naming the setting (never showing it), not an error that ends the run.
 */
export async function reachable(kind: string, url: string): Promise<CheckResult> {
  const name = `channel:${kind}`;
  let shown = `channels.${kind}.url`;
  try {
    const target = new URL(url);
    shown = target.origin;
    const res = await fetch(target, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    await res.body?.cancel();
    return { name, ok: true, detail: `${shown} answered (HTTP ${res.status}); nothing was posted` };
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_INVALID_URL')
      return {
        name,
        ok: false,
        detail: `channels.${kind}.url is not a URL (not shown): expected an https URL`,
      };
    return { name, ok: false, detail: `${shown}: ${unreachable(err).reason}` };
  }
}
