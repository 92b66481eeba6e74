import type { FastifyInstance } from 'fastify';
import {
  handleCallKeypress,
  handleCallStatus,
  isFinalCallStatus,
  type KeypressOutcome,
} from '../alarms/call-answers.ts';
import { alarmReach } from '../config/school-of.ts';
import { doorstepError } from '../errors.ts';
import { callUrls } from '../notify/call-channel.ts';
import { answerTwiml } from '../notify/call-twiml.ts';
import type { SmsWebhookOptions } from './sms-webhook.ts';
import { acceptTwilioForms, verifiedTwilioRequest } from './twilio-webhook.ts';

const WORDS: Record<Exclude<KeypressOutcome, 'not-understood'>, string> = {
  taken:
    'The alarm is yours. Call the worker now, and close the alarm on the Doorstep board when they are safe. Goodbye.',
  'already-taken': 'Someone else has already taken this alarm. Goodbye.',
  'already-resolved': 'This alarm is already closed. Goodbye.',
  replay: 'This alarm was already taken on this call. Goodbye.',
  'unknown-call': 'This call is not known to Doorstep. Use the Doorstep board. Goodbye.',
  stale: 'This call is too old to take the alarm. Use the Doorstep board. Goodbye.',
  'unknown-number': 'This phone is not on a Doorstep account. Use the Doorstep board. Goodbye.',
  'not-your-school': 'This alarm is not at your school. Goodbye.',
  'shared-number':
    'This phone is on more than one Doorstep account at the school, so who answered cannot be told. Use the Doorstep board. Goodbye.',
  'not-allowed':
    'Your Doorstep account cannot take alarms; only office or safeguarding staff can. Use the Doorstep board or call the office. Goodbye.',
  'own-alarm':
    'This alarm is about you, so it cannot be taken from your phone. The office will contact you. Goodbye.',
};

/**
 * The keypress URL's query as the provider requested it (`?n=…&r=…`, `gatherUrlFor`): part of the URL
 * it signs, so the signature is checked over the gather URL with it.
 */
function queryOf(url: string): string {
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at);
}

/** The notification and recipient a signed keypress URL names, when it names them well-formed. */
function placedOf(query: string): { notificationId: string; recipientKey: string } | undefined {
  const q = new URLSearchParams(query);
  const n = q.get('n');
  const r = q.get('r');
  return n && r && /^\d{1,19}$/.test(n) && /^[0-9a-f]{32}$/.test(r)
    ? { notificationId: n, recipientKey: r }
    : undefined;
}

/**
 * `POST /hooks/voice/:school/gather` and `/status`: the provider's callbacks of a ladder call (the
 * `<Gather>` action with `CallSid`, `To`, `Digits`; the `StatusCallback` with `CallSid`, `CallStatus`),
 * verified with `X-Twilio-Signature` exactly as the SMS webhook is (the SMS auth token; the URLs of
 * `channels.call.callbackUrl`). 401 when the signature does not verify, 404 for a school without
 * calls; the gather answers TwiML, the status 204. The gather URL carries the call's notification and
 * recipient (`gatherUrlFor`), signed with it: the call is matched by them, whatever its id.
 */
export async function registerVoiceWebhook(app: FastifyInstance, options: SmsWebhookOptions): Promise<void> {
  const now = options.now ?? (() => new Date());
  await app.register(async (scope) => {
    acceptTwilioForms(scope);
    scope.post<{ Params: { school: string }; Body: Record<string, string> }>(
      '/hooks/voice/:school/gather',
      async (req, reply) => {
        const query = queryOf(req.url);
        const { school, params } = verifiedTwilioRequest(
          options.config,
          req,
          (s) => (s.channels.call ? `${callUrls(s.channels.call).gather}${query}` : null),
          'calls',
        );
        const { CallSid: callSid, To: to, Digits: digits } = params;
        if (!callSid || !to || digits === undefined)
          throw doorstepError('BAD_REQUEST', 'expected CallSid, To and Digits');
        const r = await handleCallKeypress(
          { db: options.db, config: options.config, tell: options.tell },
          school,
          {
            callSid: callSid.slice(0, 64),
            to: to.slice(0, 32),
            digits: digits.slice(0, 8),
            placed: placedOf(query),
          },
          now(),
        );
        const call = school.channels.call!;
        if (r.outcome !== 'taken' && r.outcome !== 'not-understood')
          req.log.warn({ school: school.id, alarm: r.alarmId, outcome: r.outcome }, 'call keypress refused');
        const twiml =
          r.outcome === 'not-understood'
            ? answerTwiml({
                words: 'That key does nothing.',
                language: call.language,
                askAgain: { gatherUrl: `${callUrls(call).gather}${query}` },
              })
            : answerTwiml({ words: WORDS[r.outcome], language: call.language });
        return reply.type('text/xml').send(twiml);
      },
    );
    scope.post<{ Params: { school: string }; Body: Record<string, string> }>(
      '/hooks/voice/:school/status',
      async (req, reply) => {
        const { school, params } = verifiedTwilioRequest(
          options.config,
          req,
          (s) => (s.channels.call ? callUrls(s.channels.call).status : null),
          'calls',
        );
        const { CallSid: callSid, CallStatus: status } = params;
        if (!callSid || !status) throw doorstepError('BAD_REQUEST', 'expected CallSid and CallStatus');
        // Progress (queued, initiated, ringing, in-progress) is not news.
        if (!isFinalCallStatus(status)) return reply.code(204).send();
        const r = await handleCallStatus(
          { db: options.db, producer: options.producer, tell: options.tell },
          alarmReach(options.config, school.id),
          { callSid: callSid.slice(0, 64), status },
          now(),
        );
        if (r.alarmId && status !== 'completed')
          req.log.warn(
            { school: school.id, alarm: r.alarmId, status, fallback: r.fallback },
            'call not answered',
          );
        return reply.code(204).send();
      },
    );
  });
}
