import nodemailer, { type Transporter } from 'nodemailer';
import type { CheckResult } from '../core/checks.ts';
import type { Secret } from '../core/secret.ts';
import { doorstepError } from '../errors.ts';
import type { Channel, DeliveryReceipt, Notification } from './channel.ts';
import { alarmMessage } from './message.ts';

/** E-mail over SMTP (nodemailer), to each address in the target's contacts group. */
export class EmailChannel implements Channel {
  readonly kind = 'email';
  private readonly transport: Transporter;
  private readonly from: string;
  private readonly addresses: (group: string) => string[];

  constructor(
    o: { smtpUrl: string; username?: string | undefined; password?: Secret | undefined; from: string },
    addresses: (group: string) => string[],
  ) {
    this.transport = nodemailer.createTransport(o.smtpUrl, {
      ...(o.username && o.password ? { auth: { user: o.username, pass: o.password.reveal() } } : {}),
    } as never);
    this.from = o.from;
    this.addresses = addresses;
  }

  async check(): Promise<CheckResult> {
    try {
      await this.transport.verify();
      return { name: 'channel:email', ok: true, detail: 'the SMTP server accepted the connection' };
    } catch (err) {
      return { name: 'channel:email', ok: false, detail: `SMTP: ${(err as Error).message}` };
    }
  }

  async send(n: Notification): Promise<DeliveryReceipt> {
    const group = n.target.split(':')[1] ?? '';
    const to = this.addresses(group);
    if (to.length === 0)
      throw doorstepError('CONFIG_INVALID', `email: no addresses in contacts group "${group}"`);
    let info: { messageId: string };
    try {
      info = await this.transport.sendMail({
        from: this.from,
        to,
        subject: n.notice
          ? `Doorstep: ${n.notice.subject}`
          : `Doorstep alarm #${n.alarmId}: ${n.alarmType.replace(/_/g, ' ')}`,
        text: n.boardUrl ? `${alarmMessage(n)}\n\nOpen the board: ${n.boardUrl}\n` : alarmMessage(n),
      });
    } catch (err) {
      throw smtpFailure(err);
    }
    return { receipt: `email ${info.messageId}` };
  }
}

/**
 * An SMTP failure read like an HTTP one: refused credentials are a configuration fault (never
 * retried), a permanent rejection (5xx reply) will not succeed as it is, anything else — no
 * connection, a timeout, a 4xx "try later" — is transient.
 */
function smtpFailure(err: unknown): Error {
  const e = err as Error & { code?: string; responseCode?: number };
  const name =
    e.code === 'EAUTH'
      ? 'CHANNEL_AUTH'
      : typeof e.responseCode === 'number' && e.responseCode >= 500
        ? 'CHANNEL_REFUSED'
        : 'CHANNEL_UNAVAILABLE';
  return doorstepError(name, `email: ${e.message}`, { cause: err });
}
