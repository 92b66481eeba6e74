import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The visits page on a phone: visiting staff landed on "Export the register" (its "to" alone on a
 * line) above "Request a visit". The export is a section of its own, closed on a phone, after the
 * request; each date stays beside its label.
 */

/** Just enough of a DOM for the page's `h()`: elements with attributes, children and listeners. */
class FakeElement {
  tag: string;
  attrs = new Map<string, string>();
  children: (FakeElement | string)[] = [];
  listeners = new Map<string, (e: unknown) => void>();
  className = '';
  constructor(tag: string) {
    this.tag = tag;
  }
  setAttribute(k: string, v: string) {
    this.attrs.set(k, v);
  }
  addEventListener(k: string, f: (e: unknown) => void) {
    this.listeners.set(k, f);
  }
  append(c: FakeElement | { text: string }) {
    this.children.push(c instanceof FakeElement ? c : c.text);
  }
  get text(): string {
    return this.children.map((c) => (typeof c === 'string' ? c : c.text)).join('');
  }
  all(tag: string): FakeElement[] {
    return this.children.flatMap((c) =>
      typeof c === 'string' ? [] : [...(c.tag === tag ? [c] : []), ...c.all(tag)],
    );
  }
}
type Export = (o: {
  school: string;
  date: string;
  open?: boolean;
  onToggle?: (open: boolean) => void;
}) => FakeElement;
let registerExport: Export;

beforeAll(async () => {
  Object.assign(globalThis, {
    document: {
      createElement: (tag: string) => new FakeElement(tag),
      createTextNode: (text: string) => ({ text }),
    },
    Node: FakeElement,
  });
  ({ registerExport } = (await import(
    new URL('../../../web/assets/register-export.js', import.meta.url).href
  )) as { registerExport: Export });
});

describe('the register’s export on the visits page', () => {
  it('is a section of its own, closed unless asked open, its form named as before', () => {
    const closed = registerExport({ school: 'heath', date: '2026-12-05' });
    expect(closed.tag).toBe('details');
    expect(closed.attrs.has('open')).toBe(false);
    expect(closed.all('summary').map((s) => s.text)).toEqual(['Export the register']);
    const [form] = closed.all('form');
    expect(form!.attrs.get('aria-label')).toBe('Export the register');
    expect(registerExport({ school: 'heath', date: '2026-12-05', open: true }).attrs.has('open')).toBe(true);
  });

  it('keeps each date beside its label: "to" is never alone on a line', () => {
    const [form] = registerExport({ school: 'heath', date: '2026-12-05' }).all('form');
    const pairs = form!.children.filter((c): c is FakeElement => typeof c !== 'string' && c.tag === 'span');
    expect(
      pairs.map((p) => p.children.map((c) => (typeof c === 'string' ? c : `${c.tag}.${c.className}`))),
    ).toEqual([
      ['label.inline', 'input.'],
      ['label.inline', 'input.'],
    ]);
    expect(pairs.map((p) => p.text.trim())).toEqual(['From', 'To']);
  });

  it('comes after "Request a visit" on the page', () => {
    const page = readFileSync(new URL('../../../web/assets/visits.js', import.meta.url), 'utf8');
    const request = page.indexOf('parts.push(requestForm())');
    const exported = page.indexOf('registerExport({');
    expect(request).toBeGreaterThan(0);
    expect(exported).toBeGreaterThan(request);
  });
});
