import * as z from 'zod';
import { httpsOrLocalUrl, type SecretField, settingId } from '../../core/settings.ts';

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

/** `channels`: notification channels; a target whose channel is not configured fails loudly. */
export function channelsSettings(secret: SecretField) {
  return z
    .strictObject({
      sms: z
        .strictObject({
          baseUrl: httpsOrLocalUrl.default('https://api.twilio.com'),
          accountSid: z.string().min(1),
          authToken: secret(),
          from: z.string().min(1),
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
          smtpUrl: z.url({ protocol: /^smtps?$/ }),
          username: z.string().optional(),
          password: secret().optional(),
          from: z.string().min(3),
        })
        .optional(),
      teams: z.strictObject({ url: secret() }).optional(),
      'google-chat': z.strictObject({ url: secret() }).optional(),
      webhook: z.strictObject({ url: httpsOrLocalUrl, secret: secret() }).optional(),
    })
    .default({});
}
