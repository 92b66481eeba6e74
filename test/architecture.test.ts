import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * One direction of dependency. Every source file (src, connectors, jobs, bin; not tests or benches)
 * sits in a layer and imports only from its own layer or a lower one, and no files import each
 * other in a circle. The order is the README's code map; there are no exceptions.
 */
const LAYERS: readonly { name: string; paths: readonly string[] }[] = [
  { name: 'core', paths: ['src/core', 'src/errors.ts', 'src/log'] },
  { name: 'domain', paths: ['src/domain'] },
  { name: 'store', paths: ['src/store'] },
  { name: 'connectors', paths: ['connectors'] },
  { name: 'config', paths: ['src/config'] },
  {
    name: 'services',
    paths: [
      'src/alarms',
      'src/auth',
      'src/checks',
      'src/import',
      'src/notify',
      'src/queue',
      'src/records',
      'src/triggers',
      'src/visits',
    ],
  },
  { name: 'jobs and http', paths: ['jobs', 'src/http'] },
  { name: 'runtime and cli', paths: ['src/runtime', 'src/cli', 'bin'] },
];

const ROOT = join(import.meta.dirname, '..');
const SOURCE_DIRS = ['src', 'connectors', 'jobs', 'bin'];

function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(ROOT, dir))) {
      const path = `${dir}/${name}`;
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(path);
    }
  };
  for (const d of SOURCE_DIRS) walk(d);
  return out.sort();
}

const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

function layerOf(path: string): number {
  return LAYERS.findIndex((l) => l.paths.some((p) => under(path, p)));
}

interface Import {
  file: string;
  line: number;
  target: string;
}

/** Relative imports and re-exports (static and dynamic), with their line numbers. */
function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: Import[] = [];
  const patterns = [
    /(?:^|\n)[ \t]*(?:import|export)\b[^'"`;]*?\bfrom\s*['"](\.[^'"]+)['"]/g,
    /(?:^|\n)[ \t]*import\s*['"](\.[^'"]+)['"]/g,
    /\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) {
      const at = m.index + m[0].indexOf(m[1]!);
      const line = text.slice(0, at).split('\n').length;
      const target = normalize(relative(ROOT, join(ROOT, dirname(file), m[1]!))).replaceAll('\\', '/');
      out.push({ file, line, target });
    }
  }
  return out;
}

const files = sourceFiles();
const imports = files.flatMap(importsOf);

describe('architecture', () => {
  it('puts every source file in a layer', () => {
    expect(files.filter((f) => layerOf(f) < 0)).toEqual([]);
  });

  it('imports only from the same layer or a lower one', () => {
    const upward = imports
      .filter((i) => layerOf(i.target) > layerOf(i.file))
      .map(
        (i) =>
          `${i.file}:${i.line} imports ${i.target}: ${LAYERS[layerOf(i.file)]!.name} may not depend on ${LAYERS[layerOf(i.target)]!.name}`,
      );
    expect(upward).toEqual([]);
  });

  it('has no import cycles', () => {
    const known = new Set(files);
    const edges = new Map<string, Import[]>();
    for (const i of imports) if (known.has(i.target)) edges.set(i.file, [...(edges.get(i.file) ?? []), i]);
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: Import[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      for (const edge of edges.get(file) ?? []) {
        const s = state.get(edge.target);
        if (s === 'open') {
          const from = stack.findIndex((e) => e.file === edge.target);
          const loop = [...stack.slice(from === -1 ? stack.length : from), edge];
          cycles.push(`${loop.map((e) => `${e.file}:${e.line}`).join(' -> ')} -> ${edge.target}`);
        } else if (s === undefined) {
          stack.push(edge);
          visit(edge.target);
          stack.pop();
        }
      }
      state.set(file, 'done');
    };
    for (const f of files) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it('resolves every relative import to a file', () => {
    const known = new Set(files);
    const missing = imports
      .filter((i) => !known.has(i.target) && !/\.(json|sql|css|html)$/.test(i.target))
      .map((i) => `${i.file}:${i.line} imports ${i.target}, which does not exist`);
    expect(missing).toEqual([]);
  });
});
