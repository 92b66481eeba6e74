/**
 * Whether a browser's push endpoint points at one of the push services a school allows (origins;
 * `https://*.example` matches any sub-domain of example). An endpoint comes from a browser, so it is
 * hostile until it passes: Doorstep posts only to the services named, never to any URL it is given.
 */
export function pushServiceAllowed(endpoint: string, services: readonly string[]): boolean {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    return false;
  }
  if (u.username || u.password || endpoint.length > 2048) return false;
  return services.some((s) => {
    const wild = /^https:\/\/\*\.(.+)$/.exec(s);
    if (wild) return u.protocol === 'https:' && !u.port && u.hostname.endsWith(`.${wild[1]!.toLowerCase()}`);
    return new URL(s).origin === u.origin;
  });
}

/** A base64url value that decodes to exactly `bytes` bytes (and, for a P-256 point, starts with 4). */
export function base64urlOfLength(value: string, bytes: number, point = false): boolean {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(value)) return false;
  const raw = Buffer.from(value, 'base64url');
  return raw.length === bytes && (!point || raw[0] === 4);
}
