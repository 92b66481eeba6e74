import type { FastifyInstance } from 'fastify';
import { handleDeliveryReport } from '../alarms/delivery-fallback.ts';
import { handleSmsReply } from '../alarms/sms-replies.ts';
import type { DoorstepConfig, SmsSettingsConfig } from '../config/schema.ts';
import { alarmReach } from '../config/school-of.ts';
import { doorstepError } from '../errors.ts';
import { smsStatusUrl } from '../notify/http-channels.ts';
import type { DoorstepCatalog } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';
import type { BoardTell } from '../store/board.ts';
import type { Db } from '../store/db.ts';
import { acceptTwilioForms, type TwilioRequest, verifiedTwilioRequest } from './twilio-webhook.ts';

export interface SmsWebhookOptions {
  config: DoorstepConfig;
  db: Db;
  tell?: BoardTell;
  now?: () => Date;
  /** Queues the next level when a delivery report says an SMS did not arrive. */
  producer: Producer<DoorstepCatalog>;
}

/** The provider's final delivery states (others — queued, sending, sent — are progress, not news). */
const FINAL = new Set(['delivered', 'undelivered', 'failed']);

const xml = (s: string) =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

/**
 * `POST /hooks/sms/:school`: the SMS provider's inbound-message webhook (Twilio's form fields
 * `MessageSid`, `From`, `Body`), verified with `X-Twilio-Signature` against the school's SMS auth
 * token and the URL the provider was given (`channels.sms.inboundUrl`, else this request's own).
 * 401 when the signature does not verify, 404 for a school without SMS; otherwise 200 with a TwiML
 * reply that tells the person what happened.
 */
export async function registerSmsWebhook(app: FastifyInstance, options: SmsWebhookOptions): Promise<void> {
  const now = options.now ?? (() => new Date());
  await app.register(async (scope) => {
    acceptTwilioForms(scope);
    scope.post<{ Params: { school: string }; Body: Record<string, string> }>(
      '/hooks/sms/:school',
      async (req, reply) => {
        const { school, params } = verified(req, (sms) => sms.inboundUrl);
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
    // The provider's delivery report of a message it was given (the `StatusCallback` of each SMS):
    // `MessageSid`, `MessageStatus`, `ErrorCode`, `To`…, signed like a reply. 204 once kept (or
    // ignored: a progress state, a message no alarm sent); an undelivered one moves the alarm on.
    scope.post<{ Params: { school: string }; Body: Record<string, string> }>(
      '/hooks/sms/:school/status',
      async (req, reply) => {
        const { school, params } = verified(req, (sms) => smsStatusUrl(sms));
        const { MessageSid: messageSid, MessageStatus: status, ErrorCode: errorCode } = params;
        if (!messageSid || !status)
          throw doorstepError('BAD_REQUEST', 'expected MessageSid and MessageStatus');
        if (!FINAL.has(status)) return reply.code(204).send();
        const r = await handleDeliveryReport(
          { db: options.db, producer: options.producer, tell: options.tell },
          alarmReach(options.config, school.id),
          {
            messageId: messageSid.slice(0, 64),
            status: status as 'delivered' | 'undelivered' | 'failed',
            errorCode: errorCode ? errorCode.slice(0, 16) : null,
          },
          now(),
        );
        if (r.notification && status !== 'delivered')
          req.log.warn(
            {
              school: school.id,
              alarm: r.notification.alarmId,
              notification: r.notification.notificationId,
              status,
              errorCode,
              fallback: r.fallback,
            },
            'sms not delivered',
          );
        return reply.code(204).send();
      },
    );
  });

  /** The school and the verified parameters (see verifiedTwilioRequest): the SMS channel's URLs. */
  function verified(req: TwilioRequest, urlOf: (sms: SmsSettingsConfig) => string | undefined) {
    return verifiedTwilioRequest(options.config, req, (s) => urlOf(s.channels.sms!), 'an SMS channel');
  }
}
