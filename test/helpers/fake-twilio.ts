import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Answers the request with a JSON body, as Twilio's REST API does. */
export type TwilioAnswer = (status: number, body: unknown) => void;
export type TwilioResource = 'Messages' | 'Calls';

/** What got through the front door: the resource and the form, with its required To and From. */
export interface TwilioRequest {
  resource: TwilioResource;
  form: URLSearchParams;
  to: string;
  from: string;
}

/**
 * A local Twilio REST API for tests, refusing what the published contract refuses at its front door
 * (https://www.twilio.com/docs/usage/api, …/messaging/api/message-resource,
 * …/voice/api/call-resource): only POST to /2010-04-01/Accounts/{AccountSid}/Messages.json or
 * Calls.json (404), HTTP Basic AccountSid:AuthToken (401, 20003), a form-encoded body (400) with
 * To and From (400, 21201). What each resource then checks, keeps and answers is the test's.
 */
export async function startFakeTwilio(options: {
  token: string;
  account?: string;
  handle: (request: TwilioRequest, answer: TwilioAnswer) => void;
}): Promise<{ server: Server; url: string }> {
  const account = options.account ?? 'AC1';
  const basic = `Basic ${Buffer.from(`${account}:${options.token}`).toString('base64')}`;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const answer: TwilioAnswer = (status, body) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const m = /^\/2010-04-01\/Accounts\/([^/]+)\/(Messages|Calls)\.json$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !m || m[1] !== account)
        return answer(404, { code: 20404, message: 'not found' });
      if (req.headers.authorization !== basic) return answer(401, { code: 20003, message: 'authenticate' });
      if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded'))
        return answer(400, { code: 21600, message: 'form expected' });
      const form = new URLSearchParams(raw);
      const to = form.get('To');
      const from = form.get('From');
      if (!to || !from) return answer(400, { code: 21201, message: 'To and From are required' });
      options.handle({ resource: m[2] as TwilioResource, form, to, from }, answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
