import type { CallSettings, SmsSettingsConfig } from '../config/schema.ts';
import type { CheckResult } from '../core/checks.ts';
import { doorstepError } from '../errors.ts';
import { type AlarmSubjects, notAboutThem, phoneOf } from './alarm-recipients.ts';
import { callTwiml, spokenAlarm } from './call-twiml.ts';
import type { Channel, DeliveryReceipt, Notification } from './channel.ts';
import {
  checkTwilioAccount,
  dialNumber,
  groupPhones,
  memoryReceipts,
  postToTwilio,
  type RecipientReceipts,
  recipientKey,
  sendToEachOnce,
  twilioSid,
} from './http-channels.ts';

/** What a call says of its alarm beyond the notification: the school, the person's name, the time. */
export type AlarmFacts = (
  n: Notification,
) => Promise<{ schoolName: string; personName: string | null; raisedAt: Date }>;

/** Where the provider posts a call's keypress and its outcome. */
export function callUrls(call: { callbackUrl: string }): { gather: string; status: string } {
  const base = call.callbackUrl.replace(/\/+$/, '');
  return { gather: `${base}/gather`, status: `${base}/status` };
}

/**
 * The keypress URL of one call: the gather URL naming the notification and the recipient it rings
 * (`?n=…&r=…`, the recipient by its key, never its number). The provider requests it exactly so and
 * signs it whole, so a keypress finds its call by these whatever its id: never known (placed, but its
 * answer lost: `mayHaveBeenSent`), or not the `CallSid` the provider's callbacks name.
 */
export function gatherUrlFor(call: { callbackUrl: string }, notificationId: string, key: string): string {
  return `${callUrls(call).gather}?n=${encodeURIComponent(notificationId)}&r=${key}`;
}

/** Who the call is about, in words: their name; else their staff id; else the device. */
export function whoOf(n: Notification, personName: string | null): string {
  if (personName) return personName;
  if (n.staffId) return `staff ${n.staffId}`;
  return n.deviceId ? `an unknown device, ${n.deviceId}` : 'a member of staff';
}

/**
 * A ladder call (`call:<group>`): each phone of the group is rung through the Twilio-compatible
 * Calls API — `POST /2010-04-01/Accounts/{AccountSid}/Calls.json`, form-encoded `To`, `From`,
 * `Twiml` (or `Url`), `StatusCallback`, `Timeout`, HTTP Basic `AccountSid:AuthToken`, answered 201
 * with the call's `sid` (https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource)
 * — on the SMS channel's account. The call speaks the alarm and listens for 1 (`<Gather>`, posted to
 * `/hooks/voice/<school>/gather`); its outcome comes to `/hooks/voice/<school>/status`, where
 * no-answer, busy, failed and canceled count as not delivered. Each phone is rung once: its call id
 * is kept as it is placed, so a retry after a failure part-way rings only the phones not yet rung.
 */
export class CallChannel implements Channel {
  readonly kind = 'call';
  private readonly account: SmsSettingsConfig;
  private readonly call: CallSettings;
  private readonly phones: (group: string) => string[];
  private readonly facts: AlarmFacts;
  private readonly receipts: RecipientReceipts;
  private readonly subjects: AlarmSubjects;

  constructor(
    account: SmsSettingsConfig,
    call: CallSettings,
    phones: (group: string) => string[],
    facts: AlarmFacts,
    receipts: RecipientReceipts = memoryReceipts(),
    /** The people the alarm is about, looked up as the call is placed: never rung (`notAboutThem`). */
    subjects: AlarmSubjects = async () => ({ userIds: [], phones: [] }),
  ) {
    this.account = account;
    this.call = call;
    this.phones = phones;
    this.facts = facts;
    this.receipts = receipts;
    this.subjects = subjects;
  }

  check(): Promise<CheckResult> {
    return checkTwilioAccount('call', this.account);
  }

  async send(n: Notification): Promise<DeliveryReceipt> {
    const group = n.target.split(':')[1] ?? '';
    const all = this.phones(group);
    if (all.length === 0)
      throw doorstepError('CONFIG_INVALID', `call: no phone numbers in contacts group "${group}"`);
    // Never the people the alarm is about (a call asks its callee to take it), `visiting-staff` included.
    const to = await notAboutThem('call', n, group, groupPhones(all), phoneOf, this.subjects);
    const f = await this.facts(n);
    const urls = callUrls(this.call);
    const text = spokenAlarm({
      schoolName: f.schoolName,
      alarmType: n.alarmType,
      who: whoOf(n, f.personName),
      raisedAt: f.raisedAt,
    });
    const ids = await sendToEachOnce('call', this.receipts, n.id, to, async (phone) => {
      const gatherUrl = gatherUrlFor(this.call, n.id, recipientKey(n.id, phone));
      const body = await postToTwilio(
        this.account,
        'Calls.json',
        {
          To: dialNumber('call', phone),
          From: this.call.from ?? this.account.from,
          Twiml: callTwiml({ text, gatherUrl, language: this.call.language }),
          StatusCallback: urls.status,
          StatusCallbackMethod: 'POST',
          Timeout: String(this.call.ringSeconds),
        },
        'call',
      );
      // The call's id is how its outcome is matched (its keypress by the notification and recipient
      // its signed URL names, whatever the id): a 2xx without one of a call's shape may still have
      // placed the call — "may have been sent", never rung again — read as the SMS channel reads the
      // same answer.
      return twilioSid('call', body, this.account.accountSid);
    });
    return { receipt: `call ${ids.join(',')}` };
  }
}
