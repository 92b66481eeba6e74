import { signStandardWebhook } from '../../connectors/fob/webhook/standard-webhooks.ts';
import type { CheckResult } from '../core/checks.ts';
import type { Secret } from '../core/secret.ts';
import { type Channel, type DeliveryReceipt, type Notification, reachable } from './channel.ts';
import { alarmMessage } from './message.ts';

async function post(url: string, init: RequestInit, what: string): Promise<Response> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  if (res.status >= 300) {
    const text = await res.text().catch(() => '');
    throw new Error(`${what}: HTTP ${res.status} ${text.slice(0, 200)}`);
  }
  return res;
}

/** SMS through a Twilio-compatible API (`POST …/2010-04-01/Accounts/{sid}/Messages.json`), one per phone. */
export class SmsChannel implements Channel {
  readonly kind = 'sms';
  private readonly o: { baseUrl: string; accountSid: string; authToken: Secret; from: string };
  private readonly phones: (group: string) => string[];

  constructor(
    o: { baseUrl: string; accountSid: string; authToken: Secret; from: string },
    phones: (group: string) => string[],
  ) {
    this.o = o;
    this.phones = phones;
  }

  async check(): Promise<CheckResult> {
    const url = `${this.o.baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(this.o.accountSid)}.json`;
    try {
      const res = await fetch(url, {
        headers: {
          authorization: `Basic ${Buffer.from(`${this.o.accountSid}:${this.o.authToken.reveal()}`).toString('base64')}`,
        },
        signal: AbortSignal.timeout(5000),
      });
      await res.body?.cancel();
      return res.status === 200
        ? { name: 'channel:sms', ok: true, detail: `${new URL(url).origin} accepted the account credentials` }
        : { name: 'channel:sms', ok: false, detail: `${new URL(url).origin}: HTTP ${res.status}` };
    } catch (err) {
      return { name: 'channel:sms', ok: false, detail: (err as Error).message };
    }
  }

  async send(n: Notification): Promise<DeliveryReceipt> {
    const group = n.target.split(':')[1] ?? '';
    const to = this.phones(group);
    if (to.length === 0) throw new Error(`sms: no phone numbers in contacts group "${group}"`);
    const auth = `Basic ${Buffer.from(`${this.o.accountSid}:${this.o.authToken.reveal()}`).toString('base64')}`;
    const ids: string[] = [];
    for (const phone of to) {
      const res = await post(
        `${this.o.baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(this.o.accountSid)}/Messages.json`,
        {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ To: phone, From: this.o.from, Body: alarmMessage(n) }),
        },
        'sms',
      );
      const body = (await res.json().catch(() => ({}))) as { sid?: string };
      ids.push(body.sid ?? 'sent');
    }
    return { receipt: `sms ${ids.join(',')}` };
  }
}

/** Microsoft Teams or Google Chat incoming webhook: a JSON `{text}` post. */
export class ChatWebhookChannel implements Channel {
  readonly kind: 'teams' | 'google-chat';
  private readonly url: Secret;

  constructor(kind: 'teams' | 'google-chat', url: Secret) {
    this.kind = kind;
    this.url = url;
  }

  check(): Promise<CheckResult> {
    return reachable(this.kind, this.url.reveal());
  }

  async send(n: Notification): Promise<DeliveryReceipt> {
    await post(
      this.url.reveal(),
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: alarmMessage(n) }),
      },
      this.kind,
    );
    return { receipt: `${this.kind} posted` };
  }
}

/** A generic webhook signed per Standard Webhooks; the webhook id is the notification's, so a retry is recognisable. */
export class SignedWebhookChannel implements Channel {
  readonly kind = 'webhook';
  private readonly o: { url: string; secret: Secret };
  private readonly now: () => Date;

  constructor(o: { url: string; secret: Secret }, now: () => Date = () => new Date()) {
    this.o = o;
    this.now = now;
  }

  check(): Promise<CheckResult> {
    return reachable('webhook', this.o.url);
  }

  async send(n: Notification): Promise<DeliveryReceipt> {
    const id = `notification_${n.id}`;
    const ts = Math.floor(this.now().getTime() / 1000);
    const body = Buffer.from(
      JSON.stringify({
        type: 'alarm.escalated',
        alarmId: n.alarmId,
        schoolId: n.schoolId,
        step: n.step,
        alarmType: n.alarmType,
        deviceId: n.deviceId,
        staffId: n.staffId,
        message: alarmMessage(n),
      }),
    );
    await post(
      this.o.url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(ts),
          'webhook-signature': signStandardWebhook(this.o.secret.reveal(), id, ts, body),
        },
        body,
      },
      'webhook',
    );
    return { receipt: `webhook ${id}` };
  }
}
