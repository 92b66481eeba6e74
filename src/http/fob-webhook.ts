import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { blacklineReply } from '../../connectors/fob/profiles/blackline.ts';
import { DEVICE_SIGNATURE_HEADER } from '../../connectors/fob/profiles/peoplesafe-style.ts';
import { acceptFobPayload } from '../alarms/accept.ts';
import { FeedLastEvent } from '../alarms/feed-last-event.ts';
import { noteOutcome } from '../alarms/fob-feeds.ts';
import type { IngestDeps } from '../alarms/ingest-types.ts';
import type { DoorstepConfig } from '../config/schema.ts';
import { findSchool } from '../config/school-of.ts';
import { sameSecret } from '../core/secret.ts';
import { verifyStandardWebhook } from '../core/standard-webhooks.ts';
import { ERRORS } from '../errors.ts';
import type { Logger } from '../log/logger.ts';

export interface FobWebhookOptions {
  config: DoorstepConfig;
  ingest: IngestDeps;
  now?: () => Date;
  /** How often at most a feed's status is written (`FEED_LAST_EVENT_EVERY_MS`; tests: 0). */
  feedWriteEveryMs?: number;
}

/**
 * `POST /hooks/fob/:school/:profile`: verified per Standard Webhooks against the raw body (or, for a
 * vendor that cannot sign, `POST /hooks/fob/:school/:profile/:token` by the token in the address), then
 * through `acceptFobPayload` (decode, device signature, assess, durable write) before any 2xx.
 * Verified first, over the bytes as they came: a verified message is never refused for its framing
 * (a body over the feed's `maxBytes` is raised unread, a content type other than JSON read as JSON).
 * 401 bad/stale signature, and for a request that does not verify 415 unless `application/json` and
 * 413 over the feed's `maxBytes`; 413 for any body over what is held at all (the largest feed's
 * limit, at least the server's 1 MiB), 200 for an exact redelivery (no second alarm), 202 accepted,
 * 422 naming the failing field, or an untrusted non-alarm event (the payload is kept in
 * rejected_events), 404 for a school or profile not configured.
 */

export async function registerFobWebhooks(app: FastifyInstance, options: FobWebhookOptions): Promise<void> {
  const now = options.now ?? (() => new Date());
  // What the body parser holds at all, before anything is verified: the server's own limit, or the
  // largest webhook's if larger. Above its feed's `maxBytes` a verified body is still taken (raised
  // unread): an SOS carrying a long message must not be refused for ever by its size alone.
  const maxBytes = Math.max(
    app.initialConfig.bodyLimit ?? 1024 * 1024,
    ...options.config.schools.flatMap((s) =>
      s.fobs.transports.filter((t) => t.kind === 'webhook').map((t) => t.maxBytes),
    ),
  );
  // Per school and profile: when its webhook last received anything, and whether every request is
  // refused (a secret rotated on one side only, a vendor's clock, a new format) — said on the data
  // page (never with what the caller sent).
  const feeds = new Map<string, FeedLastEvent>();
  const feedOf = (schoolId: string, profile: string) => {
    const transportKey = `webhook:${profile}`;
    let f = feeds.get(`${schoolId}\n${transportKey}`);
    if (!f) {
      f = new FeedLastEvent({
        db: options.ingest.db,
        schoolId,
        transportKey,
        log: app.log as unknown as Logger,
        ...(options.feedWriteEveryMs !== undefined ? { everyMs: options.feedWriteEveryMs } : {}),
      });
      feeds.set(`${schoolId}\n${transportKey}`, f);
    }
    return f;
  };
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // A content type that is no media type (Blackline's published "www-urlencoded-form") would be
    // refused by the body parser before any profile could take it: read as bytes, the handler decides.
    scope.addHook('onRequest', async (req) => {
      const given = req.headers['content-type'];
      if (given !== undefined && !MEDIA_TYPE.test(given))
        req.headers['content-type'] = 'application/octet-stream';
    });
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBytes }, (_req, body, done) =>
      done(null, body),
    );

    type Params = { school: string; profile: string; token?: string };
    const webhookOf = (params: Partial<Params>) => {
      const school = params.school === undefined ? undefined : findSchool(options.config, params.school);
      const transport = school?.fobs.transports.find(
        (t) => t.kind === 'webhook' && t.profile === params.profile,
      );
      return { school, transport };
    };
    // A body over what is held at all is refused by the body parser, before the handler: it
    // is counted against its feed like any other refusal (a vendor whose every alarm is too large
    // must show on the data page as a feed that refuses every message). Anything else goes on to the
    // app's own error handler.
    scope.setErrorHandler((err: Error & { code?: string }, req, reply) => {
      if (err.code !== 'FST_ERR_CTP_BODY_TOO_LARGE') throw err;
      const params = req.params as Partial<Params>;
      const { school, transport } = webhookOf(params);
      // Where the address carries the feed's token, only a request with the right one counts: a
      // stranger's oversized post must not make the feed look as if it refused every message.
      const counts =
        transport?.kind === 'webhook' &&
        (transport.verify === 'address-token'
          ? params.token !== undefined && sameSecret(params.token, transport.token!.reveal())
          : params.token === undefined);
      if (school && transport && counts)
        feedOf(school.id, transport.profile).refused(now(), `HTTP 413: over ${maxBytes} bytes`);
      return reply.code(413).send({
        code: ERRORS.PAYLOAD_TOO_LARGE.code,
        message: `over ${maxBytes} bytes`,
      });
    });

    const handle = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
      const { school, transport } = webhookOf(req.params);
      // A token in the address only where the webhook is verified by one (and none where it is not).
      if (
        !school ||
        !transport ||
        transport.kind !== 'webhook' ||
        (transport.verify === 'address-token') !== (req.params.token !== undefined)
      ) {
        return reply
          .code(404)
          .send({ code: ERRORS.NOT_FOUND.code, message: 'no such school or webhook profile' });
      }
      const type = String(req.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
        .toLowerCase();
      const feed = feedOf(school.id, transport.profile);
      // Blackline's push service says its JSON payload's content type is "www-urlencoded-form" (not a
      // media type): what it really sends is not published, so a Blackline push is taken whatever it
      // says — its token is what tells it, and the body is read as JSON either way. Refused for its
      // content type, every SOS it sends would be lost.
      const types = transport.profile === 'blackline' ? null : ['application/json'];
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      // Verified before anything else, over the bytes as they came (the signature is the sender's,
      // whatever the body's size or declared type).
      const verified =
        transport.verify === 'address-token'
          ? sameSecret(req.params.token ?? '', transport.token!.reveal())
            ? ({ ok: true, id: null } as const)
            : ({ ok: false, reason: "the address's token does not match" } as const)
          : verifyStandardWebhook(
              raw,
              req.headers,
              [
                transport.secret!.reveal(),
                ...(transport.previousSecret ? [transport.previousSecret.reveal()] : []),
              ],
              now(),
            );
      if (!verified.ok) {
        // Not verified: refused for its framing as ever, else as unverified — nothing of it is read.
        if (types && !types.includes(type)) {
          feed.refused(now(), `HTTP 415: not a content type this webhook takes (${types.join(' or ')})`);
          return reply.code(415).send({
            code: ERRORS.UNSUPPORTED_MEDIA_TYPE.code,
            message: `expected Content-Type: ${types.join(' or ')}`,
          });
        }
        if (raw.length > transport.maxBytes) {
          feed.refused(now(), `HTTP 413: ${raw.length} bytes, over ${transport.maxBytes}`);
          return reply
            .code(413)
            .send({ code: ERRORS.PAYLOAD_TOO_LARGE.code, message: `over ${transport.maxBytes} bytes` });
        }
        req.log.warn(
          { school: school.id, profile: transport.profile, reason: verified.reason },
          'webhook refused',
        );
        feed.refused(now(), 'HTTP 401: the signature (or the address token) does not verify');
        return reply.code(401).send({ code: ERRORS.WEBHOOK_UNVERIFIED.code, message: verified.reason });
      }
      // Verified, a message is never refused for its framing: every retry would get the same answer
      // and an SOS would be lost for good. A content type other than JSON (text/plain, a vendor's
      // +json, none at all) is read as JSON all the same, as Blackline's always is; a body over the
      // feed's `maxBytes` goes on unread, and `acceptFobPayload` raises it as a body that cannot be
      // read (as over MQTT: its first 4 KiB kept with the alarm).
      const sig = req.headers[DEVICE_SIGNATURE_HEADER];
      const receivedAt = now();
      const result = await acceptFobPayload(options.ingest, school, transport, raw, {
        receivedAt,
        source: verified.id,
        deviceId: null,
        signature: typeof sig === 'string' ? sig : null,
      });
      noteOutcome(feed, receivedAt, result);
      // Blackline's push expects the MD5 of the body for anything it sent that was kept — a refused
      // push too (kept in rejected_events): any other answer is sent again, for ever.
      if (transport.profile === 'blackline')
        return reply.code(200).type('text/plain').send(blacklineReply(raw));
      if (result.outcome === 'invalid')
        return reply.code(422).send({
          code: ERRORS.FOB_EVENT_INVALID.code,
          field: result.field,
          message: result.reason,
        });
      if (result.outcome === 'refused')
        return reply.code(422).send({ code: ERRORS.FOB_EVENT_UNTRUSTED.code, message: result.reason });
      return reply.code(result.outcome === 'duplicate' ? 200 : 202).send(result);
    };
    scope.post<{ Params: Params }>('/hooks/fob/:school/:profile', handle);
    scope.post<{ Params: Params }>('/hooks/fob/:school/:profile/:token', handle);
  });
}

/** A `type/subtype` media type, with or without parameters (what the body parser accepts). */
const MEDIA_TYPE = /^\s*[\w!#$&^.+-]+\/[\w!#$&^.+-]+\s*(;.*)?$/;
