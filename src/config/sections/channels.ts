import * as z from 'zod';
import {
  checkedSecret,
  httpsOrLocalUrl,
  NO_ECHO,
  type SecretField,
  settingId,
  urlWithoutPassword,
  webhookSecret,
} from '../../core/settings.ts';
import { vapidPairProblem, vapidPairWords } from '../../core/vapid.ts';
import { e164 } from '../../domain/phone-key.ts';

/** Who escalation targets reach: `sms:on-call-leaders` → each phone in the group. */
export const contactsSettings = z
  .record(
    settingId,
    z.array(
      z.strictObject({
        name: z.string().min(1),
        phone: z
          .string()
          .regex(/^\+[1-9]\d{6,14}$/, { error: 'expected an E.164 phone number such as +447700900123' })
          .optional(),
        email: z.email().optional(),
      }),
    ),
  )
  .default({});

/**
 * An incoming-webhook address that is a credential (Teams, Google Chat): checked once resolved, as
 * https (plain http to this machine only: a local relay), never echoed — a URL that is not one
 * would otherwise surface only when an alarm is posted, or end `doorstep check` at "Invalid URL".
 */
function webhookUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "expected the incoming webhook's https URL (not shown: what is set is not a URL)";
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))
    return undefined;
  return `expected the incoming webhook's https URL (not shown: what is set is a ${url.protocol} URL; http only for localhost)`;
}

/**
 * A number alarms are texted or rung from (`channels.sms.from`, `channels.call.from`), however it is
 * typed ("07700 900999", "+44 7700 900999"), kept as E.164 — read by `e164`, the one reading of a
 * typed number, as every number posted to the provider is: Twilio refuses a `From` as typed (HTTP
 * 400), and every alarm text and call then fails. One that cannot be read as a phone number is
 * refused here, and so is a letter sender id (`Doorstep`): Twilio sends one-way texts from one in
 * the UK, but no one can reply to it — every alarm text asks for a reply (`replyPrompt`, which
 * cannot be turned off) — and a call never comes from one.
 */
export function senderNumber(kind: 'sms' | 'call') {
  return z.string().transform((typed, ctx) => {
    const number = e164(typed);
    if (number !== null) return number;
    const letters = /^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/.test(typed.trim());
    ctx.addIssue({
      code: 'custom',
      input: typed,
      message: letters
        ? kind === 'sms'
          ? "a letter sender id is not a phone number: no one can reply to a text from one, and every alarm text asks for a reply (replyPrompt) — give the provider's number texts are sent from, such as +447700900123"
          : "a letter sender id is not a phone number: a call is made from a number — give the provider's number calls are made from, such as +447700900123"
        : `cannot be read as a phone number: give the provider's number ${kind === 'sms' ? 'texts are sent' : 'calls are made'} from, such as +447700900123 or 07700 900123`,
    });
    return z.NEVER;
  });
}

/** `channels`: notification channels; a target whose channel is not configured fails loudly. */
export function channelsSettings(secret: SecretField) {
  return z
    .strictObject({
      sms: z
        .strictObject({
          baseUrl: httpsOrLocalUrl.default('https://api.twilio.com'),
          accountSid: z.string().min(1),
          authToken: secret(),
          /** The provider's number texts (and calls, without `channels.call.from`) come from: kept as E.164. */
          from: senderNumber('sms'),
          /**
           * What every alarm SMS ends with, `{code}` the alarm's reply code. A reply of 1 takes the
           * alarm, 2 says the worker is safe (POST /hooks/sms/<school>, verified with authToken).
           */
          replyPrompt: z
            .string()
            .min(1)
            .max(160)
            .refine((p) => p.includes('{code}'), { error: 'expected the prompt to contain {code}' })
            .default('Reply 1 {code} to take this alarm, 2 {code} when the worker is safe.'),
          /** The public URL the provider posts replies to, exactly as set there (it is signed). */
          inboundUrl: z.url({ protocol: /^https?$/ }).optional(),
          /**
           * The public URL the provider posts delivery reports to (each message's `StatusCallback`,
           * POST /hooks/sms/<school>/status, signed like replies); default: inboundUrl + `/status`.
           * Without either, no reports are asked for and an undelivered SMS waits for the next level.
           */
          statusUrl: z.url({ protocol: /^https?$/ }).optional(),
        })
        .optional(),
      email: z
        .strictObject({
          smtpUrl: urlWithoutPassword(/^smtps?$/, 'expected an smtp:// or smtps:// URL', 'password'),
          username: z.string().optional(),
          password: secret().optional(),
          from: z.string().min(3),
        })
        // A login is both or neither: one alone was dropped, and the server asked for none.
        .superRefine((e, ctx) => {
          if (e.username !== undefined && e.password === undefined)
            ctx.addIssue({
              code: 'custom',
              path: ['password'],
              params: { [NO_ECHO]: true },
              message:
                'required with username: the SMTP login is username and password (a secret, ${ENV_NAME} or file:/path); without it no login is sent',
            });
          if (e.password !== undefined && e.username === undefined)
            ctx.addIssue({
              code: 'custom',
              path: ['username'],
              params: { [NO_ECHO]: true },
              message:
                'required with password: the SMTP login is username and password; without it no login is sent',
            });
        })
        .optional(),
      teams: z.strictObject({ url: checkedSecret(secret, webhookUrlProblem) }).optional(),
      'google-chat': z.strictObject({ url: checkedSecret(secret, webhookUrlProblem) }).optional(),
      webhook: z.strictObject({ url: httpsOrLocalUrl, secret: webhookSecret(secret) }).optional(),
      // Ladder calls and Web Push (issue 21): their own blocks, below.
      call: callSettings.optional(),
      push: pushSettings(secret).optional(),
    })
    .superRefine((c, ctx) => {
      if (c.call && !c.sms)
        ctx.addIssue({
          code: 'custom',
          path: ['call'],
          message:
            'a call uses the account of channels.sms (baseUrl, accountSid, authToken): configure channels.sms',
        });
    })
    .default({});
}

/**
 * `channels.call`: a ladder target `call:<group>` rings each phone of the group through the
 * Twilio-compatible Calls API, on the account of `channels.sms`; the call speaks the alarm and
 * "press 1 to take this alarm". The provider posts the keypress to `<callbackUrl>/gather` and the
 * call's outcome to `<callbackUrl>/status` (both signed with the SMS auth token).
 */
export const callSettings = z.strictObject({
  /** The public URL of `POST /hooks/voice/<school>`, exactly as the provider will request it. */
  callbackUrl: z.url({ protocol: /^https?$/ }),
  /** The caller id, kept as E.164 (`senderNumber`); default channels.sms.from. */
  from: senderNumber('call').optional(),
  /** How long a phone rings before the call counts as not answered (the provider's `Timeout`). */
  ringSeconds: z.int().min(5).max(120).default(30),
  /** The language the message is spoken in (TwiML `<Say language>`). */
  language: z
    .string()
    .regex(/^[a-z]{2}-[A-Z]{2}$/, { error: 'expected a language such as en-GB' })
    .default('en-GB'),
});

/** The push services browsers use (Chrome/Edge/Android, Firefox, Windows, Safari/iOS). */
export const KNOWN_PUSH_SERVICES = [
  'https://fcm.googleapis.com',
  'https://*.push.services.mozilla.com',
  'https://*.notify.windows.com',
  'https://web.push.apple.com',
  'https://*.push.apple.com',
] as const;

/**
 * `channels.push`: Web Push (VAPID) to the browsers of signed-in office and safeguarding staff who
 * opted in on the board. Generate the key pair once for the trust (`npx web-push
 * generate-vapid-keys`) and give every school the same pair: a browser holds one subscription.
 */
export function pushSettings(secret: SecretField) {
  return z
    .strictObject({
      /** The VAPID public key (base64url, an uncompressed P-256 point): public, given to browsers. */
      publicKey: z.string().regex(/^[A-Za-z0-9_-]{87}$/, {
        error: 'expected a VAPID public key: 87 base64url characters (npx web-push generate-vapid-keys)',
      }),
      /** The VAPID private key: `${ENV}` or `file:` only. */
      privateKey: secret(),
      /** Who the push services contact about these pushes: `mailto:` or an https URL. */
      subject: z.string().regex(/^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+)$/, {
        error: 'expected mailto:someone@school.example or an https URL',
      }),
      /**
       * The push services a browser's subscription may point at (origins; `*.` matches any
       * sub-domain): Doorstep posts only there, so a subscription cannot aim it at another server.
       */
      services: z
        .array(z.url({ protocol: /^https?$/ }).or(z.string().regex(/^https:\/\/\*\.[a-z0-9.-]+$/)))
        .min(1)
        .default([...KNOWN_PUSH_SERVICES]),
      /** How long a push service keeps an undelivered push (seconds). */
      ttlSeconds: z.int().min(0).max(86_400).default(600),
    })
    .superRefine((p, ctx) => {
      const problem = vapidPairProblem(p.publicKey, p.privateKey.reveal());
      if (problem)
        ctx.addIssue({
          code: 'custom',
          path: ['privateKey'],
          input: '(secret)',
          params: { [NO_ECHO]: true },
          message: vapidPairWords(problem),
        });
    });
}
