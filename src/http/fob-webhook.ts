import { createHash, type Hash, type Hmac } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FobTransportConfig } from '../../connectors/fob/index.ts';
import { blacklineReplier } from '../../connectors/fob/profiles/blackline.ts';
import { DEVICE_SIGNATURE_HEADER } from '../../connectors/fob/profiles/peoplesafe-style.ts';
import { acceptFobPayload } from '../alarms/accept.ts';
import { FeedLastEvent } from '../alarms/feed-last-event.ts';
import { noteOutcome } from '../alarms/fob-feeds.ts';
import type { IngestDeps } from '../alarms/ingest-types.ts';
import type { DoorstepConfig } from '../config/schema.ts';
import { findSchool } from '../config/school-of.ts';
import { sameSecret } from '../core/secret.ts';
import { readWebhookHeaders, signatureMatches, webhookMac } from '../core/standard-webhooks.ts';
import { doorstepError, ERRORS } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { REJECTED_RAW_MAX_BYTES } from '../store/alarms.ts';

export interface FobWebhookOptions {
  config: DoorstepConfig;
  ingest: IngestDeps;
  now?: () => Date;
  /** How often at most a feed's status is written (`FEED_LAST_EVENT_EVERY_MS`; tests: 0). */
  feedWriteEveryMs?: number;
}

/**
 * The most of one webhook request read at all, verified or not: past the feed's `maxBytes` its bytes
 * are hashed and let go, never held, but a sender must not keep a request open for ever. A verified
 * SOS this large is refused for good (413) — far over anything a vendor sends.
 */
export const WEBHOOK_READ_MAX_BYTES = 16 * 1024 * 1024;

type Webhook = Extract<FobTransportConfig, { kind: 'webhook' }>;

/** What a request's head told, kept for its body and handler. */
interface Reading {
  school: DoorstepConfig['schools'][number];
  transport: Webhook;
  feed: FeedLastEvent;
  /** Verified by the address's token already, or by a signature the body's HMACs are to match. */
  check:
    | { kind: 'token' }
    | { kind: 'signature'; id: string; signatures: readonly Buffer[]; macs: readonly Hmac[] };
  /** Blackline's reply (the MD5 of the body), taken as the body comes. */
  replier: ReturnType<typeof blacklineReplier> | null;
  body?: WebhookBody;
}

/**
 * The body as it streams in: every chunk into the HMACs (and Blackline's MD5), counted, and only
 * the first `keep` bytes held — once over, only the first `REJECTED_RAW_MAX_BYTES` (what is kept of a
 * body that cannot be read) and its SHA-256 from then on. What it passes on, at its end, is what it
 * held. Over `WEBHOOK_READ_MAX_BYTES` it fails (413) and reads no more.
 */
class WebhookBody extends Transform {
  /** The bytes received (Fastify checks them against the declared Content-Length). */
  receivedEncodedLength = 0;
  #held: Buffer[] = [];
  #heldBytes = 0;
  #whole: Hash | null = null;

  readonly #keep: number;
  readonly #reading: Reading;

  constructor(keep: number, reading: Reading) {
    super();
    this.#keep = keep;
    this.#reading = reading;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.receivedEncodedLength += chunk.length;
    if (this.receivedEncodedLength > WEBHOOK_READ_MAX_BYTES) {
      done(doorstepError('PAYLOAD_TOO_LARGE', `over ${WEBHOOK_READ_MAX_BYTES} bytes`));
      return;
    }
    const { check, replier } = this.#reading;
    if (check.kind === 'signature') for (const mac of check.macs) mac.update(chunk);
    replier?.update(chunk);
    if (this.#whole) {
      this.#whole.update(chunk);
    } else {
      this.#held.push(chunk);
      this.#heldBytes += chunk.length;
      if (this.#heldBytes > this.#keep) {
        // Over the bound: not read, so not held — its digest tells a redelivery.
        this.#whole = createHash('sha256');
        for (const c of this.#held) this.#whole.update(c);
        this.#held = [Buffer.from(Buffer.concat(this.#held).subarray(0, REJECTED_RAW_MAX_BYTES))];
      }
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    done(null, Buffer.concat(this.#held));
  }

  #cut: { bytes: number; sha256: string } | undefined;

  /** Its whole length and SHA-256 where it was over the bound (only its start held), once it has ended. */
  cut(): { bytes: number; sha256: string } | undefined {
    if (this.#whole && !this.#cut)
      this.#cut = { bytes: this.receivedEncodedLength, sha256: this.#whole.digest('hex') };
    return this.#cut;
  }
}

/**
 * `POST /hooks/fob/:school/:profile`: verified per Standard Webhooks against the raw body (or, for a
 * vendor that cannot sign, `POST /hooks/fob/:school/:profile/:token` by the token in the address), then
 * through `acceptFobPayload` (decode, device signature, assess, durable write) before any 2xx.
 *
 * What can be refused from the request's head is, before any of its body is read: a school or
 * profile not configured (404), a wrong address token, Standard Webhooks headers missing, malformed
 * or outside the tolerance (401; 415 unless `application/json`, 413 if its declared length is over
 * the feed's `maxBytes`), a declared length over what is read at all (`WEBHOOK_READ_MAX_BYTES`: 413).
 * Anything else is verified as its body streams in — the HMAC (under each secret, the previous one
 * too while rotating) taken chunk by chunk, only the feed's `maxBytes` kept (its first 4 KiB once
 * over) — so a body of any size is verified without being held. A verified message is never refused
 * for its framing: a body over the feed's `maxBytes` is raised unread, a content type other than JSON
 * read as JSON. One whose signature does not match gets the refusals above (401/415/413) after its
 * body. 200 for an exact redelivery (no second alarm), 202 accepted, 422 naming the failing field, or
 * an untrusted non-alarm event (the payload is kept in rejected_events). A request refused is kept
 * nowhere.
 */
export async function registerFobWebhooks(app: FastifyInstance, options: FobWebhookOptions): Promise<void> {
  const now = options.now ?? (() => new Date());
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
  const readings = new WeakMap<FastifyRequest, Reading>();

  /**
   * A refusal. Where a body is still to come it is not read: the connection is closed after the
   * answer rather than kept for a next request behind the unread bytes.
   */
  const refuse = (req: FastifyRequest, reply: FastifyReply, status: number, body: object) => {
    if (!req.raw.complete) reply.header('connection', 'close');
    return reply.code(status).send(body);
  };
  /**
   * A request that does not verify: refused for its framing as ever (415 unless declared
   * `application/json`, 413 over the feed's `maxBytes`), else as unverified (401) — nothing of it read
   * or kept, each counted against its feed. `bytes`: its length where known (declared, or read).
   */
  const refuseUnverified = (
    req: FastifyRequest,
    reply: FastifyReply,
    r: Pick<Reading, 'school' | 'transport' | 'feed'>,
    bytes: number | undefined,
    reason: string,
  ) => {
    // Blackline's push service says its JSON payload's content type is "www-urlencoded-form" (not a
    // media type): what it really sends is not published, so a Blackline push is taken whatever it
    // says — its token is what tells it.
    const types = r.transport.profile === 'blackline' ? null : ['application/json'];
    if (types && !types.includes(mediaType(req))) {
      r.feed.refused(now(), `HTTP 415: not a content type this webhook takes (${types.join(' or ')})`);
      return refuse(req, reply, 415, {
        code: ERRORS.UNSUPPORTED_MEDIA_TYPE.code,
        message: `expected Content-Type: ${types.join(' or ')}`,
      });
    }
    if (bytes !== undefined && bytes > r.transport.maxBytes) {
      r.feed.refused(now(), `HTTP 413: ${bytes} bytes, over ${r.transport.maxBytes}`);
      return refuse(req, reply, 413, {
        code: ERRORS.PAYLOAD_TOO_LARGE.code,
        message: `over ${r.transport.maxBytes} bytes`,
      });
    }
    req.log.warn({ school: r.school.id, profile: r.transport.profile, reason }, 'webhook refused');
    r.feed.refused(now(), 'HTTP 401: the signature (or the address token) does not verify');
    return refuse(req, reply, 401, { code: ERRORS.WEBHOOK_UNVERIFIED.code, message: reason });
  };
  /** Over what is read at all: counted against its feed only where given (not a stranger's). */
  const tooLarge = (req: FastifyRequest, reply: FastifyReply, feed: FeedLastEvent | null) => {
    feed?.refused(now(), `HTTP 413: over ${WEBHOOK_READ_MAX_BYTES} bytes`);
    return refuse(req, reply, 413, {
      code: ERRORS.PAYLOAD_TOO_LARGE.code,
      message: `over ${WEBHOOK_READ_MAX_BYTES} bytes`,
    });
  };

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    type Params = { school: string; profile: string; token?: string };
    // Everything that can be told from the request's head, before any of its body is read.
    scope.addHook('onRequest', async (req, reply) => {
      // A content type that is no media type (Blackline's published "www-urlencoded-form") would be
      // refused by the body parser before any profile could take it: read as bytes, the handler decides.
      const given = req.headers['content-type'];
      if (given !== undefined && !MEDIA_TYPE.test(given))
        req.headers['content-type'] = 'application/octet-stream';
      const params = req.params as Partial<Params>;
      const school = params.school === undefined ? undefined : findSchool(options.config, params.school);
      const transport = school?.fobs.transports.find(
        (t): t is Webhook => t.kind === 'webhook' && t.profile === params.profile,
      );
      // A token in the address only where the webhook is verified by one (and none where it is not).
      if (!school || !transport || (transport.verify === 'address-token') !== (params.token !== undefined))
        return refuse(req, reply, 404, {
          code: ERRORS.NOT_FOUND.code,
          message: 'no such school or webhook profile',
        });
      const feed = feedOf(school.id, transport.profile);
      const header = req.headers['content-length'];
      const declared = header === undefined || !/^\d+$/.test(header) ? undefined : Number(header);
      const over = declared !== undefined && declared > WEBHOOK_READ_MAX_BYTES;
      let check: Reading['check'];
      if (transport.verify === 'address-token') {
        if (!sameSecret(params.token ?? '', transport.token!.reveal()))
          // A stranger's post over what is read at all must not make the feed look as if it refused
          // every message.
          return over
            ? tooLarge(req, reply, null)
            : refuseUnverified(
                req,
                reply,
                { school, transport, feed },
                declared,
                "the address's token does not match",
              );
        check = { kind: 'token' };
      } else {
        const head = readWebhookHeaders(req.headers, now());
        if (!head.ok) return refuseUnverified(req, reply, { school, transport, feed }, declared, head.reason);
        const secrets = [transport.secret!, ...(transport.previousSecret ? [transport.previousSecret] : [])];
        check = {
          kind: 'signature',
          id: head.id,
          signatures: head.signatures,
          macs: secrets.map((s) => webhookMac(s.reveal(), head.id, head.timestamp)),
        };
      }
      if (over) return tooLarge(req, reply, feed);
      const replier = transport.profile === 'blackline' ? blacklineReplier() : null;
      readings.set(req, { school, transport, feed, check, replier });
    });
    // The body verified as it comes, never held past the feed's bound (`WebhookBody`).
    scope.addHook('preParsing', async (req, _reply, payload) => {
      const reading = readings.get(req);
      if (!reading) return payload;
      const body = new WebhookBody(reading.transport.maxBytes, reading);
      payload.on('error', (err) => body.destroy(err));
      reading.body = body;
      return payload.pipe(body);
    });
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: WEBHOOK_READ_MAX_BYTES },
      (_req, body, done) => done(null, body),
    );
    // A body over what is read at all (`WebhookBody`) is counted against its feed like any other
    // refusal (a vendor whose every alarm is too large must show on the data page as a feed that
    // refuses every message) — only once its head has verified what it could (the address's token).
    // Anything else goes on to the app's own error handler.
    scope.setErrorHandler((err: Error & { code?: string }, req, reply) => {
      if (err.code !== ERRORS.PAYLOAD_TOO_LARGE.code && err.code !== 'FST_ERR_CTP_BODY_TOO_LARGE') throw err;
      return tooLarge(req, reply, readings.get(req)?.feed ?? null);
    });

    const handle = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
      const reading = readings.get(req);
      if (!reading) throw new Error('a fob webhook request was not read by its onRequest hook');
      const { school, transport, feed, check, replier } = reading;
      // Held: the body, or its start where it was over the feed's bound (`cut`). No body at all: none.
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const cut = reading.body?.cut();
      const bytes = cut?.bytes ?? raw.length;
      if (
        check.kind === 'signature' &&
        !check.macs.some((mac) => signatureMatches(check.signatures, mac.digest()))
      )
        return refuseUnverified(req, reply, reading, bytes, 'no signature matches');
      // Verified, a message is never refused for its framing: every retry would get the same answer
      // and an SOS would be lost for good. A content type other than JSON (text/plain, a vendor's
      // +json, none at all) is read as JSON all the same, as Blackline's always is; a body over the
      // feed's `maxBytes` goes on unread, and `acceptFobPayload` raises it as a body that cannot be
      // read (as over MQTT: its first 4 KiB kept with the alarm).
      const sig = req.headers[DEVICE_SIGNATURE_HEADER];
      const receivedAt = now();
      const result = await acceptFobPayload(options.ingest, school, transport, raw, {
        receivedAt,
        source: check.kind === 'signature' ? check.id : null,
        deviceId: null,
        signature: typeof sig === 'string' ? sig : null,
        ...(cut ? { cut } : {}),
      });
      noteOutcome(feed, receivedAt, result);
      // Blackline's push expects the MD5 of the body for anything it sent that was kept — a refused
      // push too (kept in rejected_events): any other answer is sent again, for ever.
      if (replier) return reply.code(200).type('text/plain').send(replier.reply());
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

/** The media type a request declares, lower case without parameters ('' for none). */
function mediaType(req: FastifyRequest): string {
  return String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
}

/** A `type/subtype` media type, with or without parameters (what the body parser accepts). */
const MEDIA_TYPE = /^\s*[\w!#$&^.+-]+\/[\w!#$&^.+-]+\s*(;.*)?$/;
