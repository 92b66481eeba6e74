import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DoorstepConfig, SchoolConfig } from '../config/schema.ts';
import { findSchool } from '../config/school-of.ts';
import { doorstepError } from '../errors.ts';
import { verifyTwilioSignature } from '../notify/twilio-signature.ts';

export type TwilioRequest = FastifyRequest<{ Params: { school: string }; Body: Record<string, string> }>;

/** A scope that reads only the provider's form posts (up to 16 KiB) into name → value. */
export function acceptTwilioForms(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16_384 },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );
}

/**
 * The school, and the request's parameters once its `X-Twilio-Signature` verifies with the school's
 * SMS auth token for the URL the provider was given (`urlOf`; else this request's own). 404 for a
 * school without the channel the route serves, 401 (logged, without the request) when it does not verify.
 */
export function verifiedTwilioRequest(
  config: DoorstepConfig,
  req: TwilioRequest,
  urlOf: (school: SchoolConfig) => string | undefined | null,
  what: string,
): { school: SchoolConfig; params: Record<string, string> } {
  const school = findSchool(config, req.params.school);
  const sms = school?.channels.sms;
  const url = school && sms ? urlOf(school) : null;
  if (!school || !sms || url === null) throw doorstepError('NOT_FOUND', `no such school with ${what}`);
  const params = req.body ?? {};
  const signature = req.headers['x-twilio-signature'];
  if (
    !verifyTwilioSignature(
      sms.authToken.reveal(),
      typeof signature === 'string' ? signature : undefined,
      url ?? `${req.protocol}://${req.host}${req.url}`,
      params,
    )
  ) {
    req.log.warn(
      { school: school.id, route: req.routeOptions.url },
      `${what} webhook refused: signature does not verify`,
    );
    throw doorstepError('WEBHOOK_UNVERIFIED', 'the signature does not verify');
  }
  return { school, params };
}
