import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { doorstepError, ERRORS, retryClassOf } from '../src/errors.ts';

const ROOT = join(import.meta.dirname, '..');

function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(ROOT, dir))) {
      const path = `${dir}/${name}`;
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (/\.(ts|js)$/.test(name)) out.push(path);
    }
  };
  for (const d of ['src', 'jobs', 'connectors', 'bin', 'web/assets']) walk(d);
  return out;
}

/** The README's error table: `| \`DOORSTEP_…\` | status | exit | retry | when |`. */
function readmeTable(): { code: string; statusCode: number; exitCode: number; retry: string }[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/^\| `(DOORSTEP_[A-Z_]+)` \| (\d+) \| (\d+) \| (\w+) \|/gm)].map((m) => ({
    code: m[1]!,
    statusCode: Number(m[2]),
    exitCode: Number(m[3]),
    retry: m[4]!,
  }));
}

describe('the error catalog', () => {
  it('is the README error table, code for code', () => {
    const catalog = Object.values(ERRORS).map(({ code, statusCode, exitCode, retry }) => ({
      code,
      statusCode,
      exitCode,
      retry,
    }));
    const byCode = (a: { code: string }, b: { code: string }) => a.code.localeCompare(b.code);
    expect(readmeTable().sort(byCode)).toEqual(catalog.sort(byCode));
  });

  it('holds every code the sources send', () => {
    const texts = sources().map((f) => [f, readFileSync(join(ROOT, f), 'utf8')] as const);
    // Environment variables share the prefix: DOORSTEP_CONFIG, DOORSTEP_PASSWORD, …
    const envNames = new Set(
      texts.flatMap(([, t]) => [...t.matchAll(/\benv(?:\.|\[')(DOORSTEP_[A-Z_]+)/g)].map((m) => m[1]!)),
    );
    const known = new Set<string>(Object.values(ERRORS).map((e) => e.code));
    const stray = texts.flatMap(([f, t]) =>
      [...t.matchAll(/\bDOORSTEP_[A-Z]+(?:_[A-Z]+)*\b(?!_)/g)]
        .map((m) => m[0])
        .filter((code) => !known.has(code) && !envNames.has(code))
        .map((code) => `${f}: ${code}`),
    );
    expect(stray).toEqual([]);
  });

  it('never retries a configuration fault', () => {
    expect(retryClassOf(doorstepError('SCHOOL_UNKNOWN', 'no school x'))).toBe('config');
    expect(retryClassOf(doorstepError('CONFIG_INVALID', 'x'))).toBe('config');
    expect(retryClassOf(new Error('connection reset'))).toBe('transient');
  });
});
