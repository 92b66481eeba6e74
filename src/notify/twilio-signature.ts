import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Twilio's request signature (`X-Twilio-Signature`), as its own clients compute it: base64 of
 * HMAC-SHA1, keyed by the account's auth token, over the full URL Twilio requested followed by every
 * POST parameter, sorted by name, as name + value with no delimiters (a repeated name: each value,
 * sorted, each once). See twilio-node `lib/webhooks/webhooks` and its spec's published vectors.
 */
export function twilioSignature(
  authToken: string,
  url: string,
  params: Readonly<Record<string, string | readonly string[]>>,
): string {
  const data = Object.keys(params)
    .sort()
    .map((k) => {
      const v = params[k]!;
      return typeof v === 'string'
        ? `${k}${v}`
        : [...new Set(v)]
            .sort()
            .map((x) => `${k}${x}`)
            .join('');
    })
    .join('');
  return createHmac('sha1', authToken)
    .update(url + data)
    .digest('base64');
}

/**
 * The URL as given, without its port, and with its port (the scheme's default when it names none):
 * Twilio may sign any of them, and its own client tries both forms. A URL that spells out its
 * scheme's default port ("https://host:443/…") is read by `new URL` without it (`port` is empty), so
 * the two forms are built from the parts, never from whether `port` is set. None for text that is
 * no URL (a request's own Host header, say, when no public URL is configured): nothing Twilio
 * signed, so the request is refused as unsigned rather than failing.
 */
function urlVariants(url: string): string[] {
  if (!URL.canParse(url)) return [];
  const u = new URL(url);
  const port = u.port || (u.protocol === 'https:' ? '443' : u.protocol === 'http:' ? '80' : '');
  const auth = u.username ? `${u.username}${u.password ? `:${u.password}` : ''}@` : '';
  const at = (p: string) => `${u.protocol}//${auth}${u.hostname}${p ? `:${p}` : ''}${u.pathname}${u.search}`;
  return [...new Set([url, at(''), ...(port ? [at(port)] : [])])];
}

/** Whether the signature is Twilio's for this URL and these parameters (constant-time compare). */
export function verifyTwilioSignature(
  authToken: string,
  signature: string | undefined,
  url: string,
  params: Readonly<Record<string, string | readonly string[]>>,
): boolean {
  if (!signature) return false;
  const given = Buffer.from(signature);
  return urlVariants(url).some((u) => {
    const expected = Buffer.from(twilioSignature(authToken, u, params));
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
}
