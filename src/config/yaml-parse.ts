import { LineCounter, parseDocument } from 'yaml';
import type * as z from 'zod';
import { NO_ECHO } from '../core/settings.ts';
import { similar } from '../core/similar.ts';
import { type ConfigPath, formatPath, lineOf } from './yaml-locate.ts';

/**
 * YAML validated by a zod schema, every problem located by its path and line: the config file and
 * the policy packs are both read through it.
 */

export interface ConfigProblem {
  path: string;
  line: number | undefined;
  message: string;
}

export type YamlResult<T> = { ok: true; data: T } | { ok: false; problems: ConfigProblem[] };

/** A check across the validated document (e.g. that a named policy pack exists), located like any other. */
export type CrossCheck<T> = (data: T) => { path: ConfigPath; message: string }[];

export function formatProblem(p: ConfigProblem): string {
  return `${p.path}${p.line === undefined ? '' : ` (line ${p.line})`}: ${p.message}`;
}

/** Parses YAML and validates it with `schema`, locating every problem (and cross-check) by line. */
export function parseYamlWith<S extends z.ZodType>(
  text: string,
  schema: S,
  crossCheck?: CrossCheck<z.output<S>>,
): YamlResult<z.output<S>> {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        path: 'yaml',
        line: counter.linePos(e.pos[0]).line,
        message: e.message.split('\n')[0] ?? e.message,
      })),
    };
  }
  const data: unknown = doc.toJS() ?? {};
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success) {
    const extra = crossCheck?.(result.data) ?? [];
    if (extra.length === 0) return { ok: true, data: result.data };
    return {
      ok: false,
      problems: extra
        .map((e) => ({ path: formatPath(e.path), line: lineOf(doc, counter, e.path), message: e.message }))
        .sort((a, b) => (a.line ?? 0) - (b.line ?? 0)),
    };
  }

  const problems: ConfigProblem[] = [];
  const issues = result.error.issues;
  // A misspelt key shows up twice (unknown key + required key missing): report it once, as a typo.
  const missing = issues.filter(
    (i) => (i.code === 'invalid_type' || noEcho(i)) && (i as { input?: unknown }).input === undefined,
  );
  const consumed = new Set<z.core.$ZodIssue>();
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    for (const key of issue.keys) {
      const path = [...issue.path, key];
      const twin = missing.find(
        (m) =>
          !consumed.has(m) &&
          samePath(m.path.slice(0, -1), issue.path) &&
          similar(String(m.path.at(-1)), key),
      );
      if (twin) consumed.add(twin);
      problems.push({
        path: formatPath(path),
        line: lineOf(doc, counter, path, true),
        message: twin
          ? `unknown key "${key}"; did you mean "${String(twin.path.at(-1))}"?`
          : `unknown key "${key}"`,
      });
    }
  }
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys' || consumed.has(issue)) continue;
    problems.push({
      path: formatPath(issue.path),
      // A key refused (a record's, e.g. a ladder's kind): its own line, not its value's.
      line: lineOf(doc, counter, issue.path, issue.code === 'invalid_key'),
      message: describeIssue(issue),
    });
  }
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { ok: false, problems };
}

/** An issue whose input must never be shown (a secret field's). */
function noEcho(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'custom' && (issue.params as Record<string, unknown> | undefined)?.[NO_ECHO] === true;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  if (input === undefined && issue.code === 'invalid_type') return 'required but missing';
  let message: string;
  switch (issue.code) {
    case 'invalid_type':
      // A schema's own words for a wrong type (e.g. a URN written as a number: "quote it in YAML").
      message = issue.message.startsWith('Invalid input') ? `expected ${issue.expected}` : issue.message;
      break;
    case 'invalid_value':
      message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'invalid_union': {
      const u = issue as { discriminator?: string; options?: unknown[] };
      if (u.discriminator && u.options) {
        const got = (input as Record<string, unknown> | undefined)?.[u.discriminator];
        return `expected one of ${u.options.map((o) => JSON.stringify(o)).join(', ')}, got ${show(got)}`;
      }
      message = issue.message;
      break;
    }
    case 'too_small':
      message =
        issue.origin === 'array'
          ? issue.message.startsWith('Too small')
            ? `expected at least ${issue.minimum} item(s)`
            : issue.message
          : issue.message.startsWith('Too small')
            ? `expected at least ${issue.minimum}`
            : issue.message;
      break;
    case 'invalid_key': {
      // What was expected of the key, not zod's bare "Invalid key in record". A check that words its
      // own refusal (an unknown alarm kind, with the kind it is likely meant to be) says it whole.
      const inner = issue.issues[0];
      if (!inner) return `unexpected key ${show(input)}`;
      if (inner.code === 'custom') return inner.message;
      return `unexpected key: ${describeIssue({ ...inner, input } as z.core.$ZodIssue)}`;
    }
    case 'too_big':
      message = issue.message.startsWith('Too big') ? `expected at most ${issue.maximum}` : issue.message;
      break;
    default:
      message = issue.message;
  }
  return noEcho(issue) ? message : `${message}, got ${show(input)}`;
}

function samePath(a: readonly PropertyKey[], b: readonly PropertyKey[]): boolean {
  return a.length === b.length && a.every((seg, i) => seg === b[i]);
}

/** `scheme://user:password@host…`: everything up to the last `@` may be a credential (masked). */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/).*@/i;

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'object' && v !== null) return Array.isArray(v) ? 'a list' : 'a mapping';
  // A URL carrying a user and password (a Redis or connector URL written wrongly): shown masked.
  if (typeof v === 'string') return JSON.stringify(v.replace(USERINFO, '$1***@'));
  return JSON.stringify(v);
}
