import type { FastifyInstance } from 'fastify';
import { handleSmsReply } from '../alarms/sms-replies.ts';
import type { DoorstepConfig } from '../config/schema.ts';
import { findSchool } from '../config/school-of.ts';
import { doorstepError } from '../errors.ts';
import { verifyTwilioSignature } from '../notify/twilio-signature.ts';
import type { BoardTell } from '../store/board.ts';
import type { Db } from '../store/db.ts';

export interface SmsWebhookOptions {
  config: DoorstepConfig;
  db: Db;
  tell?: BoardTell;
  now?: () => Date;
}

const xml = (s: string) =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

/**
 * `POST /hooks/sms/:school`: the SMS provider's inbound-message webhook (Twilio's form fields
 * `MessageSid`, `From`, `Body`), verified with `X-Twilio-Signature` against the school's SMS auth
 * token and the URL the provider was given (`channels.sms.inboundUrl`, else this request's own).
 * 403 when the signature does not verify, 404 for a school without SMS; otherwise 200 with a TwiML
 * reply that tells the person what happened.
 */
export async function registerSmsWebhook(app: FastifyInstance, options: SmsWebhookOptions): Promise<void> {
  const now = options.now ?? (() => new Date());
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 16_384 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );
    scope.post<{ Params: { school: string }; Body: Record<string, string> }>(
      '/hooks/sms/:school',
      async (req, reply) => {
        const school = findSchool(options.config, req.params.school);
        const sms = school?.channels.sms;
        if (!school || !sms) throw doorstepError('NOT_FOUND', 'no such school with an SMS channel');
        const params = req.body ?? {};
        const url = sms.inboundUrl ?? `${req.protocol}://${req.host}${req.url}`;
        const signature = req.headers['x-twilio-signature'];
        if (
          !verifyTwilioSignature(
            sms.authToken.reveal(),
            typeof signature === 'string' ? signature : undefined,
            url,
            params,
          )
        ) {
          req.log.warn({ school: school.id }, 'sms reply refused: signature does not verify');
          throw doorstepError('WEBHOOK_UNVERIFIED', 'the signature does not verify');
        }
        const { MessageSid: messageSid, From: from, Body: body } = params;
        if (!messageSid || !from || body === undefined)
          throw doorstepError('BAD_REQUEST', 'expected MessageSid, From and Body');
        const r = await handleSmsReply(
          { db: options.db, config: options.config, ...(options.tell ? { tell: options.tell } : {}) },
          school,
          { messageSid, from, body: body.slice(0, 320) },
          now(),
        );
        return reply
          .type('text/xml')
          .send(
            `<?xml version="1.0" encoding="UTF-8"?><Response>${r.answer ? `<Message>${xml(r.answer)}</Message>` : ''}</Response>`,
          );
      },
    );
  });
}
