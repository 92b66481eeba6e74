import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../helpers/spawn.ts';

export const DEPLOY = resolve(import.meta.dirname, '../../deploy/mosquitto');

/** Whether the Mosquitto broker is installed on this machine. */
export function mosquittoInstalled(): boolean {
  try {
    execFileSync('mosquitto', ['-h'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // `mosquitto -h` prints its usage and exits 3; only a missing binary is ENOENT.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * The shipped config with only its ports and paths rewritten: both listeners onto free private
 * ports on 127.0.0.1, and /mosquitto/secrets and /mosquitto/data into `dir`. Throws when the
 * shipped file no longer has the lines this rewrite expects, so the test cannot pass vacuously.
 */
export function rewriteShippedConfig(
  conf: string,
  o: { plainPort: number; tlsPort: number; secrets: string; data: string },
): string {
  let plain = 0;
  let tls = 0;
  const lines = conf.split('\n').map((line) => {
    if (/^listener 1883\s*$/.test(line)) {
      plain++;
      return `listener ${o.plainPort} 127.0.0.1`;
    }
    if (/^listener 8883\s*$/.test(line)) {
      tls++;
      return `listener ${o.tlsPort} 127.0.0.1`;
    }
    return line
      .replaceAll('/mosquitto/secrets/', `${o.secrets}/`)
      .replaceAll('/mosquitto/data/', `${o.data}/`);
  });
  const out = lines.join('\n');
  if (plain !== 1 || tls !== 1) {
    throw new Error(`deploy/mosquitto/mosquitto.conf: expected one "listener 1883" and one "listener 8883"`);
  }
  const left = out.split('\n').find((l) => !l.startsWith('#') && l.includes('/mosquitto/'));
  if (left) throw new Error(`deploy/mosquitto/mosquitto.conf: a path this test does not rewrite: ${left}`);
  return out;
}

export interface ShippedBroker {
  plainUrl: string;
  tlsUrl: string;
  caFile: string;
  /** Doorstep's user and the gateways' users, with the passwords the shipped scripts generated. */
  doorstep: { username: string; password: string; passwordFile: string };
  gateway: (school: string) => { username: string; password: string };
  pid: number;
  stop: () => Promise<void>;
}

function run(script: string, args: string[], env: Record<string, string>): string {
  return execFileSync(join(DEPLOY, script), args, { env: { ...process.env, ...env }, encoding: 'utf8' });
}

async function accepting(port: number): Promise<boolean> {
  return new Promise<boolean>((done) => {
    const s = createConnection(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      done(true);
    });
    s.once('error', () => done(false));
  });
}

/**
 * Sets up a broker exactly as the deployment steps do — make-certs.sh, add-doorstep.sh,
 * add-gateway.sh per school — into a temporary folder, and starts a private `mosquitto -c` on the
 * shipped config with its ports and paths rewritten. Stopped by its own pid.
 */
export async function startShippedBroker(schools: string[]): Promise<ShippedBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'doorstep-shipped-broker-'));
  const secrets = join(dir, 'secrets');
  const data = join(dir, 'data');
  mkdirSync(data);
  const env = { MOSQUITTO_SECRETS: secrets, DOORSTEP_MQTT_PASSWORD_FILE: join(dir, 'doorstep.password') };
  run('make-certs.sh', [], env);
  run('add-doorstep.sh', [], env);
  for (const school of schools) run('add-gateway.sh', [school], env);

  const [plainPort, tlsPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    rewriteShippedConfig(readFileSync(join(DEPLOY, 'mosquitto.conf'), 'utf8'), {
      plainPort,
      tlsPort,
      secrets,
      data,
    }),
  );
  // Started as root, Mosquitto drops to its own user; the image's entrypoint hands /mosquitto to that
  // user in the same way.
  if (process.getuid?.() === 0) {
    try {
      execFileSync('chown', ['-R', 'mosquitto:', dir], { stdio: 'ignore' });
    } catch {
      // No mosquitto user: the broker keeps running as root and can read the files as they are.
    }
  }

  const child: ChildProcess = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => {
    log += String(d);
  });
  child.stderr!.on('data', (d) => {
    log += String(d);
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let exitedEarly = false;
  void exited.then(() => {
    exitedEarly = true;
  });
  const deadline = Date.now() + 10_000;
  while (!((await accepting(plainPort)) && (await accepting(tlsPort)))) {
    if (exitedEarly || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the shipped mosquitto.conf did not start a broker:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const secret = (file: string) => readFileSync(file, 'utf8').trim();
  return {
    plainUrl: `mqtt://127.0.0.1:${plainPort}`,
    tlsUrl: `mqtts://127.0.0.1:${tlsPort}`,
    caFile: join(secrets, 'certs', 'ca.crt'),
    doorstep: {
      username: 'doorstep',
      password: secret(env.DOORSTEP_MQTT_PASSWORD_FILE),
      passwordFile: env.DOORSTEP_MQTT_PASSWORD_FILE,
    },
    gateway: (school) => ({
      username: `gateway-${school}`,
      password: secret(join(secrets, `gateway-${school}.password`)),
    }),
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid!, 'SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
