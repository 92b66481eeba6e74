import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * One local server for the notification channels a test points a school at: the SMS provider's
 * Messages API (Twilio-compatible: form-encoded `To`, `Body`, …; answers 201 with a `sid`) under
 * `/2010-04-01/…`, and JSON webhooks (Teams, Google Chat) on any other path, kept by path.
 */
export async function startFakeChannels(): Promise<{
  url: string;
  sms: URLSearchParams[];
  posts: Map<string, { text?: string }[]>;
  close(): void;
}> {
  const sms: URLSearchParams[] = [];
  const posts = new Map<string, { text?: string }[]>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url?.startsWith('/2010-04-01/')) {
        sms.push(new URLSearchParams(body));
        res
          .writeHead(201, { 'content-type': 'application/json' })
          .end(JSON.stringify({ sid: `SM${String(sms.length).padStart(32, '0')}` }));
        return;
      }
      const list = posts.get(req.url ?? '') ?? [];
      list.push(JSON.parse(body));
      posts.set(req.url ?? '', list);
      res.writeHead(200).end('1');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sms,
    posts,
    close: () => server.close(),
  };
}
