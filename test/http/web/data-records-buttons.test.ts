import { beforeEach, describe, expect, it } from 'vitest';

/**
 * The data page's failed records each have "Retry record N" and "Dismiss record N…" (asking where it
 * was recorded by hand): pressed, the page posts to the record's action, re-reads itself and says the
 * outcome in words; a refusal is said as an error, with the server's words.
 */

// A minimal DOM: enough for app.js `h`/`say` and data-records.js to build the list and press its buttons.
class El {
  tag: string;
  attrs: Record<string, string> = {};
  children: El[] = [];
  listeners: Record<string, ((e?: unknown) => unknown)[]> = {};
  className = '';
  disabled = false;
  value = '';
  text = '';
  constructor(tag: string, text = '') {
    this.tag = tag;
    this.text = text;
  }
  get id(): string | undefined {
    return this.attrs.id;
  }
  setAttribute(k: string, v: string) {
    this.attrs[k] = v;
  }
  addEventListener(k: string, f: (e?: unknown) => unknown) {
    const list = this.listeners[k] ?? [];
    list.push(f);
    this.listeners[k] = list;
  }
  append(...c: El[]) {
    this.children.push(...c);
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
  createDocumentFragment: () => new El('#fragment'),
  querySelector: () => null,
};

const all = (e: El, match: (x: El) => boolean): El[] => [
  ...(match(e) ? [e] : []),
  ...e.children.flatMap((c) => all(c, match)),
];
const byId = (e: El, id: string) => all(e, (x) => x.attrs.id === id)[0];
const byText = (e: El, tag: string, text: string) =>
  all(e, (x) => x.tag === tag && x.textContent === text)[0];

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const failed = {
  total: 1,
  bySink: { cpoms: 1 },
  alertsOpen: 1,
  oldest: [
    {
      id: '12',
      kind: 'lone_worker_incident',
      sink: 'cpoms',
      createdAt: '2025-01-20T10:00:00.000Z',
      failedAt: '2025-01-20T10:05:00.000Z',
      tries: 1,
      reason: 'CPOMS incident: HTTP 403',
      alert: { id: '3', raisedAt: '2025-01-20T10:05:00.000Z', message: 'Record #12 …' },
    },
  ],
};

let posted: { url: string; body: unknown; csrf: unknown }[];
let answer: () => Response;

async function page() {
  const { failedRecordsSection } = (await import(
    new URL('../../../web/assets/data-records.js', import.meta.url).href
  )) as { failedRecordsSection: (f: unknown, s: string, m: El, r: () => Promise<void>) => El };
  const msg = new El('p');
  let reloads = 0;
  const section = failedRecordsSection(failed, 'alpha', msg, async () => {
    reloads++;
  });
  return { section, msg, reloads: () => reloads };
}

beforeEach(() => {
  posted = [];
  answer = () => json({});
  g.fetch = async (
    url: string,
    init?: { method?: string; body?: string; headers?: Record<string, string> },
  ) => {
    if (init?.method === 'POST') {
      posted.push({ url, body: init.body && JSON.parse(init.body), csrf: init.headers?.['x-csrf-token'] });
      return answer();
    }
    return json({ message: `unexpected ${url}` }, 500);
  };
});

describe('data page: a failed record retried or dismissed from the page', () => {
  it('"Retry record 12" posts the retry, re-reads the page and says it was queued again', async () => {
    answer = () => json({ id: '12', status: 'pending' });
    const { section, msg, reloads } = await page();
    const retry = byText(section, 'button', 'Retry record 12')!;
    expect(retry.attrs.type).toBe('button');
    await retry.listeners.click![0]!();
    expect(posted.map((p) => p.url)).toEqual(['/api/outbox/12/retry']);
    expect(reloads()).toBe(1);
    expect(msg.textContent).toMatch(/^Record #12 queued again/);
    expect(msg.className).toBe('message');
    expect(retry.disabled).toBe(false);
  });

  it('"Dismiss record 12…" asks where it was recorded (a labelled, required field) and says it was dismissed', async () => {
    answer = () => json({ id: '12', status: 'dismissed', reason: 'in CPOMS, 16 March' });
    const { section, msg, reloads } = await page();
    expect(byText(section, 'summary', 'Dismiss record 12…')).toBeDefined();
    const input = byId(section, 'dismiss-reason-12')!;
    expect(input.attrs).toMatchObject({ name: 'reason', required: '' });
    const label = all(section, (x) => x.tag === 'label' && x.attrs.for === 'dismiss-reason-12')[0]!;
    expect(label.textContent).toBe('Where it was recorded by hand');
    input.value = ' in CPOMS,  16 March ';
    const form = byId(section, 'dismiss-12')!;
    let prevented = false;
    await form.listeners.submit![0]!({ preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);
    expect(posted).toEqual([
      { url: '/api/outbox/12/dismiss', body: { reason: ' in CPOMS,  16 March ' }, csrf: undefined },
    ]);
    expect(reloads()).toBe(1);
    expect(msg.textContent).toBe(
      'Record #12 dismissed (recorded by hand: in CPOMS, 16 March); its alert is closed.',
    );
  });

  it('a refusal is said as an error in the server’s words, and the page is not announced as done', async () => {
    answer = () =>
      json(
        {
          code: 'DOORSTEP_CONFLICT',
          message:
            'record #12 is delivered, not failed (only a failed record is sent again): reload the page',
        },
        409,
      );
    const { section, msg } = await page();
    await byText(section, 'button', 'Retry record 12')!.listeners.click![0]!();
    expect(msg.textContent).toBe(
      'record #12 is delivered, not failed (only a failed record is sent again): reload the page',
    );
    expect(msg.className).toBe('message error');
    expect(msg.attrs.role).toBe('alert');
  });
});
