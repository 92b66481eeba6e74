import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Secret } from '../core/secret.ts';

export type SecretRef = { kind: 'env'; name: string } | { kind: 'file'; path: string };

const ENV_REF = /^\$\{([A-Z_][A-Z0-9_]*)\}$/;
const FILE_REF = /^file:(.+)$/;

/** Parses `${ENV_NAME}` or `file:/path`; anything else is not a secret reference. */
export function parseSecretRef(text: string): SecretRef | undefined {
  const env = ENV_REF.exec(text);
  if (env) return { kind: 'env', name: env[1]! };
  const file = FILE_REF.exec(text);
  if (file) return { kind: 'file', path: file[1]! };
  return undefined;
}

export interface SecretSources {
  env: Readonly<Record<string, string | undefined>>;
  readFile?: (path: string) => string;
}

export type SecretResolution = { ok: true; secret: Secret } | { ok: false; reason: string };

export function resolveSecretRef(ref: SecretRef, sources: SecretSources): SecretResolution {
  if (ref.kind === 'env') {
    const value = sources.env[ref.name];
    if (value === undefined || value === '') {
      return { ok: false, reason: `environment variable ${ref.name} is not set` };
    }
    return { ok: true, secret: new Secret(value, `env:${ref.name}`) };
  }
  const path = resolve(ref.path);
  try {
    const read = sources.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
    const value = read(path).replace(/\r?\n$/, '');
    if (value === '') return { ok: false, reason: `secret file ${path} is empty` };
    return { ok: true, secret: new Secret(value, `file:${path}`) };
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'unreadable';
    return { ok: false, reason: `cannot read secret file ${path} (${code})` };
  }
}
