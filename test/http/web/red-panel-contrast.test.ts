import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * At 390 px, in the phone's red band after back safe or "I need help", the return time's hint
 * ("Later than now, and no later than 10:46") was grey on red (about 1:1) and "I need help" / "Call
 * 999" were red buttons on the red band, read as plain words. The colours each element gets from
 * app.css — by its own rules, what it inherits, and the band behind it — are worked out here as a
 * browser would (the cascade by specificity and order; a phone's width) and held to WCAG 2.2: text
 * 4.5:1 against what is behind it (1.4.3), a button's edge 3:1 against the band (1.4.11).
 */
const css = readFileSync(new URL('../../../web/assets/app.css', import.meta.url), 'utf8').replace(
  /\/\*[\s\S]*?\*\//g,
  '',
);
const PHONE_WIDTH = 390;

interface Rule {
  selector: string;
  decls: Map<string, string>;
  order: number;
}

/** The rules that apply on a phone: top level, and those of a width query the phone's width meets. */
function rulesOf(text: string): Rule[] {
  const rules: Rule[] = [];
  let i = 0;
  const block = (from: number) => {
    let depth = 0;
    for (let j = from; j < text.length; j++) {
      if (text[j] === '{') depth++;
      else if (text[j] === '}' && --depth === 0) return j;
    }
    return text.length;
  };
  while (i < text.length) {
    const open = text.indexOf('{', i);
    if (open < 0) break;
    const head = text.slice(i, open).trim();
    const close = block(open);
    const body = text.slice(open + 1, close);
    if (head.startsWith('@media')) {
      const max = /max-width:\s*(\d+)px/.exec(head);
      const min = /min-width:\s*(\d+)px/.exec(head);
      const applies =
        !/print|prefers/.test(head) &&
        (!max || PHONE_WIDTH <= Number(max[1])) &&
        (!min || PHONE_WIDTH >= Number(min[1]));
      if (applies) rules.push(...rulesOf(body));
    } else if (!head.startsWith('@')) {
      const decls = new Map<string, string>();
      for (const d of body.split(';')) {
        const at = d.indexOf(':');
        if (at > 0) decls.set(d.slice(0, at).trim(), d.slice(at + 1).trim());
      }
      for (const selector of head.split(',')) rules.push({ selector: selector.trim(), decls, order: 0 });
    }
    i = close + 1;
  }
  return rules;
}
const RULES = rulesOf(css).map((r, order) => ({ ...r, order }));

/** An element and its ancestors, the page's root first: `tag#id.class.class`. */
type El = { tag: string; id?: string; classes: string[] };
const el = (s: string): El => {
  const tag = /^[a-z0-9]+/.exec(s)?.[0] ?? 'div';
  return {
    tag,
    id: /#([\w-]+)/.exec(s)?.[1],
    classes: [...s.matchAll(/\.([\w-]+)/g)].map((m) => m[1]!),
  };
};

/** Whether one compound selector (`a.button.danger`) is met by an element; a state (:hover) never is. */
function compoundMatches(c: string, e: El): boolean {
  if (c === '*') return true;
  if (c === ':root') return e.tag === 'html';
  if (/[:[]/.test(c)) return false;
  const want = el(c);
  const tag = /^[a-z0-9]+/.exec(c)?.[0];
  return (
    (!tag || tag === e.tag) &&
    (!want.id || want.id === e.id) &&
    want.classes.every((k) => e.classes.includes(k))
  );
}

/** Whether a selector of compounds joined by descendant (space) or child (>) combinators meets path's last. */
function matches(selector: string, path: El[]): boolean {
  const parts = selector.replace(/\s*>\s*/g, ' > ').split(/\s+/);
  const walk = (pi: number, ei: number, child: boolean): boolean => {
    if (pi < 0) return true;
    if (parts[pi] === '>') return walk(pi - 1, ei, true);
    for (let k = ei; k >= 0; k--) {
      if (compoundMatches(parts[pi]!, path[k]!) && walk(pi - 1, k - 1, false)) return true;
      if (child) return false;
    }
    return false;
  };
  const last = parts.length - 1;
  return compoundMatches(parts[last]!, path[path.length - 1]!) && walk(last - 1, path.length - 2, false);
}

const specificity = (selector: string) => {
  const ids = (selector.match(/#[\w-]+/g) ?? []).length;
  const classes = (selector.match(/\.[\w-]+|\[[^\]]*\]|:(?!:)[\w-]+/g) ?? []).length;
  const tags = (selector.replace(/[#.:][\w-]+|\[[^\]]*\]/g, ' ').match(/\b[a-z][a-z0-9]*\b/g) ?? []).length;
  return ids * 10_000 + classes * 100 + tags;
};

const ROOT_VARS = new Map(
  RULES.filter((r) => r.selector === ':root').flatMap((r) =>
    [...r.decls].filter(([k]) => k.startsWith('--')),
  ),
);
/** The first colour in a value (a shorthand's), vars resolved; 'currentColor' when it names none. */
function colourIn(value: string): string | null {
  const v = value.replace(/var\((--[\w-]+)\)/g, (_, n: string) => ROOT_VARS.get(n) ?? '');
  const c = /#[0-9a-f]{3,8}\b|rgba?\([^)]*\)|\bwhite\b|\bblack\b|\btransparent\b|\bnone\b/i.exec(v)?.[0];
  return c ?? null;
}

/** The winning declaration among `props` (treated as one) for the element at the end of `path`. */
function cascaded(path: El[], props: string[]): string | null {
  const won = RULES.filter((r) => props.some((p) => r.decls.has(p)) && matches(r.selector, path)).sort(
    (a, b) => specificity(a.selector) - specificity(b.selector) || a.order - b.order,
  );
  const last = won.at(-1);
  if (!last) return null;
  const prop = props.filter((p) => last.decls.has(p)).at(-1)!;
  return last.decls.get(prop)!;
}

function colour(path: El[]): string {
  for (let n = path.length; n > 0; n--) {
    const v = cascaded(path.slice(0, n), ['color']);
    const c = v && colourIn(v);
    if (c) return c;
  }
  return '#000';
}
function background(path: El[]): string {
  for (let n = path.length; n > 0; n--) {
    const v = cascaded(path.slice(0, n), ['background', 'background-color']);
    const c = v && colourIn(v);
    if (c && !/transparent|none/.test(c)) return c;
  }
  return '#fff';
}
function border(path: El[]): string | null {
  const v = cascaded(path, ['border', 'border-color']);
  if (!v || /^(0|none)\b/.test(v)) return null;
  return colourIn(v) ?? colour(path);
}

function rgb(c: string): [number, number, number] {
  if (/^white$/i.test(c)) return [255, 255, 255];
  if (/^black$/i.test(c)) return [0, 0, 0];
  const fn = /rgba?\(([^)]*)\)/.exec(c);
  if (fn)
    return fn[1]!
      .split(/[\s,]+/)
      .slice(0, 3)
      .map(Number) as [number, number, number];
  let hex = c.slice(1);
  if (hex.length === 3) hex = [...hex].map((x) => x + x).join('');
  return [0, 2, 4].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}
const luminance = (c: string) => {
  const [r, g, b] = rgb(c).map((v) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
};
/** WCAG's contrast ratio of two colours (1 to 21). */
const contrast = (a: string, b: string) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return Math.round(((hi! + 0.05) / (lo! + 0.05)) * 100) / 100;
};

const page = ['html', 'body', 'main.page', 'div#content'].map(el);
const within = (...tags: string[]) => [...page, ...tags.map(el)];

describe('the red band on the phone page', () => {
  it('works out colours as a browser does (checked on what the page is known to draw)', () => {
    expect(contrast('#fff', '#000')).toBe(21);
    expect(colour(within('p.hint'))).toBe('#505a5f');
    expect(background(within('section.ingest-down', 'p'))).toBe('#b00020');
    expect(colour(within('section.ingest-down', 'p', 'strong'))).toBe('#fff');
  });

  const bands = {
    // After back safe: "I need help", the worker's or office's number, 999 (helpActions).
    'section#help-after-back.ingest-down': [
      'button#help.danger.big',
      'a#call-worker.button.big',
      'a.button.big',
      'a#call-999.button.big.danger',
    ],
    // "YOUR ALARM WAS NOT SENT": the office's number and 999 (callButtons).
    'section#help-not-sent.not-sent': ['a.button.big.danger', 'a.button.big.danger'],
  };
  for (const [band, buttons] of Object.entries(bands)) {
    it(`${band}: every word at least 4.5:1 against the red — the return time's hint too`, () => {
      for (const words of [
        within(band, 'p', 'strong'),
        within(band, 'h2'),
        within(band, 'form#resume-watch', 'div.field', 'label'),
        within(band, 'form#resume-watch', 'div.field', 'p.hint'),
        within(band, 'p#resume-watch-hint'),
      ]) {
        const said = words.at(-1)!;
        expect(contrast(colour(words), background(words)), JSON.stringify(said)).toBeGreaterThanOrEqual(4.5);
      }
    });

    it(`${band}: its call buttons read as buttons on it`, () => {
      const behind = background(within(band));
      for (const b of buttons) {
        const button = within(band, 'div.big-actions', b);
        expect(contrast(colour(button), background(button)), `${b}: its words`).toBeGreaterThanOrEqual(4.5);
        // Its shape against the band, by its edge or its fill: a button filled with the band's own
        // colour and edged in it has none, and reads as words.
        const edge = border(button);
        const shape = Math.max(contrast(background(button), behind), edge ? contrast(edge, behind) : 1);
        expect(shape, `${b}: its edge`).toBeGreaterThanOrEqual(3);
      }
    });
  }
});
