import nodemailer, { type Transporter } from 'nodemailer';
import type { CheckResult } from '../core/checks.ts';
import type { Secret } from '../core/secret.ts';
import { doorstepError } from '../errors.ts';
import { type AlarmSubjects, emailOf, notAboutThem } from './alarm-recipients.ts';
import { type Channel, type DeliveryReceipt, type Notification, VISITING_STAFF } from './channel.ts';
import { memoryReceipts, type RecipientReceipts, recipientKey } from './http-channels.ts';
import { alarmMessage, alarmSubject, toTheWorker } from './message.ts';

/** E-mail over SMTP (nodemailer), to each address in the target's contacts group. */
export class EmailChannel implements Channel {
  readonly kind = 'email';
  private readonly transport: Transporter;
  private readonly settings: Record<string, unknown>;
  private readonly from: string;
  private readonly addresses: (group: string) => string[];
  private readonly subjects: AlarmSubjects;
  private readonly receipts: RecipientReceipts;
  private readonly halfLogin: boolean;

  constructor(
    o: { smtpUrl: string; username?: string | undefined; password?: Secret | undefined; from: string },
    addresses: (group: string) => string[],
    /** The people the alarm is about: never e-mailed about it, but by the register's `visiting-staff` e-mail. */
    subjects: AlarmSubjects = async () => ({ userIds: [], phones: [] }),
    /**
     * Where the addresses a message reached are kept, once the server has answered: a retry never
     * sends to them again (after a partial refusal, the board then says "partly failed"; after a send
     * whose receipts were written but whose "sent" was not recorded, the retry returns this receipt
     * and sends nothing). Nothing is kept before the send: receipts not written (the database away as
     * the server answers) leave the retry to send again — see `send`.
     */
    receipts: RecipientReceipts = memoryReceipts(),
  ) {
    this.subjects = subjects;
    this.receipts = receipts;
    this.halfLogin = (o.username === undefined) !== (o.password === undefined);
    // One options object, the URL in it: a second argument to createTransport is the messages'
    // defaults, where connection settings are not read.
    this.settings = {
      url: o.smtpUrl,
      ...(o.username && o.password ? { auth: { user: o.username, pass: o.password.reveal() } } : {}),
      // nodemailer waits up to 2 minutes to connect, 30 s for the greeting and 10 minutes on a quiet
      // socket. These give up sooner, closing the connection: 5 s to connect, 5 s for the greeting,
      // 8 s of silence. They do not bound a send: a server that answers each step within 8 s (a
      // tarpit, a slow content scan) holds it past its bound (SEND_BOUND_MS, 20 s) and may still
      // take the message after it — which is why a send past its bound is never sent again
      // (`withinSendBound`), nor one whose message was handed over before it failed (`smtpFailure`).
      connectionTimeout: 5_000,
      greetingTimeout: 5_000,
      socketTimeout: 8_000,
    };
    this.transport = nodemailer.createTransport(this.settings as never);
    this.from = o.from;
    this.addresses = addresses;
  }

  async check(): Promise<CheckResult> {
    // A login half given is no login: the server is asked for none, so a server that wants one
    // refuses every message (the config refuses it; this says so for a channel built without it).
    if (this.halfLogin)
      return {
        name: 'channel:email',
        ok: false,
        detail: 'channels.email: username and password go together (one is given without the other)',
      };
    try {
      await this.transport.verify();
      return { name: 'channel:email', ok: true, detail: 'the SMTP server accepted the connection' };
    } catch (err) {
      return { name: 'channel:email', ok: false, detail: `SMTP: ${(err as Error).message}` };
    }
  }

  async send(n: Notification): Promise<DeliveryReceipt> {
    const group = n.target.split(':')[1] ?? '';
    const all = this.addresses(group);
    if (all.length === 0)
      throw doorstepError('CONFIG_INVALID', `email: no addresses in contacts group "${group}"`);
    const members = await notAboutThem(
      'email',
      n,
      group,
      eachOnce(all),
      emailOf,
      this.subjects,
      VISITING_STAFF,
    );
    // Those an earlier try reached are kept (by key, no address) and not sent to again: a retry after
    // a temporary refusal of some goes to those refused only, never a second copy to the others.
    const earlier = await this.receipts.sent(n.id);
    const to = members.filter((a) => !earlier.has(addressKey(n.id, a)));
    if (to.length === 0) return { receipt: [...new Set(earlier.values())].join(', ') };
    let info: {
      messageId: string;
      accepted?: unknown[];
      rejected?: unknown[];
      rejectedErrors?: { responseCode?: unknown }[];
    };
    // Whether the whole message (its final ".") went to the server: a failure after that with no
    // reply from it (a timeout, the connection lost) leaves unknown whether the server took it — it
    // commits before it answers 250 — so that message is not sent again (`smtpFailure`). nodemailer
    // says so only in its log, per connection: one transport per send, its log read for that alone.
    let handedOver = false;
    const watch = (entry: unknown) => {
      const e = entry as { tnx?: unknown; outByteCount?: unknown } | undefined;
      if (e?.tnx === 'message' && typeof e.outByteCount === 'number') handedOver = true;
    };
    const quiet = () => {};
    const transport = nodemailer.createTransport({
      ...this.settings,
      logger: { trace: quiet, debug: quiet, info: watch, warn: quiet, error: quiet, fatal: quiet },
    } as never);
    try {
      info = await transport.sendMail({
        from: this.from,
        to,
        subject: n.notice ? `Doorstep: ${n.notice.subject}` : alarmSubject(n),
        // The board's link is the office's: never in the words to the worker themselves.
        text:
          n.boardUrl && !toTheWorker(n.target)
            ? `${alarmMessage(n)}\n\nOpen the board: ${n.boardUrl}\n`
            : alarmMessage(n),
      });
    } catch (err) {
      throw smtpFailure(err, handedOver);
    }
    // The server took the message for some and refused others: never "sent". A temporary refusal
    // (4xx: greylisting, a mailbox busy) is tried again — for those refused only — as the same
    // refusal of a sole recipient is; a permanent one (5xx: a mailbox gone) alone fails the step for
    // good, as one refused number of a text to a group does — the ladder's next level now. Counts
    // and the reply code only: the refusals quote the addresses.
    const refused = info.rejected?.length ?? 0;
    // Those it did reach are kept, by key (no address), before anything else is written: a retry
    // never sends them a second copy — after a refusal of others (the step then reads partly failed,
    // never "every message failed, no one else knows"), or after a full success whose receipts were
    // written but whose "sent" was not (the database away a moment after them, the process dying
    // then), which finds every address done and returns this receipt. They are written only after
    // the server's 250: nothing marks an address before the send, as a text's phone is marked
    // being placed. The database away as the server answers (this write fails), or the process
    // dying between the 250 and these writes, leaves an address without its receipt, and the retry
    // e-mails it again — a doubled alarm e-mail, never a lost one.
    const accepted = info.accepted ?? (refused === 0 ? to : []);
    for (const address of accepted)
      if (typeof address === 'string')
        await this.receipts.record(n.id, addressKey(n.id, address), `email ${info.messageId}`);
    if (refused > 0) {
      const codes = (info.rejectedErrors ?? []).flatMap((e) =>
        typeof e.responseCode === 'number' ? [e.responseCode] : [],
      );
      // Some refused for now and some for good: tried again (those refused only), as a text to a
      // group with both is; the step fails for good once only the permanent ones are left.
      const temporary = codes.some((c) => c >= 400 && c < 500);
      const replies = [...new Set(codes)].sort((a, b) => a - b);
      throw doorstepError(
        temporary ? 'CHANNEL_UNAVAILABLE' : 'CHANNEL_REFUSED',
        `email: the server refused ${refused} of ${to.length} recipients${replies.length ? ` (SMTP ${replies.join(', ')})` : ''}; the others were sent`,
      );
    }
    return { receipt: `email ${info.messageId}` };
  }
}

/** An address's receipt key: the same mailbox however its letters are cased. */
function addressKey(notificationId: string, address: string): string {
  return recipientKey(notificationId, address.trim().toLowerCase());
}

/**
 * A group's addresses, each once however it is written (`emailOf` reads them so too): one address
 * listed twice in a contacts group, or as two spellings of one mailbox, is e-mailed once.
 */
function eachOnce(addresses: readonly string[]): string[] {
  const seen = new Set<string>();
  return addresses.filter((a) => {
    const key = a.trim().toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * An SMTP failure read like an HTTP one: refused credentials are a configuration fault (never
 * retried), a permanent rejection (5xx reply) will not succeed as it is, anything else — no
 * connection, a timeout, a 4xx "try later" — is transient. But a failure with no reply after the
 * whole message was handed over (`handedOver`: the server silent past the socket timeout, or the
 * connection lost, before its 250) leaves unknown whether the server took it: a retry could deliver
 * it a second time, so it fails for good — the ladder's next level now, as for a refusal. Like an
 * HTTP provider's answer (`failureWords`), only the failure's code and the SMTP reply code are kept:
 * the server's text quotes the refused recipient's address (`550 <jo@…>: Recipient address
 * rejected`), and so does the error itself (its `response`, `rejected`), which is not kept as a cause.
 */
function smtpFailure(err: unknown, handedOver: boolean): Error {
  const e = err as Error & { code?: unknown; responseCode?: unknown };
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const code = typeof e.code === 'string' && /^[A-Z][A-Z0-9_]{1,30}$/.test(e.code) ? e.code : 'failed';
  if (handedOver && reply === undefined)
    return doorstepError(
      'CHANNEL_REFUSED',
      `email: ${code} after the message was handed to the server, before it answered; it may have gone, so it is not sent again`,
    );
  const name =
    e.code === 'EAUTH'
      ? 'CHANNEL_AUTH'
      : reply !== undefined && reply >= 500
        ? 'CHANNEL_REFUSED'
        : 'CHANNEL_UNAVAILABLE';
  return doorstepError(name, `email: ${code}${reply !== undefined ? ` (SMTP ${reply})` : ''}`);
}
