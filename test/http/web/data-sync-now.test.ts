import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/**
 * Found by review: after "Sync now" the data page said "Sync done at …: N new import(s) (below)",
 * counting every import row newer than before — refused ones included (data-imports.js followSync):
 * a sync whose only file was refused and quarantined was announced exactly like a successful one.
 * Now refused files and applied imports are counted apart: "1 file refused — see below" is said
 * as an error (an alert), with the applied imports after it when there are some.
 */

// A minimal DOM: enough for app.js `h`/`say` and data-imports.js to build and click the button.
class El {
  tag: string;
  attrs: Record<string, string> = {};
  children: El[] = [];
  listeners: Record<string, ((e?: unknown) => unknown)[]> = {};
  className = '';
  disabled = false;
  text = '';
  constructor(tag: string, text = '') {
    this.tag = tag;
    this.text = text;
  }
  setAttribute(k: string, v: string) {
    this.attrs[k] = v;
  }
  addEventListener(k: string, f: (e?: unknown) => unknown) {
    const list = this.listeners[k] ?? [];
    list.push(f);
    this.listeners[k] = list;
  }
  append(c: El) {
    this.children.push(c);
  }
  replaceChildren(...c: El[]) {
    this.children = c;
  }
  get textContent(): string {
    return this.text + this.children.map((c) => c.textContent).join('');
  }
  set textContent(t: string) {
    this.text = t;
    this.children = [];
  }
}
const g = globalThis as unknown as Record<string, unknown>;
g.Node = El;
g.document = {
  createElement: (t: string) => new El(t),
  createTextNode: (t: string) => new El('#text', t),
};

const find = (e: El, id: string): El | undefined =>
  e.attrs.id === id ? e : e.children.map((c) => find(c, id)).find(Boolean);

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const before = { id: '5', unit: 'old.csv', status: 'applied', rejections: { total: 0, groups: [] } };
const refused = {
  id: '6',
  unit: 'marks.csv',
  status: 'refused',
  error: 'marks.csv, line 3, field AttendanceMark: unknown attendance code "Q9"',
  rejections: { total: 0, groups: [] },
};
const applied = { id: '7', unit: 'pupils.csv', status: 'applied', rejections: { total: 0, groups: [] } };

/**
 * Clicks "Sync now" with the server answering `imports` after the sync (`imports` a function: what
 * the page is answered at each read); returns the message element, the click's promise and how
 * often the page was drawn again.
 */
async function clickSyncNow(
  imports: unknown[] | (() => unknown[]),
  job: Record<string, unknown> = {},
): Promise<{ msg: El; clicked: Promise<unknown>; reloads: () => number }> {
  g.fetch = async (url: string, init?: { method?: string }) => {
    if (init?.method === 'POST' && url === '/api/data/sync') return json({ queued: true, jobId: '9' }, 202);
    if (url.startsWith('/api/data/sync/9'))
      return json({ state: 'completed', finishedAt: '2025-01-20T10:31:00.000Z', stillWriting: 0, ...job });
    if (url.startsWith('/api/data?'))
      return json({ imports: typeof imports === 'function' ? imports() : imports });
    return json({ message: `unexpected ${url}` }, 500);
  };
  const { importsSection } = (await import(
    new URL('../../../web/assets/data-imports.js', import.meta.url).href
  )) as { importsSection: (d: unknown, s: string, m: El, r: () => Promise<void>) => El };
  const msg = new El('p');
  let reloads = 0;
  const section = importsSection({ imports: [before] }, 'alpha', msg, async () => {
    reloads++;
  });
  const button = find(section, 'sync-now')!;
  const clicked = button.listeners.click![0]!() as Promise<unknown>;
  // The page polls the job every 1.5 s: the clock is moved, not waited for.
  await vi.advanceTimersByTimeAsync(1500);
  return { msg, clicked, reloads: () => reloads };
}

async function syncNowWith(imports: unknown[]): Promise<El> {
  const { msg, clicked } = await clickSyncNow(imports);
  await clicked;
  return msg;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'Date'] });
  vi.setSystemTime(new Date('2025-01-20T10:30:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

describe('data page: "Sync now" after a sync that refused a file', () => {
  it('says the file was refused, as an error, never "1 new import"', async () => {
    const msg = await syncNowWith([refused, before]);
    expect(msg.textContent).toMatch(/: 1 file refused — see below\.$/);
    expect(msg.textContent).not.toMatch(/new import/);
    expect(msg.className).toBe('message error');
    expect(msg.attrs.role).toBe('alert');
  });

  it('counts refused files and applied imports apart', async () => {
    const msg = await syncNowWith([applied, refused, before]);
    expect(msg.textContent).toMatch(/: 1 file refused — see below; 1 new import\.$/);
    expect(msg.className).toBe('message error');
  });

  it('still says the imports a sync made when none was refused', async () => {
    const msg = await syncNowWith([applied, before]);
    expect(msg.textContent).toMatch(/: 1 new import \(below\)\.$/);
    expect(msg.className).toBe('message');
    expect(msg.attrs.role).toBe('status');
  });
});

describe('data page: "Sync now" while a file just copied in is still being written', () => {
  it('says the file is still being written and comes in seconds, then reads the imports again until it is there', async () => {
    let now: unknown[] = [before];
    const { msg, clicked, reloads } = await clickSyncNow(() => now, { stillWriting: 1 });
    expect(msg.textContent).toBe(
      'Sync done at 10:31: nothing imported yet. 1 file is still being written: it will be imported in a few seconds (this page shows it below).',
    );
    expect(msg.textContent).not.toMatch(/nothing new to import/);
    const drawn = reloads();
    // The folder's next sync imports it: the page finds it at its next look and draws the list again.
    now = [applied, before];
    await vi.advanceTimersByTimeAsync(2000);
    await clicked;
    expect(msg.textContent).toMatch(/^Sync done at \d\d:\d\d: 1 new import \(below\)\.$/);
    expect(reloads()).toBe(drawn + 1);
  });

  it('says a file refused once written as refused', async () => {
    let now: unknown[] = [before];
    const { msg, clicked } = await clickSyncNow(() => now, { stillWriting: 1 });
    now = [refused, before];
    await vi.advanceTimersByTimeAsync(2000);
    await clicked;
    expect(msg.textContent).toMatch(/: 1 file refused — see below\.$/);
    expect(msg.attrs.role).toBe('alert');
  });
});

describe('data page: "No rejected rows" beside a refused file', () => {
  // Newcomer walk: under a refused import the page said only "No rejected rows.", read as gone in.
  it('says a refused file was refused whole, nothing of it applied, and where to read why', async () => {
    const { noRejectedRows } = (await import(
      new URL('../../../web/assets/data-imports.js', import.meta.url).href
    )) as { noRejectedRows: (imports: { status: string }[]) => string };
    expect(noRejectedRows([{ status: 'applied' }])).toBe('No rejected rows.');
    expect(noRejectedRows([{ status: 'refused' }, { status: 'applied' }])).toBe(
      'No rejected rows in the imports applied. 1 file was refused whole — nothing of it was applied: the Error column says why.',
    );
    expect(noRejectedRows([{ status: 'refused' }, { status: 'refused' }])).toMatch(
      /^No rejected rows in the imports applied\. 2 files were refused whole — nothing of them/,
    );
  });
});
