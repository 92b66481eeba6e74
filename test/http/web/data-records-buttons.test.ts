import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';

/**
 * The data page's failed records each have "Retry record N" and "Dismiss record N…" (asking where it
 * was recorded by hand): pressed, the page posts to the record's action, re-reads itself and says the
 * outcome in words; a refusal is said as an error, with the server's words.
 */

// A minimal DOM: enough for app.js `h`/`say`/`focusStatus`/`replaceKeepingInput` and data-records.js
// to build the list, press its buttons, draw it again and put the keyboard somewhere. Selectors: a
// tag and attributes (`form[id][data-dirty]`, `details[id="x"]`, `details:not([open])`), comma-separated.
const matches = (e: El, selector: string) =>
  selector.split(',').some((one) => {
    const m = /^\s*([\w-]*)((?:\[[\w-]+(?:="[^"]*")?\]|:not\(\[[\w-]+\]\))*)\s*$/.exec(one);
    if (!m) throw new Error(`the fake DOM reads no selector "${one}"`);
    if (m[1] && e.tag !== m[1]) return false;
    return [...m[2]!.matchAll(/(:not\()?\[([\w-]+)(?:="([^"]*)")?\]/g)].every(([, not, k, v]) =>
      not ? !(k! in e.attrs) : v === undefined ? k! in e.attrs : e.attrs[k!] === v,
    );
  });
class El {
  tag: string;
  attrs: Record<string, string> = {};
  children: El[] = [];
  parentElement: El | null = null;
  listeners: Record<string, ((e?: unknown) => unknown)[]> = {};
  className = '';
  disabled = false;
  value = '';
  text = '';
  tabIndex = -1;
  /** `data-…` attributes, as the browser's `dataset` (camelCase names). */
  dataset: Record<string, string> = new Proxy({} as Record<string, string>, {
    get: (_, k) => this.attrs[`data-${String(k)}`],
    set: (_, k, v) => {
      this.attrs[`data-${String(k)}`] = String(v);
      return true;
    },
    deleteProperty: (_, k) => {
      delete this.attrs[`data-${String(k)}`];
      return true;
    },
  });
  constructor(tag: string, text = '') {
    this.tag = tag;
    this.text = text;
  }
  get id(): string | undefined {
    return this.attrs.id;
  }
  get tagName() {
    return this.tag.toUpperCase();
  }
  get isConnected(): boolean {
    let top: El = this;
    while (top.parentElement) top = top.parentElement;
    return top === doc.body;
  }
  setAttribute(k: string, v: string) {
    this.attrs[k] = v;
  }
  getAttribute(k: string) {
    return this.attrs[k] ?? null;
  }
  hasAttribute(k: string) {
    return k in this.attrs;
  }
  removeAttribute(k: string) {
    delete this.attrs[k];
  }
  get attributes() {
    return Object.entries(this.attrs).map(([name, value]) => ({ name, value }));
  }
  addEventListener(k: string, f: (e?: unknown) => unknown) {
    const list = this.listeners[k] ?? [];
    list.push(f);
    this.listeners[k] = list;
  }
  /** An event at this element, heard by it and every element it is in (as `input` bubbles). */
  dispatch(k: string) {
    for (let at: El | null = this; at; at = at.parentElement)
      for (const f of at.listeners[k] ?? []) f({ target: this });
  }
  append(...c: El[]) {
    for (const x of c.flatMap((x) => (x.tag === '#fragment' ? x.children.splice(0) : [x]))) {
      x.remove();
      x.parentElement = this;
      this.children.push(x);
    }
  }
  remove() {
    const p = this.parentElement;
    if (p) p.children = p.children.filter((x) => x !== this);
    this.parentElement = null;
  }
  replaceWith(other: El) {
    const p = this.parentElement!;
    other.remove();
    p.children[p.children.indexOf(this)] = other;
    other.parentElement = p;
    this.parentElement = null;
  }
  replaceChildren(...c: El[]) {
    for (const x of this.children) x.parentElement = null;
    this.children = [];
    this.append(...c);
  }
  contains(x: El | null | undefined): boolean {
    for (let at = x ?? null; at; at = at.parentElement) if (at === this) return true;
    return false;
  }
  closest(selector: string): El | null {
    for (let at: El | null = this; at; at = at.parentElement) if (matches(at, selector)) return at;
    return null;
  }
  querySelectorAll(selector: string): El[] {
    return this.children.flatMap((c) => [
      ...(matches(c, selector) ? [c] : []),
      ...c.querySelectorAll(selector),
    ]);
  }
  querySelector(selector: string): El | null {
    return this.querySelectorAll(selector)[0] ?? null;
  }
  focus() {
    doc.activeElement = this;
  }
  get textContent(): string {
    return this.text + this.children.map((c) => c.textContent).join('');
  }
  set textContent(t: string) {
    this.text = t;
    this.children = [];
  }
}
const doc = {
  body: new El('body'),
  activeElement: null as El | null,
  createElement: (t: string) => new El(t),
  createTextNode: (t: string) => new El('#text', t),
  createDocumentFragment: () => new El('#fragment'),
  querySelector: (s: string) => doc.body.querySelector(s),
  getElementById: (id: string) => doc.body.querySelector(`[id="${id}"]`),
};
const g = globalThis as unknown as Record<string, unknown>;
g.Node = El;
g.document = doc;
g.CSS = { escape: (s: string) => s };

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
let answer: () => Response | Promise<Response>;

type Section = (f: unknown, s: string, m: El, r: () => Promise<void>) => El;
const assets = async () => ({
  ...((await import(new URL('../../../web/assets/data-records.js', import.meta.url).href)) as {
    failedRecordsSection: Section;
  }),
  ...((await import(new URL('../../../web/assets/app.js', import.meta.url).href)) as {
    replaceKeepingInput: (container: El, nodes: El[]) => void;
  }),
});

/** The page: its message line, then the content the list is drawn in (`reload`: the re-read). */
async function page(reload: () => Promise<void> = async () => {}) {
  const { failedRecordsSection } = await assets();
  const msg = new El('p');
  msg.setAttribute('id', 'message');
  const content = new El('div');
  content.setAttribute('id', 'content');
  doc.body.replaceChildren(msg, content);
  doc.activeElement = null;
  let reloads = 0;
  const section = failedRecordsSection(failed, 'alpha', msg, async () => {
    reloads++;
    await reload();
  });
  content.append(section);
  return { section: content, msg, reloads: () => reloads };
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

  it('a re-read that fails after the action was done still says it was done, and that the list is out of date', async () => {
    answer = () => json({ id: '12', status: 'pending', sendAfterMs: 0 });
    const { section, msg } = await page(async () => {
      throw new Error('HTTP 502');
    });
    await byText(section, 'button', 'Retry record 12')!.listeners.click![0]!();
    expect(msg.textContent).toBe(
      'Record #12 queued again: it is sent within seconds, and listed here again if it fails.; the list could not be re-read: reload the page',
    );
    expect(msg.className).toBe('message');
  });

  it('a refusal saying the list is out of date (409 not failed any more, 404 gone) reads the list again after saying it', async () => {
    for (const [status, message] of [
      [409, 'record #12 is dismissed already, not failed (only a failed record is sent again)'],
      [404, 'no record #12 of your schools'],
    ] as const) {
      answer = () => json({ code: 'DOORSTEP_X', message }, status);
      let saidFirst = '';
      const { section, msg, reloads } = await page(async () => {
        saidFirst = msg.textContent;
      });
      await byText(section, 'button', 'Retry record 12')!.listeners.click![0]!();
      expect(reloads(), String(status)).toBe(1);
      expect(saidFirst).toBe(message);
      expect(msg.textContent).toBe(message);
      expect(msg.className).toBe('message error');
    }
    // One the list cannot change (a missing reason, 422) is said, the list not read again.
    answer = () => json({ code: 'DOORSTEP_POLICY', message: 'reason: required' }, 422);
    const { section, reloads } = await page();
    await byId(section, 'dismiss-12')!.listeners.submit![0]!({ preventDefault: () => {} });
    expect(reloads()).toBe(0);
  });

  it('after an action the keyboard is on its outcome, not on the next record’s controls', async () => {
    answer = () => json({ id: '12', status: 'dismissed', reason: 'in CPOMS' });
    const { section, msg } = await page();
    const input = byId(section, 'dismiss-reason-12')!;
    input.value = 'in CPOMS';
    input.focus();
    await byId(section, 'dismiss-12')!.listeners.submit![0]!({ preventDefault: () => {} });
    expect(doc.activeElement).toBe(msg);
    expect(msg.attrs.tabindex).toBe('-1');
  });

  it('Retry of a record whose last send may still arrive says when it is sent', async () => {
    answer = () => json({ id: '12', status: 'pending', sendAfterMs: 118_500 });
    const { section, msg } = await page();
    await byText(section, 'button', 'Retry record 12')!.listeners.click![0]!();
    expect(msg.textContent).toBe(
      'Record #12 queued again: its last send may still arrive at CPOMS, so it is sent within about 2 min (found there if it arrived, never sent twice), and listed here again if it fails.',
    );
  });

  it('the list is a labelled region, not an alert: drawn again on every re-read, it is not announced again', async () => {
    const { section } = await page();
    const list = byId(section, 'records-failed')!;
    expect(list.tag).toBe('section');
    expect(list.attrs.role).toBeUndefined();
    expect(list.attrs['aria-labelledby']).toBe('records-failed-h');
  });
});

describe("data page: a re-read keeps another record's half-typed dismissal", () => {
  const two = {
    ...failed,
    total: 2,
    oldest: [failed.oldest[0]!, { ...failed.oldest[0]!, id: '13' }],
  };

  it('the page draws its content through replaceKeepingInput (never wiping what is typed)', () => {
    const data = readFileSync(new URL('../../../web/assets/data.js', import.meta.url), 'utf8');
    expect(data).toMatch(/replaceKeepingInput\(content, \[\s*failedRecordsSection\(/);
    expect(data).not.toMatch(/content\.replaceChildren\(/);
  });

  it('Retry of record 12 re-reads the list: record 13’s opened form and typed reason are kept, and it is still sent', async () => {
    const { failedRecordsSection, replaceKeepingInput } = await assets();
    const { msg, section: content } = await page();
    const draw = (f: unknown) =>
      replaceKeepingInput(content, [failedRecordsSection(f, 'alpha', msg, reload)]);
    const reload = async () => draw({ ...two, total: 1, oldest: [two.oldest[1]] });
    draw(two);
    // Record 13's "Dismiss…" opened, its reason half typed.
    byId(content, 'dismiss-details-13')!.setAttribute('open', '');
    const input = byId(content, 'dismiss-reason-13')!;
    input.value = 'recorded by hand in CP';
    input.dispatch('input');
    answer = () => json({ id: '12', status: 'pending', sendAfterMs: 0 });
    await byText(content, 'button', 'Retry record 12')!.listeners.click![0]!();
    expect(byText(content, 'button', 'Retry record 12')).toBeUndefined();
    expect(byId(content, 'dismiss-details-13')!.attrs.open).toBe('');
    expect(byId(content, 'dismiss-reason-13')).toBe(input);
    expect(input.value).toBe('recorded by hand in CP');
    expect(doc.activeElement).toBe(msg);
    // Finished and sent from the form kept: record 13's own dismissal.
    input.value = 'recorded by hand in CPOMS';
    answer = () => json({ id: '13', status: 'dismissed', reason: 'recorded by hand in CPOMS' });
    await byId(content, 'dismiss-13')!.listeners.submit![0]!({ preventDefault: () => {} });
    expect(posted.at(-1)).toMatchObject({
      url: '/api/outbox/13/dismiss',
      body: { reason: 'recorded by hand in CPOMS' },
    });
  });
});
