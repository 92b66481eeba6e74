import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { SchoolConfig } from '../config/schema.ts';
import type { Check, CheckResult } from '../core/checks.ts';
import { describeError } from '../errors.ts';

type MqttTransport = Extract<SchoolConfig['fobs']['transports'][number], { kind: 'mqtt' }>;

/** A broker URL as it may be shown: scheme, host, port (and a WebSocket path), never credentials. */
export function describeMqttUrl(url: string): string {
  try {
    const u = new URL(url);
    const path = u.pathname && u.pathname !== '/' ? u.pathname : '';
    return `${u.protocol}//${u.host}${path}`;
  } catch {
    return 'an unparseable broker URL';
  }
}

/**
 * A client id no Doorstep transport uses: connecting with the transport's own id would take over its
 * session (and with it, alarms queued for it).
 */
export function throwawayClientId(): string {
  return `doorstep-check-${randomBytes(8).toString('hex')}`;
}

function describeMqttError(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (err instanceof Error && typeof code === 'number') {
    return `${err.message} (reason code 0x${code.toString(16).padStart(2, '0')})`;
  }
  return describeError(err);
}

/**
 * Connects once (no reconnects) with a clean, non-persistent session. Resolves when the broker
 * accepts the connection; rejects with its reason when it refuses, closes, or does not answer.
 */
function connectOnce(url: string, options: IClientOptions, timeoutMs: number): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const client = mqtt.connect(url, {
      ...options,
      clientId: throwawayClientId(),
      clean: true,
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
    });
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end(true);
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    client.once('connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(client);
    });
    // `on`, not `once`: a later error with no listener would throw.
    client.on('error', fail);
    client.on('close', () => fail(new Error('the broker closed the connection without accepting it')));
  });
}

function end(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.end(false, {}, () => resolve()));
}

function tlsFiles(t: MqttTransport, clientCertificate: boolean): IClientOptions {
  const tls = t.tls;
  return {
    ...(tls?.ca ? { ca: readFileSync(tls.ca) } : {}),
    ...(clientCertificate && tls?.cert ? { cert: readFileSync(tls.cert) } : {}),
    ...(clientCertificate && tls?.key ? { key: readFileSync(tls.key) } : {}),
  };
}

/**
 * Connects as the transport does (URL, username, password, TLS files) under a throwaway client id,
 * subscribes to its topic filters at QoS 1, and disconnects. The filters are subscribed as they are
 * written, never as `$share/doorstep/…`: joining Doorstep's shared group would divert alarms to this
 * short-lived client, whereas a plain subscription only receives copies.
 */
export function mqttCredentialsCheck(name: string, t: MqttTransport, timeoutMs = 5000): Check {
  return async (): Promise<CheckResult> => {
    const as = t.username ? ` as ${t.username}` : ' without a username';
    const shown = `${describeMqttUrl(t.url)}${as}`;
    let client: MqttClient | undefined;
    try {
      client = await connectOnce(
        t.url,
        {
          ...(t.username ? { username: t.username } : {}),
          ...(t.password ? { password: t.password.reveal() } : {}),
          ...tlsFiles(t, true),
        },
        timeoutMs,
      );
      const granted = await client.subscribeAsync(t.topics, { qos: 1 });
      const downgraded = granted.filter((g) => g.qos !== 1).map((g) => g.topic);
      if (downgraded.length > 0) {
        return {
          name,
          ok: false,
          detail: `${shown}: the broker granted less than QoS 1 for ${downgraded.join(', ')}, so alarms would not be redelivered`,
        };
      }
      return {
        name,
        ok: true,
        detail: `${shown}: connected and subscribed at QoS 1 to ${t.topics.join(', ')}`,
      };
    } catch (err) {
      return { name, ok: false, detail: `${shown}: ${describeMqttError(err)}` };
    } finally {
      if (client) await end(client);
    }
  };
}

/**
 * Tries the same broker with no username, password or client certificate. A broker that accepts it
 * is a warning, not a failure: anyone who can reach it can publish fob events and read them.
 */
export function mqttAnonymousCheck(name: string, t: MqttTransport, timeoutMs = 5000): Check {
  return async (): Promise<CheckResult> => {
    const shown = describeMqttUrl(t.url);
    let client: MqttClient;
    try {
      client = await connectOnce(t.url, tlsFiles(t, false), timeoutMs);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      // CONNACK refusals: 0x04/0x05 (MQTT 3.1.1), 0x86 bad credentials, 0x87 not authorised (MQTT 5).
      if (typeof code === 'number' && [0x04, 0x05, 0x86, 0x87].includes(code)) {
        return { name, ok: true, detail: `${shown} refuses anonymous clients (${describeMqttError(err)})` };
      }
      return {
        name,
        ok: true,
        warning: true,
        detail: `${shown}: could not test whether it accepts anonymous clients: ${describeMqttError(err)}`,
      };
    }
    await end(client);
    return {
      name,
      ok: true,
      warning: true,
      detail: `${shown} accepts anonymous clients: anyone who can reach it can publish fob events and read them; set allow_anonymous false with a password file and an ACL (see deploy/mosquitto)`,
    };
  };
}

/** Per MQTT transport of a school: its credentials and topics, and whether the broker lets anyone in. */
export function mqttChecks(school: SchoolConfig, timeoutMs = 5000): Check[] {
  const transports = school.fobs.transports.filter((t): t is MqttTransport => t.kind === 'mqtt');
  return transports.flatMap((t, i) => {
    const name = `${school.id} mqtt${transports.length > 1 ? `[${i}]` : ''}`;
    return [mqttCredentialsCheck(name, t, timeoutMs), mqttAnonymousCheck(`${name} anonymous`, t, timeoutMs)];
  });
}
