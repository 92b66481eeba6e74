import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOARD_EVENT_TYPES } from '../../src/domain/board-events.ts';

const ROOT = join(import.meta.dirname, '../..');

function sources(): [string, string][] {
  const out: [string, string][] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(ROOT, dir))) {
      const path = `${dir}/${name}`;
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) out.push([path, readFileSync(join(ROOT, path), 'utf8')]);
    }
  };
  for (const d of ['src', 'jobs', 'connectors']) walk(d);
  return out;
}

describe('board event types', () => {
  it('the server list holds every board event the sources write', () => {
    const known = new Set<string>(BOARD_EVENT_TYPES);
    const written = new Set<string>();
    for (const [file, text] of sources()) {
      // insertBoardEvent(tx, school, 'type' | cond ? 'a' : 'b', payload), and rows built as { type: '…' }.
      for (const call of text.matchAll(/insertBoardEvent\(([^{)]*)/g))
        for (const t of call[1]!.matchAll(/'([a-z]+\.[a-z-]+)'/g)) written.add(`${t[1]} (${file})`);
      for (const t of text.matchAll(/\btype:\s*'((?:alarm|visit|ingest)\.[a-z-]+)'/g))
        written.add(`${t[1]} (${file})`);
    }
    expect(written.size).toBeGreaterThan(10);
    expect([...written].filter((w) => !known.has(w.split(' ')[0]!))).toEqual([]);
  });

  it('the board page takes the list from the server instead of its own copy', () => {
    // The board's live stream (board-live.js) asks the server; no part of the board keeps its own list.
    expect(readFileSync(join(ROOT, 'web/assets/board-live.js'), 'utf8')).toContain('/api/board/event-types');
    for (const name of readdirSync(join(ROOT, 'web/assets')).filter((n) => /^board(-[a-z]+)?\.js$/.test(n)))
      expect(readFileSync(join(ROOT, 'web/assets', name), 'utf8'), name).not.toMatch(/'visit\.requested'/);
  });
});
