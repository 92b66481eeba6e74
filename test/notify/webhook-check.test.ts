import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/core/secret.ts';
import type { Notification } from '../../src/notify/channel.ts';
import { ChatWebhookChannel, SignedWebhookChannel } from '../../src/notify/http-channels.ts';

/**
 * A connection test says what a send would meet: it passes only where a post could land. Each
 * answer below is given to a HEAD (the check) and a POST (a send) alike.
 */
const ANSWERS: Record<string, [number, Record<string, string>]> = {
  '/moved': [301, { location: '/new-hook?token=QUERYSECRET' }],
  '/teams-moved': [308, { location: 'https://other.example.test/webhookb2/PATHSECRET' }],
  '/gone': [404, {}],
  '/removed': [410, {}],
  '/no-head': [405, {}],
  '/hook': [200, {}],
};

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    const [status, headers] = ANSWERS[path] ?? [500, {}];
    // A receiver that refuses HEAD still takes the POST.
    if (path === '/no-head' && req.method === 'POST') return res.writeHead(200).end();
    res.writeHead(status, headers).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

const n: Notification = {
  id: '1',
  alarmId: '1',
  schoolId: 'alpha',
  step: 0,
  target: 'webhook',
  alarmType: 'sos',
  deviceId: null,
  staffId: null,
};
const webhook = (path: string) =>
  new SignedWebhookChannel({
    url: `${base}${path}`,
    secret: new Secret(`whsec_${Buffer.alloc(32, 'w').toString('base64')}`, 'env:W'),
  });
const teams = (url: string) => new ChatWebhookChannel('teams', new Secret(url, 'env:TEAMS_URL'));
const sent = (p: Promise<unknown>) =>
  p.then(
    () => true,
    () => false,
  );

describe('webhook, Teams and Google Chat connection tests', () => {
  it('fail on a redirect (never followed by a send), saying where it points: origin and path only', async () => {
    const check = await webhook('/moved').check();
    expect(check).toEqual({
      name: 'channel:webhook',
      ok: false,
      detail: `${base} answered HTTP 301, moved to ${base}/new-hook: a post is never redirected, so every message would fail — set channels.webhook.url to where it moved`,
    });
    expect(check.detail).not.toContain('QUERYSECRET');
    expect(await sent(webhook('/moved').send(n))).toBe(false);
  });

  it('show a redirect of a URL that is a credential (Teams, Google Chat) by its origin alone', async () => {
    const check = await teams(`${base}/teams-moved`).check();
    expect(check).toMatchObject({
      ok: false,
      detail: `${base} answered HTTP 308, moved to https://other.example.test: a post is never redirected, so every message would fail — set channels.teams.url to where it moved`,
    });
    expect(check.detail).not.toContain('PATHSECRET');
  });

  it('fail on 404 and 410: no webhook there', async () => {
    for (const [path, status] of [
      ['/gone', 404],
      ['/removed', 410],
    ] as const) {
      expect(await webhook(path).check()).toEqual({
        name: 'channel:webhook',
        ok: false,
        detail: `${base} answered HTTP ${status}: no webhook at this URL (removed, or mistyped) — every message would fail; check channels.webhook.url`,
      });
      expect(await sent(webhook(path).send(n))).toBe(false);
    }
  });

  it('pass on 405 (a receiver may refuse HEAD) and 200', async () => {
    expect(await webhook('/no-head').check()).toMatchObject({
      ok: true,
      detail: `${base} answered (HTTP 405); nothing was posted`,
    });
    expect(await sent(webhook('/no-head').send(n))).toBe(true);
    expect(await teams(`${base}/hook`).check()).toMatchObject({ ok: true, name: 'channel:teams' });
  });

  it('report a URL that is not one as a failed check, never throwing and never showing it', async () => {
    const check = await teams('hooks.example.com/webhookb2/SECRETTOKEN').check();
    expect(check).toEqual({
      name: 'channel:teams',
      ok: false,
      detail: 'channels.teams.url is not a URL (not shown): expected an https URL',
    });
  });
});
