import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
import { afterEach } from 'vitest';
import { Secret } from '../../src/core/secret.ts';

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

/** The provider account a text or call channel is given in tests, at `baseUrl`. */
export const twilioAccount = (baseUrl: string, replyPrompt = '') => ({
  baseUrl,
  accountSid: 'AC1',
  authToken: new Secret('tok', 'env:T'),
  from: '+447700900000',
  replyPrompt,
});

/**
 * A test file's bare provider, with no front door: `provider(act)` starts one that does `act` with each
 * request once read whole (given its `To`, and its count from 1), and gives the numbers it was asked
 * for and its URL; `stop()` closes it, as is done after each test.
 */
export function bareProviders() {
  let server: Server | undefined;
  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  };
  afterEach(stop);
  async function provider(act: (to: string, res: ServerResponse, i: number) => unknown) {
    const seen: string[] = [];
    const s = createServer(async (req, res) => {
      const to = new URLSearchParams(await text(req)).get('To')!;
      seen.push(to);
      void act(to, res, seen.length);
    });
    server = s;
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return { seen, url: `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
  }
  return { provider, stop };
}
