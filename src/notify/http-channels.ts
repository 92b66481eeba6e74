import { createHash } from 'node:crypto';
import type { CheckResult } from '../core/checks.ts';
import {
  answerMayHaveLanded,
  failureOf,
  failureWords,
  isProviderErrorDocument,
  mayHaveLanded,
  outboundFetch,
  statusMayHaveLanded,
  textWithin,
  unreachable,
} from '../core/outbound-http.ts';
import type { Secret } from '../core/secret.ts';
import { signStandardWebhook } from '../core/standard-webhooks.ts';
import { MAY_HAVE_BEEN_SENT } from '../domain/escalation/delivery.ts';
import { e164 } from '../domain/phone-key.ts';
import { PLACING, PLACING_LEFT_MS } from '../domain/recipient-placing.ts';
import { type DoorstepError, doorstepError, isDoorstepError, retryClassOf } from '../errors.ts';
import { type AlarmSubjects, notAboutThem, phoneOf } from './alarm-recipients.ts';
import {
  type Channel,
  type DeliveryReceipt,
  type Notification,
  reachable,
  VISITING_STAFF,
} from './channel.ts';
import { alarmMessage } from './message.ts';
import { replyPromptFor } from './sms-reply.ts';

const CHANNEL_ERROR = {
  auth: 'CHANNEL_AUTH',
  refused: 'CHANNEL_REFUSED',
  'rate-limited': 'CHANNEL_UNAVAILABLE',
  unavailable: 'CHANNEL_UNAVAILABLE',
  unreachable: 'CHANNEL_UNAVAILABLE',
} as const;

/** Marks a `mayHaveBeenSent` failure (its details): its recipient's receipt is kept as such. */
const MAY_HAVE_BEEN_SENT_DETAIL = 'may-have-been-sent';

/** Marks a failure of a request known never to have been made (`neverMade`): a retry sends it. */
const NEVER_MADE_DETAIL = 'never-made';

/**
 * A text or call asked for whose answer never came, or came without saying it was not made (a
 * timeout after the request was written, the connection reset, the answer cut off, a gateway's 502
 * or 504, a 500, a bare 503 a proxy may have answered, a 2xx naming no id of the provider's shape or
 * another account): the provider may have made it, so it is never made again — a
 * retry would text or ring the phone a second time, and the first call's keypress would find no
 * receipt. Like an e-mail handed over before the server answered (`smtpFailure`) it fails for good,
 * the alarm's next level brought forward; its recipient's receipt is `MAY_HAVE_BEEN_SENT`.
 */
export function mayHaveBeenSent(what: string, why: string): DoorstepError {
  return mayHaveBeenSentAfter(`${what}: ${why}`);
}

/** `mayHaveBeenSent`, after the words of what happened (`sms: HTTP 504`). */
function mayHaveBeenSentAfter(words: string): DoorstepError {
  return doorstepError('CHANNEL_REFUSED', `${words}; it ${MAY_HAVE_BEEN_SENT}, so it is not sent again`, {
    details: [MAY_HAVE_BEEN_SENT_DETAIL],
  });
}

function isMayHaveBeenSent(err: unknown): boolean {
  return isDoorstepError(err, 'CHANNEL_REFUSED') && err.details.includes(MAY_HAVE_BEEN_SENT_DETAIL);
}

/** The options of a failure whose request is known never to have been made (see `sendToEachOnce`). */
const neverMade = { details: [NEVER_MADE_DETAIL] } as const;

function isNeverMade(err: unknown): boolean {
  return isDoorstepError(err) && err.details.includes(NEVER_MADE_DETAIL);
}

/**
 * One POST to a channel's service, its failure read by `failureOf` like every outbound call: 401/403
 * is a configuration fault (never retried), another 4xx permanent, 429, 5xx and no answer transient.
 * A failure's error says the status and the provider's error code only (`failureWords`), never the
 * provider's text, which may quote the phone number or address it was sent to. One whose request is
 * known never to have been made — never written (`mayHaveLanded`), or answered with a status that
 * says it was not taken (`statusMayHaveLanded`; for a `once` request `answerMayHaveLanded`) — says so
 * (`isNeverMade`).
 */
export async function post(
  url: string,
  init: RequestInit,
  what: string,
  /** Statuses the caller reads itself (e.g. a push service's 404/410: the subscription is gone). */
  own: readonly number[] = [],
  /**
   * A request that sends something no one can take back (a text, a call): failing without an answer
   * once it may have been written (`mayHaveLanded`), or with an answer that may come after it was made
   * (`answerMayHaveLanded`: a gateway's 502 or 504, a 500, a 503 that is not the provider's own), is
   * `mayHaveBeenSent`, never retried.
   */
  options: { once?: boolean } = {},
): Promise<Response> {
  let res: Response;
  try {
    // Never followed (redirectTarget): a 3xx is refused below, as a misconfigured URL.
    res = await outboundFetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    const u = unreachable(err);
    // Our 10 s cover the connection too: one not made by then asked for nothing (retried as ever).
    // A trade-off taken knowingly: a POST written to a kept-alive connection the server had already
    // closed (its idle timeout just passed) fails as a reset once written, so it reads as "may have
    // been sent" although the server never read it. That errs toward no text or call made twice, at
    // the cost of that one person's text (the rest of the group are still sent to, and the ladder
    // moves on to its next level at once).
    const asked = mayHaveLanded(err);
    const why = u.timedOut ? `no ${asked ? 'answer' : 'connection'} within 10 s` : u.reason;
    if (options.once && asked) throw mayHaveBeenSent(what, `${why} after it was asked for`);
    throw doorstepError('CHANNEL_UNAVAILABLE', `${what}: ${why}`, {
      cause: err,
      ...(asked ? {} : neverMade),
    });
  }
  if (own.includes(res.status)) return res;
  const failure =
    failureOf(res, { refuse4xx: true }) ?? (res.status >= 300 ? { kind: 'refused' as const } : undefined);
  if (failure) {
    // Only the status and the provider's own error code: its text may quote the recipient.
    const text = await res.text().catch(() => '');
    const words = failureWords(what, res.status, text);
    // A 502 or 504 from a gateway in front of the provider once it passed the request on, a 500
    // thrown once the work was done, a bare 503 (a proxy's page: Envoy's "upstream connect error or
    // disconnect/reset before headers", Heroku's H12/H13) that may come after the provider took it:
    // the text may have gone. Retried, the phone could be texted again. A 503 in the provider's own
    // words (its error document, or a Retry-After) is the request not taken.
    const landed = options.once
      ? answerMayHaveLanded(res, { providerError: isProviderErrorDocument(text) })
      : statusMayHaveLanded(res.status);
    if (!landed) throw doorstepError(CHANNEL_ERROR[failure.kind], words, neverMade);
    if (options.once) throw mayHaveBeenSentAfter(words);
    throw doorstepError(CHANNEL_ERROR[failure.kind], words);
  }
  return res;
}

/** A recipient's key in the store: a hash of the notification and the address, never the address. */
export function recipientKey(notificationId: string, address: string): string {
  return createHash('sha256').update(`${notificationId}\n${address}`).digest('hex').slice(0, 32);
}

/** What an SMS channel keeps per recipient, so a retry never sends to someone twice. */
export interface RecipientReceipts {
  /** The receipts kept, by recipient key: one left `PLACING` past `PLACING_LEFT_MS` reads as `MAY_HAVE_BEEN_SENT`. */
  sent(notificationId: string): Promise<Map<string, string>>;
  /** A recipient's receipt, kept or replacing its `PLACING`. */
  record(notificationId: string, key: string, receipt: string): Promise<void>;
  /**
   * A recipient kept as `PLACING` before its text or call is asked for (false: it has a receipt
   * already, another try got there first), so a call that rings before the provider answers is
   * still known to its keypress. Absent: nothing is kept until the provider answers.
   */
  placing?(notificationId: string, key: string): Promise<boolean>;
  /** A `PLACING` recipient whose request is known never to have been made, removed (never one whose call took a keypress): a retry sends it. */
  forget?(notificationId: string, key: string): Promise<void>;
}

/** Receipts kept in memory only (a channel used once, e.g. in a test). */
export function memoryReceipts(): RecipientReceipts {
  const kept = new Map<string, Map<string, { receipt: string; at: number }>>();
  const of = (id: string) => kept.get(id) ?? kept.set(id, new Map()).get(id)!;
  return {
    sent: async (id) =>
      new Map(
        [...of(id)].map(([key, { receipt, at }]) => [
          key,
          receipt === PLACING && Date.now() - at > PLACING_LEFT_MS ? MAY_HAVE_BEEN_SENT : receipt,
        ]),
      ),
    record: async (id, key, receipt) => {
      const earlier = of(id).get(key);
      if (earlier === undefined || earlier.receipt === PLACING)
        of(id).set(key, { receipt, at: earlier?.at ?? Date.now() });
    },
    placing: async (id, key) => {
      if (of(id).has(key)) return false;
      of(id).set(key, { receipt: PLACING, at: Date.now() });
      return true;
    },
    forget: async (id, key) => {
      if (of(id).get(key)?.receipt === PLACING) of(id).delete(key);
    },
  };
}

/** The Twilio-compatible account's resource, read with its credentials: sends nothing to anyone. */
export async function checkTwilioAccount(
  kind: 'sms' | 'call',
  o: { baseUrl: string; accountSid: string; authToken: Secret },
): Promise<CheckResult> {
  const url = `${o.baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(o.accountSid)}.json`;
  try {
    const res = await fetch(url, {
      headers: { authorization: twilioBasicAuth(o) },
      redirect: 'manual',
      signal: AbortSignal.timeout(5000),
    });
    await res.body?.cancel();
    return res.status === 200
      ? {
          name: `channel:${kind}`,
          ok: true,
          detail: `${new URL(url).origin} accepted the account credentials`,
        }
      : { name: `channel:${kind}`, ok: false, detail: `${new URL(url).origin}: HTTP ${res.status}` };
  } catch (err) {
    return { name: `channel:${kind}`, ok: false, detail: (err as Error).message };
  }
}

/** HTTP Basic with the account SID and auth token, as Twilio's REST API authenticates. */
export function twilioBasicAuth(o: { accountSid: string; authToken: Secret }): string {
  return `Basic ${Buffer.from(`${o.accountSid}:${o.authToken.reveal()}`).toString('base64')}`;
}

/**
 * Each address of a notification sent once: one already sent (its receipt recorded) is not sent
 * again, nor one that may have been (`mayHaveBeenSent`: its receipt says so, and each try fails for
 * it again); one that fails never keeps the others from being tried now; the failure is thrown after
 * them all (a transient one first, so the notification is retried rather than given up on).
 *
 * Each is kept as `PLACING` before it is asked for (when the receipts keep it): a call rings as the
 * provider takes it, and its keypress must find it before the provider's answer comes. The answer's
 * id then replaces it; an answer that does not say it was not made (`mayHaveBeenSent`: none, a
 * gateway's 502 or 504, a 500, a bare 503, a 2xx naming no id of the provider's shape) makes it "may
 * have been sent"; only a failure known never to have made the request (`isNeverMade`: never
 * written, 429, a 503 in the provider's own words, a 3xx or 4xx refusal — in the status or in a 2xx's
 * error document —, a number refused before sending) removes it, so a
 * retry sends it (the store never removes one whose call was answered with a keypress). Any other
 * failure (the receipt not kept: the database away as the provider answered) leaves it `PLACING`.
 *
 * One found `PLACING` was left by a try that may still be under way — left alone, and retried — or,
 * past `PLACING_LEFT_MS`, by one that stopped without a word: may have been sent, failed for good.
 * The "left alone" failure says itself that it may have been sent: a try that stopped without a word
 * inside the notify job's retries (1 + 2 + 4 + 8 + 16 s) is found so by every later try, the last
 * included, and the last one's words are the notification's failure on the board and the timeline.
 * (Not a `PLACING_LEFT_MS` shorter than those retries: the row may be left by a late try — the fifth,
 * with 16 s of retries after it — while a live try needs its 10 s request and a 20 s send bound, so
 * no one age tells every left row from a live one in time; the words are true whichever it is.)
 */
export async function sendToEachOnce(
  channel: 'sms' | 'call',
  receipts: RecipientReceipts,
  notificationId: string,
  addresses: readonly string[],
  sendOne: (address: string) => Promise<string>,
): Promise<string[]> {
  const sent = await receipts.sent(notificationId);
  // Retried: the earlier try may yet have the provider's answer (kept) or learn it was never made
  // (removed, and sent by the retry); the last try fails with these words, which stay true.
  const underWay = () =>
    doorstepError(
      'CHANNEL_UNAVAILABLE',
      `${channel}: an earlier try asked the provider for it and its answer is not known; it may have been sent, so it is not sent again`,
    );
  // All at once (each bounded by the 10 s of `post`): a group's phones are reached together, and
  // the whole send stays well within its escalation step's claim however many there are.
  const results = await Promise.allSettled(
    addresses.map(async (address) => {
      const key = recipientKey(notificationId, address);
      const earlier = sent.get(key);
      // An earlier try that may have reached this one (no answer): not sent again, and still said
      // (kept so, when it was one left placing).
      if (earlier === MAY_HAVE_BEEN_SENT) {
        await receipts.record(notificationId, key, MAY_HAVE_BEEN_SENT);
        throw mayHaveBeenSent(channel, 'an earlier try had no answer');
      }
      if (earlier === PLACING) throw underWay();
      if (earlier !== undefined) return earlier;
      if (receipts.placing && !(await receipts.placing(notificationId, key))) throw underWay();
      let receipt: string;
      try {
        receipt = await sendOne(address);
      } catch (err) {
        // Kept as this recipient's receipt, so no retry of the others sends to them again.
        if (isMayHaveBeenSent(err)) await receipts.record(notificationId, key, MAY_HAVE_BEEN_SENT);
        // Known never made (never written, a refusal, a number refused): sent again by a retry.
        // Anything else leaves it placing, read in time as may have been sent.
        else if (isNeverMade(err)) await receipts.forget?.(notificationId, key);
        throw err;
      }
      await receipts.record(notificationId, key, receipt);
      return receipt;
    }),
  );
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (errors.length > 0) throw errors.find((e) => retryClassOf(e) === 'transient') ?? errors[0];
  return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
}

/**
 * The `To` a provider is given: the number read as E.164 (`e164`, the one reading of a typed number,
 * as accounts keep theirs) — a number as typed ("07700 900123", an MIS's "01632 960123") is refused
 * by Twilio (error 21211) and the person never gets the text. One that cannot be read as a phone is
 * this recipient refused for good, named by neither number nor group member: never posted as it is.
 */
export function dialNumber(channel: string, phone: string): string {
  const number = e164(phone);
  if (number === null)
    throw doorstepError(
      'CHANNEL_REFUSED',
      `${channel}: a number of the group cannot be read as a phone number (not sent to it)`,
      neverMade,
    );
  return number;
}

/**
 * A group's phones as they are sent to, each once: read as E.164 where it can be, so a phone's
 * receipt is kept under the number the provider dials (and reports, and a call's keypress names),
 * and a phone listed twice (a shared on-call mobile under two names, "07700 900001" and
 * "+447700900001") is texted and rung once, with one receipt — twice, the second call's id was lost
 * to the first's (one receipt per recipient key) and its keypress and outcome were never matched.
 * The one reading of a group's phones, for the SMS and call channels alike. One that cannot be read
 * is kept as given, to be refused alone by `dialNumber`.
 */
export function groupPhones(phones: readonly string[]): string[] {
  return [...new Set(phones.map((p) => e164(p) ?? p.trim()))];
}

/** What `twilioSid` reads of a Twilio-compatible answer (a JSON object; `{}` for any other). */
export interface TwilioAnswer {
  sid?: unknown;
  account_sid?: unknown;
  status?: unknown;
  code?: unknown;
}

/** A form POST to a resource of a Twilio-compatible account (`Messages.json`, `Calls.json`): its JSON answer. */
export async function postToTwilio(
  o: { baseUrl: string; accountSid: string; authToken: Secret },
  resource: 'Messages.json' | 'Calls.json',
  form: Record<string, string>,
  channel: string,
): Promise<TwilioAnswer> {
  const res = await post(
    `${o.baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(o.accountSid)}/${resource}`,
    {
      method: 'POST',
      headers: { authorization: twilioBasicAuth(o), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    },
    channel,
    [],
    { once: true },
  );
  // A 2xx whose answer was cut off (or not read within the request's 10 s): the text or call was
  // made, its id lost — never made again (`mayHaveBeenSent`). One read whole but not JSON (a proxy's
  // page), or past 64 KB, names no sid: `twilioSid` reads it.
  const text = await textWithin(res, 64 * 1024).catch((err: unknown) => {
    const u = unreachable(err);
    throw mayHaveBeenSent(
      channel,
      `HTTP ${res.status}, its answer ${u.timedOut ? 'not read within 10 s' : `cut off (${u.reason})`}`,
    );
  });
  try {
    const body: unknown = JSON.parse(text ?? '');
    return typeof body === 'object' && body !== null ? body : {};
  } catch {
    return {};
  }
}

/** Where the provider reports each message's delivery: `statusUrl`, else the inbound URL's `/status`. */
export function smsStatusUrl(o: { statusUrl?: string | undefined; inboundUrl?: string | undefined }) {
  return o.statusUrl ?? (o.inboundUrl ? `${o.inboundUrl.replace(/\/+$/, '')}/status` : undefined);
}

/**
 * SMS through a Twilio-compatible API (`POST …/2010-04-01/Accounts/{sid}/Messages.json`), one per
 * phone; each phone's receipt is kept as it is sent, so a retry after a failure part-way sends only
 * to the phones not yet reached.
 */
/** The SMS provider's settings the channel uses (Twilio-compatible Messages API). */
export interface SmsSettings {
  baseUrl: string;
  accountSid: string;
  authToken: Secret;
  from: string;
  replyPrompt?: string;
  statusUrl?: string | undefined;
  inboundUrl?: string | undefined;
}

export class SmsChannel implements Channel {
  readonly kind = 'sms';
  private readonly o: SmsSettings;
  private readonly phones: (group: string) => string[];
  private readonly receipts: RecipientReceipts;
  private readonly subjects: AlarmSubjects;

  constructor(
    o: SmsSettings,
    phones: (group: string) => string[],
    receipts: RecipientReceipts = memoryReceipts(),
    /**
     * The people an alarm is about (its wearer, the people on its visit), looked up as it is sent:
     * never texted (`notAboutThem`), except by the register's `visiting-staff` text, which carries no
     * reply code (they may not take or close their own alarm).
     */
    subjects: AlarmSubjects = async () => ({ userIds: [], phones: [] }),
  ) {
    this.o = o;
    this.phones = phones;
    this.receipts = receipts;
    this.subjects = subjects;
  }

  check(): Promise<CheckResult> {
    return checkTwilioAccount('sms', this.o);
  }

  /**
   * The alarm message, then how to answer it by reply (the alarm's code) — not to the `visiting-staff`
   * group (the people the alarm is about; no one else is ever texted about their own alarm).
   */
  private body(n: Notification, withCode: boolean): string {
    const prompt =
      this.o.replyPrompt && !n.notice && withCode
        ? ` ${replyPromptFor(this.o.replyPrompt, this.o.authToken.reveal(), n.alarmId)}`
        : '';
    return `${alarmMessage(n)}${prompt}`;
  }

  async send(n: Notification): Promise<DeliveryReceipt> {
    const group = n.target.split(':')[1] ?? '';
    const all = this.phones(group);
    if (all.length === 0)
      throw doorstepError('CONFIG_INVALID', `sms: no phone numbers in contacts group "${group}"`);
    const to = await notAboutThem('sms', n, group, groupPhones(all), phoneOf, this.subjects, VISITING_STAFF);
    const withCode = Boolean(this.o.replyPrompt) && !n.notice && group !== VISITING_STAFF;
    // Each phone once: one that failed part-way is retried from where it stopped.
    const statusCallback = smsStatusUrl(this.o);
    const ids = await sendToEachOnce('sms', this.receipts, n.id, to, async (phone) => {
      const body = await postToTwilio(
        this.o,
        'Messages.json',
        {
          To: dialNumber('sms', phone),
          From: this.o.from,
          Body: this.body(n, withCode),
          ...(statusCallback ? { StatusCallback: statusCallback } : {}),
        },
        'sms',
      );
      return twilioSid('sms', body, this.o.accountSid);
    });
    return { receipt: `sms ${ids.join(',')}` };
  }
}

/**
 * A failure an answer names inside its body (a 200 whose document says "HTTP 429"), read as that
 * status would be by `failureOf` — the one classifier; a status it does not name as a failure (none,
 * a 2xx) is the service unavailable: retried, then escalated.
 */
function namedFailure(named: number): (typeof CHANNEL_ERROR)[keyof typeof CHANNEL_ERROR] {
  const failure =
    named >= 400 ? failureOf({ status: named, headers: new Headers() }, { refuse4xx: true }) : undefined;
  return failure ? CHANNEL_ERROR[failure.kind] : 'CHANNEL_UNAVAILABLE';
}

/**
 * The shapes of the id a text's or call's answer may name, as Twilio publishes them: a Message's sid
 * is `SM` or `MM` and 32 hex digits (`^(SM|MM)[0-9a-fA-F]{32}$`, the pattern of error 90001,
 * https://www.twilio.com/docs/api/errors/90001; the Message resource,
 * https://www.twilio.com/docs/messaging/api/message-resource), a Call's `CA` and 32 hex digits
 * (every sid is a two-letter prefix and 32 hex digits, `CA` a Call's,
 * https://www.twilio.com/docs/glossary/what-is-a-sid; the Call resource,
 * https://www.twilio.com/docs/voice/api/call-resource) — or a UUID (RFC 9562's text form), a
 * compatible provider's. Any other (`ok`, `true`, an Account's `AC…`) names no message or call.
 */
const SID_SHAPE = { sms: /^(SM|MM)[0-9a-fA-F]{32}$/, call: /^CA[0-9a-fA-F]{32}$/ } as const;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * The id of the message or call a Twilio-compatible answer says it made, when it is shaped as one
 * (`SID_SHAPE`, or a UUID) and the answer is about our account (an `account_sid` it carries is the
 * one we asked as): kept as the recipient's receipt, which its delivery reports and call outcomes
 * name. (A call's keypress is matched by the notification and recipient its signed URL carries,
 * whatever the receipt: `handleCallKeypress`.) Kept, an id of any other shape would read as a phone
 * reached — "sent, not confirmed" on the board, never "no-one reached" — while no report ever
 * matched it: it is "may have been sent" instead.
 *
 * A 2xx without one is read by the status its error document names (`{"code": 20429, "status":
 * 429, …}`, answered with 200 by a proxy or a compatible provider), as `answerMayHaveLanded` reads
 * that status: a 4xx, or a 503 in the provider's own words (its numeric `code`), is the request not
 * taken (a 429 or 503 retried, another refused), never made. Any other — none named (a proxy's page,
 * an id of no known shape), a 5xx but such a 503, an answer naming another account — may have been
 * made: `mayHaveBeenSent`, never made again (a retry of a call placed under an id we could not read
 * rang the phone each time). One reading for the SMS and call channels: the same answer is never a
 * retry for one and a refusal for good for the other.
 */
export function twilioSid(channel: 'sms' | 'call', body: TwilioAnswer, accountSid: string): string {
  const what = channel === 'call' ? 'call' : 'message';
  if (body.account_sid !== undefined && body.account_sid !== null && body.account_sid !== accountSid)
    throw mayHaveBeenSentAfter(`${channel}: the provider answered about another account than ours`);
  const sid = typeof body.sid === 'string' ? body.sid : undefined;
  if (sid !== undefined && (SID_SHAPE[channel].test(sid) || UUID.test(sid))) return sid;
  const named = typeof body.status === 'number' && Number.isInteger(body.status) ? body.status : 0;
  const words = `${channel}: the provider answered without a ${what} sid${sid !== undefined ? ` (its id is not shaped as a ${what}'s)` : ''}${named ? ` (its answer names HTTP ${named})` : ''}`;
  const providerError = Number.isInteger(body.code);
  if (named >= 400 && !answerMayHaveLanded({ status: named, headers: new Headers() }, { providerError }))
    throw doorstepError(namedFailure(named), words, neverMade);
  throw mayHaveBeenSentAfter(words);
}

/**
 * A Teams incoming webhook (Office 365 connector) answers HTTP 200 even when it did not post: its
 * body then reads `Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP
 * error 429 …` (success is the body `1`; MicrosoftDocs/msteams-docs #1810, #7425). Such an answer is
 * the failure it names — 429 or 5xx retried, another refused — never "posted".
 */
export function teamsDeliveryFailure(text: string): Error | undefined {
  if (!/delivery failed/i.test(text.slice(0, 200))) return undefined;
  const named = Number(/HTTP error (\d{3})/i.exec(text)?.[1] ?? 0);
  return doorstepError(
    namedFailure(named),
    `teams: the webhook answered 200 but did not post${named ? ` (Teams returned HTTP ${named})` : ''}`,
  );
}

/**
 * Microsoft Teams or Google Chat incoming webhook: a JSON `{text}` post. The post's receipt is kept
 * (one per notification) once the webhook has answered 2xx, before `send` returns: a retry after the
 * receipt was written but the notification's "sent" was not (the database away a moment after it,
 * the process dying then) finds it and posts nothing again. Nothing is kept before the post: the
 * database away as the webhook answers (the receipt's write fails), or the process dying between the
 * answer and the write, leaves no receipt, and the retry posts again — a doubled alarm post, never
 * a lost one.
 */
export class ChatWebhookChannel implements Channel {
  readonly kind: 'teams' | 'google-chat';
  private readonly url: Secret;
  private readonly receipts: RecipientReceipts;

  constructor(kind: 'teams' | 'google-chat', url: Secret, receipts: RecipientReceipts = memoryReceipts()) {
    this.kind = kind;
    this.url = url;
    this.receipts = receipts;
  }

  check(): Promise<CheckResult> {
    // The URL is a credential: a redirect's target is shown by its origin only.
    return reachable(this.kind, this.url.reveal(), { secretUrl: true });
  }

  async send(n: Notification): Promise<DeliveryReceipt> {
    // The channel's one "recipient" (the chat space), keyed by the channel's kind.
    const key = recipientKey(n.id, this.kind);
    const earlier = (await this.receipts.sent(n.id)).get(key);
    if (earlier !== undefined) return { receipt: earlier };
    const res = await post(
      this.url.reveal(),
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: alarmMessage(n) }),
      },
      this.kind,
    );
    if (this.kind === 'teams') {
      // Read to a bound (a Teams answer is a word or a sentence): one without end is no known post.
      // Teams answers 200 for a post it did not make and says so only in the body, so a body that
      // could not be read (the connection cut after the status line) is no known post either:
      // retried, then escalated — never "posted".
      const text = await textWithin(res, 64 * 1024).catch((err: unknown) => {
        throw doorstepError(
          'CHANNEL_UNAVAILABLE',
          `teams: the webhook answered 200 but its answer could not be read (${unreachable(err).reason}): no known post`,
        );
      });
      if (text === null)
        throw doorstepError(
          'CHANNEL_UNAVAILABLE',
          'teams: the webhook answered 200 with more than 64 KB: no known post',
        );
      const failed = teamsDeliveryFailure(text);
      if (failed) throw failed;
    } else await res.body?.cancel();
    const receipt = `${this.kind} posted`;
    // Written after the post only: its write failing leaves the retry to post again (above).
    await this.receipts.record(n.id, key, receipt);
    return { receipt };
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
    // Notices and alarm notifications are numbered apart: each its own id (a receiver de-duplicating
    // on webhook-id must never drop notice 42 as a repeat of alarm notification 42) and its own type.
    const id = n.notice ? `notice_${n.id}` : `notification_${n.id}`;
    const ts = Math.floor(this.now().getTime() / 1000);
    const body = Buffer.from(
      JSON.stringify(
        n.notice
          ? {
              type: 'notice.created',
              noticeId: n.id,
              schoolId: n.schoolId,
              subject: n.notice.subject,
              message: alarmMessage(n),
            }
          : {
              type: 'alarm.escalated',
              alarmId: n.alarmId,
              schoolId: n.schoolId,
              step: n.step,
              alarmType: n.alarmType,
              deviceId: n.deviceId,
              staffId: n.staffId,
              message: alarmMessage(n),
            },
      ),
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
