import type { CheckResult } from '../core/checks.ts';
import { redirectTarget, unreachable } from '../core/outbound-http.ts';

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
  /**
   * Looked up as a text or e-mail to the people on the visit is sent (`visiting-staff`): the number
   * their phone page offers now (the office, or the on-call number out of hours), for their words.
   */
  officeLine?: { phone: string; label: string } | null;
  /**
   * Set as it is sent, never carried in a job: the alarm's school is one the config no longer holds,
   * in words ("hampton, a school no longer in the configuration"); its messages go through the
   * `orphansTo` school's channels and contacts, and say so.
   */
  orphanSchool?: string | null;
  /**
   * Set with `orphanSchool`: the school whose board holds the alarm to take (the `orphansTo` school's
   * id) — where a link to the board points. Else the alarm's own school's board.
   */
  boardSchoolId?: string | null;
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
 * Reachability of an incoming-webhook URL without posting to it (a HEAD). It says what a post would
 * meet: a redirect (never followed: a post is never redirected, so every message would fail) and a
 * 404 or 410 (no webhook there: removed, or mistyped) fail it; any other answer passes — a 405 too,
 * as a receiver may refuse HEAD. Only the URL's origin is shown; where a redirect points is shown as
 * origin and path, or its origin alone for a URL that is itself a credential (`secretUrl`: Teams,
 * Google Chat), whose path may carry the same token.
 */
export async function reachable(
  kind: string,
  url: string,
  { secretUrl = false }: { secretUrl?: boolean } = {},
): Promise<CheckResult> {
  const name = `channel:${kind}`;
  let shown = `channels.${kind}.url`;
  try {
    const target = new URL(url);
    shown = target.origin;
    const res = await fetch(target, {
      method: 'HEAD',
      redirect: 'manual',
      signal: AbortSignal.timeout(5000),
    });
    await res.body?.cancel();
    if (res.status >= 300 && res.status < 400) {
      const where = secretUrl ? redirectOrigin(res, target) : redirectTarget(res, target.href);
      return {
        name,
        ok: false,
        detail: `${shown} answered HTTP ${res.status}, moved to ${where}: a post is never redirected, so every message would fail — set channels.${kind}.url to where it moved`,
      };
    }
    if (res.status === 404 || res.status === 410)
      return {
        name,
        ok: false,
        detail: `${shown} answered HTTP ${res.status}: no webhook at this URL (removed, or mistyped) — every message would fail; check channels.${kind}.url`,
      };
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

/** Where a redirect points, its origin only. */
function redirectOrigin(res: Response, base: URL): string {
  const location = res.headers.get('location');
  if (!location) return 'nowhere (no Location)';
  try {
    return new URL(location, base).origin;
  } catch {
    return 'an unreadable Location';
  }
}
