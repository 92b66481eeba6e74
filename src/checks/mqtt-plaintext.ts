import type { SchoolConfig } from '../config/schema.ts';

/**
 * A fob feed's broker reached over plain `mqtt://` or `ws://` (no TLS) at a host off this machine: the
 * broker password and every alarm (who, where) cross the network readable, and anyone on the path
 * could send an SOS or a check-in as the gateway. Said, with what to do (`mqtts://` or `wss://`). Not
 * refused: a broker on this machine (loopback) or a compose service (`mosquitto`, a single-label name
 * on the containers' own network) is fine in the clear. Only the scheme and host are named, never the
 * URL (it may carry a user name).
 */
export function mqttPlaintextGaps(s: SchoolConfig): string[] {
  const gaps: string[] = [];
  s.fobs.transports.forEach((t, i) => {
    if (t.kind !== 'mqtt' || !URL.canParse(t.url)) return;
    const url = new URL(t.url);
    const scheme = url.protocol.slice(0, -1);
    if (scheme !== 'mqtt' && scheme !== 'ws') return;
    const host = url.hostname.toLowerCase();
    if (onThisMachineOrCompose(host)) return;
    const secure = scheme === 'mqtt' ? 'mqtts' : 'wss';
    gaps.push(
      `fobs.transports[${i}] (mqtt) connects to ${host} over ${scheme}://, not encrypted: ${t.password ? 'its password and ' : ''}every alarm and check-in cross the network readable, and anyone on the way could change them — use ${secure}:// (with tls where the broker's certificate needs its own CA)`,
    );
  });
  return gaps;
}

/** A loopback host, or a bare single-label name (a compose service such as `mosquitto`). */
function onThisMachineOrCompose(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return true;
  if (host.startsWith('[')) return host === '[::1]';
  return /^[a-z0-9_-]+$/.test(host) && !/^\d+$/.test(host);
}
