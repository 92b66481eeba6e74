import webpush from 'web-push';
import type { PushSettings } from '../config/schema.ts';
import type { CheckResult } from '../core/checks.ts';
import { vapidPairProblem, vapidPairWords } from '../core/vapid.ts';
import { londonClock } from '../domain/attendance/dates.ts';
import { doorstepError, retryClassOf } from '../errors.ts';
import type { PushSubscriptionRow } from '../store/push-subscriptions.ts';
import { type AlarmSubjects, notAboutThem } from './alarm-recipients.ts';
import type { AlarmFacts } from './call-channel.ts';
import { whoOf } from './call-channel.ts';
import type { Channel, DeliveryReceipt, Notification } from './channel.ts';
import { memoryReceipts, post, type RecipientReceipts, recipientKey } from './http-channels.ts';
import { pushServiceAllowed } from './push-services.ts';

/** The contacts group of a push that is every opted-in office and safeguarding account of the school. */
export const OFFICE_STAFF = 'office-staff';

/** What the push channel needs of the store: a group's subscriptions, and forgetting an expired one. */
export interface PushStore {
  subscriptionsOf(group: string): Promise<PushSubscriptionRow[]>;
  expired(subscriptionId: string): Promise<void>;
  sent(subscriptionId: string): Promise<void>;
}

/** What a push carries: the alarm's type, the person's display name and the time; ids otherwise. */
export function pushPayload(
  n: Notification,
  f: { personName: string | null; raisedAt: Date },
): { title: string; body: string; alarmId: string; url: string } {
  const what = n.alarmType.replace(/_/g, ' ').toUpperCase();
  return {
    title: `DOORSTEP ALARM: ${what}`,
    body: `${what} from ${whoOf(n, f.personName)} at ${londonClock(f.raisedAt)}. Open the board to take it.`,
    alarmId: n.alarmId,
    // The board that holds it: the `orphansTo` school's for a school the config no longer holds.
    url: `/board?school=${encodeURIComponent(n.boardSchoolId ?? n.schoolId)}`,
  };
}

/**
 * Web Push (`push:<group>`): each opted-in browser of the group's accounts gets the alarm, encrypted
 * to its keys (RFC 8291, aes128gcm) and signed with the school's VAPID key (RFC 8292) by `web-push`,
 * posted by Doorstep itself so its answer is read like every outbound call (`failureOf`). A push
 * service's 404 or 410 means the subscription is gone: it is removed and counts as not reached.
 * Each browser is pushed to once (its receipt kept), so a retry reaches only those not yet reached.
 */
export class PushChannel implements Channel {
  readonly kind = 'push';
  private readonly o: PushSettings;
  private readonly store: PushStore;
  private readonly facts: AlarmFacts;
  private readonly receipts: RecipientReceipts;
  private readonly subjects: AlarmSubjects;

  constructor(
    o: PushSettings,
    store: PushStore,
    facts: AlarmFacts,
    receipts: RecipientReceipts = memoryReceipts(),
    /** The people the alarm is about: their browsers are never pushed to (`notAboutThem`). */
    subjects: AlarmSubjects = async () => ({ userIds: [], phones: [] }),
  ) {
    this.o = o;
    this.store = store;
    this.facts = facts;
    this.receipts = receipts;
    this.subjects = subjects;
  }

  async check(): Promise<CheckResult> {
    // The private key must be the public key's pair (what the push services verify the signature
    // with, from the `k=` the browser subscribed with) — a key that merely signs is not enough.
    const problem = vapidPairProblem(this.o.publicKey, this.o.privateKey.reveal());
    if (problem)
      return {
        name: 'channel:push',
        ok: false,
        detail: `channels.push.privateKey: ${vapidPairWords(problem)}`,
      };
    // The key pair must sign: a JWT for a known service (nothing is sent).
    try {
      webpush.getVapidHeaders(
        'https://fcm.googleapis.com',
        this.o.subject,
        this.o.publicKey,
        this.o.privateKey.reveal(),
        'aes128gcm',
      );
      return { name: 'channel:push', ok: true, detail: 'the VAPID key pair signs; nothing was sent' };
    } catch (err) {
      return { name: 'channel:push', ok: false, detail: `the VAPID keys: ${(err as Error).message}` };
    }
  }

  async send(n: Notification): Promise<DeliveryReceipt> {
    const group = n.target.split(':')[1] ?? '';
    const opted = (await this.store.subscriptionsOf(group)).filter((s) =>
      pushServiceAllowed(s.endpoint, this.o.services),
    );
    if (opted.length === 0)
      throw doorstepError('CONFIG_INVALID', `push: no one in "${group}" has opted in to alarms on a device`);
    const subs = await notAboutThem(
      'push',
      n,
      group,
      opted,
      (s, about) => about.userIds.has(s.userId),
      this.subjects,
    );
    const payload = JSON.stringify(pushPayload(n, await this.facts(n)));
    const sent = await this.receipts.sent(n.id);
    // All at once (each bounded by the 10 s of `post`), so a long list of browsers stays within the
    // escalation step's claim; each browser's receipt is kept as it is reached.
    const results = await Promise.allSettled(
      subs.map(async (s): Promise<'reached' | 'gone'> => {
        const key = recipientKey(n.id, s.endpoint);
        if (sent.has(key)) return 'reached';
        const req = webpush.generateRequestDetails(
          { endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } },
          payload,
          {
            vapidDetails: {
              subject: this.o.subject,
              publicKey: this.o.publicKey,
              privateKey: this.o.privateKey.reveal(),
            },
            TTL: this.o.ttlSeconds,
            contentEncoding: 'aes128gcm',
            urgency: 'high',
            topic: `alarm-${n.alarmId}`.slice(0, 32),
          },
        );
        const res = await post(
          req.endpoint,
          { method: 'POST', headers: req.headers as Record<string, string>, body: req.body },
          'push',
          [404, 410],
        );
        await res.body?.cancel();
        if (res.status === 404 || res.status === 410) {
          await this.store.expired(s.id);
          return 'gone';
        }
        await this.receipts.record(n.id, key, `push ${s.id}`);
        await this.store.sent(s.id);
        return 'reached';
      }),
    );
    const reached = results.filter((r) => r.status === 'fulfilled' && r.value === 'reached').length;
    const gone = results.filter((r) => r.status === 'fulfilled' && r.value === 'gone').length;
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length > 0) throw errors.find((e) => retryClassOf(e) === 'transient') ?? errors[0];
    if (reached === 0)
      throw doorstepError(
        'CHANNEL_REFUSED',
        `push: every subscription in "${group}" has expired (${gone} removed)`,
      );
    return { receipt: `push to ${reached} device(s)${gone ? `, ${gone} expired and removed` : ''}` };
  }
}
