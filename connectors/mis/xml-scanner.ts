/**
 * Doorstep's XML tokenizer: strict XML 1.0 well-formedness, streamed, over the decoded text of a
 * file. It reports only what the MIS readers use — an element opened (its name), text (entities
 * decoded, CDATA as text, line ends normalised), an element closed and, to a reader that asks, the
 * namespace declarations (`xmlns`, `xmlns:p`) of an element before it opens — and checks everything
 * else and drops it: attributes (names, quoting, no `<` in a value, no repeats), comments, processing
 * instructions, the XML declaration (only at the very start).
 *
 * Why not a library: saxes (which this replaced, and which the tests still hold it against on random
 * documents, split at random) takes half of an import's time on a 143 MB session-attendance export,
 * examining every character one at a time; no streaming JavaScript parser measured was faster
 * (htmlparser2, ltx, sax-wasm). This one finds each `<` with `indexOf`, matches a closing tag
 * against the open element's name in place and reuses the string of a name it has seen.
 *
 * Repeated records: an export is mostly the same element over and over, each holding only leaves
 * (`<Rec><A>1</A><B/></Rec>`). When an element closes whose source, all in the buffer, was exactly
 * `<Rec>`, then leaves `<A>text</A>`, `<A></A>` or `<A/>` (no attributes; text with no `<`, `&`, `>`
 * or CR) with nothing but spaces, tabs and LFs between them, then `</Rec>`, its shape is learned as a
 * sticky regular expression (names escaped; each leaf `(?:<A>([^<&>\r]*)<\/A>|<A\/>)`, each gap that
 * held spaces a capture). A `<` met where such an element opened (same depth, same parent) is tried
 * against the shapes learned there that were used last (4 at most); a match wholly within what has
 * been checked for forbidden characters, and no longer than `maxToken`, is reported event by event as
 * the general path would (each at its own line), and anything else — a split chunk, an entity, an
 * attribute, an error — is left to the general path. What a pattern matches is well-formed by
 * construction, so nothing the general path refuses is accepted; each character class excludes the
 * `<` that must follow it, so a failed match backtracks in linear time. At most 16 shapes are kept
 * compiled, the oldest dropped, and 64 compiled in a document; a record that cannot be learned makes
 * learning wait for more records each time (up to 1024), and so do records that no shape matches,
 * more than 8 in a row, for matching. `fastPath: false` turns all this off.
 *
 * Safety is by omission: a DOCTYPE is refused (kind `doctype`), so no entity is ever declared or
 * resolved beyond the five predefined ones and character references; a token longer than
 * `maxToken` characters, elements nested deeper than `maxDepth` or more than `maxAttributes`
 * attributes on one element stop the scan (kinds `too-long`, `too-deep`, `too-many-attributes`).
 */

export type XmlScanErrorKind = 'syntax' | 'doctype' | 'too-long' | 'too-deep' | 'too-many-attributes';

export class XmlScanError extends Error {
  readonly line: number;
  readonly kind: XmlScanErrorKind;
  constructor(message: string, line: number, kind: XmlScanErrorKind = 'syntax') {
    super(message);
    this.line = line;
    this.kind = kind;
  }
}

export interface XmlEvents {
  /**
   * A namespace declaration on the element about to be opened (`xmlns:xs="…"`: prefix `xs`;
   * `xmlns="…"`: prefix ''), its value decoded; called before that element's `open`. Optional: a
   * reader that gives none gets no declarations.
   */
  namespace?(prefix: string, uri: string): void;
  open(name: string): void;
  text(text: string): void;
  close(name: string): void;
}

export interface XmlLimits {
  maxToken: number;
  maxDepth: number;
  maxAttributes: number;
}

const PROLOG = 0;
const ROOT = 1;
const EPILOG = 2;

const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;
const LT = 0x3c;

/** At most this many record shapes are kept; a new one past them replaces the oldest. */
const MAX_TEMPLATES = 16;
/** At a record, the shapes used last, at most this many, are tried (the rest wait to be learned again). */
const MAX_TRIED = 4;
/** At most this many are compiled in a document: past them, only those kept are tried. */
const MAX_TEMPLATES_LEARNED = 64;
/** After this many records in a row that no shape matched, records are let pass untried, more each time. */
const MAX_MISSES = 8;
/** A record with more leaves than this (or a longer pattern) is read by the general path only. */
const MAX_TEMPLATE_LEAVES = 256;
const MAX_TEMPLATE_SOURCE = 16_384;
/** After a record that cannot be learned (or matched), at most this many are let pass untried. */
const MAX_BACKOFF = 1024;

// XML 1.0 (fifth edition) names: ASCII by table, the rest by the production's ranges.
const NAME_START_ASCII = new Uint8Array(128);
const NAME_ASCII = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  NAME_START_ASCII[c] = /[A-Za-z_:]/.test(ch) ? 1 : 0;
  NAME_ASCII[c] = /[A-Za-z0-9_:.-]/.test(ch) ? 1 : 0;
}
const NAME_START_RANGES =
  ':A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
const NAME_START = new RegExp(`^[${NAME_START_RANGES}]$`, 'u');
const NAME_CHAR = new RegExp(`^[${NAME_START_RANGES}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040]$`, 'u');
const NAME = new RegExp(
  `^[${NAME_START_RANGES}][${NAME_START_RANGES}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040]*$`,
  'u',
);
/**
 * Characters XML 1.0 does not allow anywhere, and surrogates (allowed only in pairs: checked one by
 * one, as characters beyond U+FFFF are rare in these files).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters it finds
const SUSPECT = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF\uD800-\uDFFF]/g;
const DECLARATION =
  /^<\?xml\s+version\s*=\s*(["'])1\.[0-9]+\1(?:\s+encoding\s*=\s*(["'])[A-Za-z][A-Za-z0-9._-]*\2)?(?:\s+standalone\s*=\s*(["'])(?:yes|no)\3)?\s*\?>$/;
/** Null-prototype: `&constructor;` or `&__proto__;` must not find a member of `Object.prototype`. */
const PREDEFINED: Record<string, string | undefined> = Object.assign(Object.create(null), {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
});
/** How each `<!` construct starts: a buffer ending in a prefix of one of these waits for more. */
const BANG_STARTS = ['<!--', '<![CDATA[', '<!DOCTYPE'];

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** Whether `b` holds `s` at `at` (a loop the JIT keeps inline: faster than `startsWith` here). */
function holds(b: string, at: number, s: string): boolean {
  const n = s.length;
  if (at + n > b.length) return false;
  for (let k = 0; k < n; k++) if (b.charCodeAt(at + k) !== s.charCodeAt(k)) return false;
  return true;
}

/** Where the first `c` at or after `from` is in `b`, or `b.length`. */
function nextIndex(b: string, c: string, from: number): number {
  const k = b.indexOf(c, from);
  return k === -1 ? b.length : k;
}

/** Where `names` keeps a name, by its length, first and last characters. */
function slotOf(length: number, first: number, last: number): number {
  return (length * 7 + first * 3 + last) & 255;
}

/** `s` as a regular-expression literal (names are XML names, checked, but escaped all the same). */
function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/**
 * A record shape learned from one read by the general path: `<name>` at `depth` under `parent`, then
 * leaves `<leaf>text</leaf>` or `<leaf/>`, each gap that held whitespace read as a capture.
 */
interface Template {
  readonly re: RegExp;
  readonly depth: number;
  readonly parent: string;
  readonly name: string;
  readonly leaves: readonly string[];
  /** Whether the gap before each leaf (and, last, before the closing tag) has a capture. */
  readonly gaps: readonly boolean[];
}

/**
 * A name the document gives where an error is found (a closing tag that does not match, an
 * attribute, an entity, a second root) is described by its length, never quoted. Where a file is
 * cut or garbled, a pupil's name or address lands where a name belongs — one word of it ("Jones") is
 * as well-formed a name as "Surname" — and the error is logged, kept on the import and shown. Nor is
 * an element the file opened named: a garbled `Mum said <Jones> will collect` opens one called Jones.
 * The line says where to look.
 */
export function nameOf(s: string): string {
  return s.length === 0 ? 'with no name' : `of ${s.length} character${s.length === 1 ? '' : 's'}`;
}

export class XmlScanner {
  private buf = '';
  private pos = 0;
  /** Absolute offset of `buf[0]` in the document. */
  private offset = 0;
  private where = PROLOG;
  private readonly stack: string[] = [];
  private ended = false;
  // Lines: `lineBase` is the line of `buf[lineFrom]`.
  private lineBase = 1;
  private lineFrom = 0;
  /** Where in `buf` the first line end at or after `lineFrom` is (`buf.length` if none; -1: not looked for). */
  private lineNext = -1;
  /** The next `\n` and `\r` found (each `buf.length` if none, -1 before the first search). */
  private lfNext = -1;
  private crNext = -1;
  private tokenAt = 0;
  /** Names seen lately, by length and first character: a repeated name is not sliced again. */
  private readonly names: (string | undefined)[] = new Array(256);
  private readonly events: XmlEvents;
  private readonly limits: XmlLimits;
  /** Absolute offset of the `<` of each open element (beside `stack`), and of the last one opened. */
  private readonly openAt: number[] = [];
  private lastOpenAt = -1;
  /** Record shapes learned (by their pattern), the one tried first, and the learning's backoff. */
  private readonly fast: boolean;
  private readonly templates = new Map<string, Template>();
  /** The shapes used last, the last first: those tried at a record. */
  private readonly recent: Template[] = [];
  private learned = 0;
  private learnFailures = 0;
  private learnSkip = 0;
  private misses = 0;
  private missSkip = 0;

  constructor(events: XmlEvents, limits: XmlLimits, options: { fastPath?: boolean } = {}) {
    this.events = events;
    this.limits = limits;
    this.fast = options.fastPath ?? true;
  }

  /** The line of the token being reported (or of the error). */
  get line(): number {
    const to = Math.max(this.tokenAt, this.lineFrom);
    const b = this.buf;
    // The next line end is kept: searching for it at every call would read the rest of a line again
    // each time, quadratic in the length of a line (a whole chunk, in a file on one line).
    let k = this.lineNext;
    if (k < this.lineFrom) k = this.lineEnd(b, this.lineFrom);
    while (k < to) {
      this.lineBase++;
      k = this.lineEnd(b, k + 1);
    }
    this.lineFrom = to;
    this.lineNext = k;
    return this.lineBase;
  }

  /**
   * The first line end at or after `from`: a `\n`, or a `\r` not followed by one (XML 1.0 §2.11: old
   * Mac files end lines with CR alone; in CRLF the LF is the end). Each character's next place is kept,
   * so every line end is searched for once.
   */
  private lineEnd(b: string, from: number): number {
    if (this.lfNext < from) this.lfNext = nextIndex(b, '\n', from);
    for (let at = from; ; ) {
      if (this.crNext < at) this.crNext = nextIndex(b, '\r', at);
      const cr = this.crNext;
      if (cr >= this.lfNext) return this.lfNext;
      if (b.charCodeAt(cr + 1) !== 0x0a) return cr;
      at = cr + 1;
    }
  }

  /** How many elements are open. */
  get depth(): number {
    return this.stack.length;
  }

  write(chunk: string): void {
    if (this.ended) throw new Error('XmlScanner: write after close');
    this.tokenAt = this.pos;
    void this.line; // count the lines of what is dropped
    // A CR the buffer ended in was counted as a line end: an LF after it is the same line end.
    const crCounted =
      this.pos > 0 && this.pos === this.buf.length && this.buf.charCodeAt(this.pos - 1) === 0x0d;
    this.offset += this.pos;
    // Joined, not `+`: a concatenation is a rope V8 reads a character at a time several times slower.
    this.buf = this.pos < this.buf.length ? [this.buf.slice(this.pos), chunk].join('') : chunk;
    this.pos = 0;
    this.lineFrom = crCounted && this.buf.charCodeAt(0) === 0x0a ? 1 : 0;
    this.lineNext = -1;
    this.lfNext = -1;
    this.crNext = -1;
    this.tokenAt = 0;
    // What was carried over was checked, but for a high surrogate at its end (its pair may follow).
    const from = this.buf.length - chunk.length;
    this.checkCharacters(from > 0 && isHighSurrogate(this.buf.charCodeAt(from - 1)) ? from - 1 : from, false);
    this.scan(this.buf.length);
  }

  close(): void {
    this.ended = true;
    const last = this.buf.length - 1;
    if (last >= 0 && isHighSurrogate(this.buf.charCodeAt(last))) this.checkCharacters(last, true);
    this.scan(this.buf.length, true);
    if (this.pos < this.buf.length) {
      this.tokenAt = this.pos;
      this.fail('the file ends inside a tag, comment or CDATA section: the file is cut short');
    }
    this.tokenAt = this.buf.length;
    if (this.where === PROLOG) this.fail('the document has no root element');
    if (this.where === ROOT)
      this.fail(
        `the file ends inside an element (${nameOf(this.stack.at(-1)!)}) still open: the file is cut short`,
      );
  }

  /** Refuses a character XML does not allow, after reporting what comes before it. */
  private checkCharacters(from: number, final: boolean): void {
    const b = this.buf;
    SUSPECT.lastIndex = from;
    for (let m = SUSPECT.exec(b); m !== null; m = SUSPECT.exec(b)) {
      const at = m.index;
      const c = b.charCodeAt(at);
      if (isHighSurrogate(c)) {
        const next = b.charCodeAt(at + 1);
        if (next >= 0xdc00 && next <= 0xdfff) {
          SUSPECT.lastIndex = at + 2;
          continue;
        }
        if (Number.isNaN(next) && !final) return;
      }
      this.scan(at);
      this.tokenAt = at;
      this.fail(`a character XML does not allow (U+${c.toString(16).toUpperCase().padStart(4, '0')})`);
    }
  }

  private fail(message: string, kind: XmlScanErrorKind = 'syntax'): never {
    throw new XmlScanError(message, this.line, kind);
  }

  /** Reports every complete token in `buf[pos, end)`; an incomplete one waits for the next chunk. */
  private scan(end: number, final = false): void {
    const b = this.buf;
    let p = this.pos;
    while (p < end) {
      const lt = b.indexOf('<', p);
      const textEnd = lt === -1 || lt >= end ? end : lt;
      if (textEnd > p) {
        if (textEnd === end && !final && end === b.length && this.where === ROOT) {
          // The text may go on in the next chunk (or an entity be split): wait for its end.
          if (end - p > this.limits.maxToken) {
            this.tokenAt = p;
            this.fail(`a text longer than ${this.limits.maxToken} characters`, 'too-long');
          }
          break;
        }
        this.tokenAt = p;
        if (textEnd - p > this.limits.maxToken && this.where === ROOT)
          this.fail(`a text longer than ${this.limits.maxToken} characters`, 'too-long');
        this.text(b, p, textEnd);
        p = textEnd;
        if (p === end) break;
      }
      if (this.recent.length > 0 && this.where === ROOT) {
        const next = this.record(b, lt, end);
        if (next >= 0) {
          p = next;
          continue;
        }
      }
      this.tokenAt = lt;
      const next = this.tag(b, lt);
      if (next < 0 || next > end) {
        if (b.length - lt > this.limits.maxToken)
          this.fail(`a tag longer than ${this.limits.maxToken} characters`, 'too-long');
        break;
      }
      // However the chunks fell: a token the limit refuses while incomplete is refused whole too.
      if (next - lt > this.limits.maxToken) {
        this.tokenAt = lt;
        this.fail(`a tag longer than ${this.limits.maxToken} characters`, 'too-long');
      }
      p = next;
    }
    this.pos = p;
  }

  private text(b: string, from: number, to: number): void {
    if (this.where !== ROOT) {
      for (let i = from; i < to; i++) {
        if (!isSpace(b.charCodeAt(i))) {
          this.tokenAt = i;
          this.fail(this.where === PROLOG ? 'text before the root element' : 'text after the root element');
        }
      }
      return;
    }
    let t = b.slice(from, to);
    if (t.includes(']]>')) {
      this.tokenAt = b.indexOf(']]>', from);
      this.fail("']]>' is not allowed in text");
    }
    if (t.includes('\r')) t = t.replace(/\r\n?/g, '\n');
    if (t.includes('&')) t = this.entities(t, from);
    this.events.text(t);
  }

  /** Decodes the predefined entities and character references; anything else is an error. */
  private entities(t: string, at: number): string {
    let out = '';
    let from = 0;
    let amp = t.indexOf('&');
    while (amp !== -1) {
      const semi = t.indexOf(';', amp + 1);
      const ref = semi === -1 ? t.slice(amp + 1) : t.slice(amp + 1, semi);
      let ch = PREDEFINED[ref];
      if (ch === undefined || semi === -1) {
        const m = semi === -1 ? null : /^#(?:x0*([0-9A-Fa-f]{1,6})|0*([0-9]{1,7}))$/.exec(ref);
        if (m) {
          const cp = m[1] !== undefined ? Number.parseInt(m[1], 16) : Number(m[2]);
          if (!isXmlChar(cp))
            this.refFail(t, amp, at, `a character reference to a character XML does not allow: &${ref};`);
          ch = String.fromCodePoint(cp);
        } else if (semi !== -1 && NAME.test(ref)) {
          this.refFail(
            t,
            amp,
            at,
            `an undeclared entity (&…; ${nameOf(ref)}; only &amp; &lt; &gt; &quot; &apos; and &#…; are read)`,
          );
        } else this.refFail(t, amp, at, "a '&' that does not start an entity reference (write it as &amp;)");
      }
      out += t.slice(from, amp) + ch;
      from = semi + 1;
      amp = t.indexOf('&', from);
    }
    return out + t.slice(from);
  }

  /**
   * Fails at the line of the `&` at `amp` in `t`, which was read from `buf` at `at` (line ends since
   * normalised, so it is found as the same `&` by count).
   */
  private refFail(t: string, amp: number, at: number, message: string): never {
    let n = 0;
    for (let k = t.indexOf('&'); k < amp; k = t.indexOf('&', k + 1)) n++;
    let r = this.buf.indexOf('&', at);
    for (; n > 0; n--) r = this.buf.indexOf('&', r + 1);
    this.tokenAt = r;
    this.fail(message);
  }

  /** Where the name starting at `i` ends (`i` when there is none), or -1 when the buffer ends first. */
  private nameEnd(b: string, i: number): number {
    const n = b.length;
    let j = i;
    while (j < n) {
      const c = b.charCodeAt(j);
      if (c < 128) {
        if (!(j === i ? NAME_START_ASCII[c] : NAME_ASCII[c])) return j;
        j++;
      } else {
        // Half of a character beyond U+FFFF at the end: its other half is in the next chunk.
        if (j + 1 === n && isHighSurrogate(c)) return -1;
        const cp = b.codePointAt(j)!;
        const ch = String.fromCodePoint(cp);
        if (!(j === i ? NAME_START : NAME_CHAR).test(ch)) return j;
        j += ch.length;
      }
    }
    return -1;
  }

  /** A name just checked, kept for `openTag`'s fast path. */
  private nameAt(b: string, from: number, to: number): string {
    const name = b.slice(from, to);
    this.names[slotOf(name.length, name.charCodeAt(0), name.charCodeAt(name.length - 1))] = name;
    return name;
  }

  /** Reads the tag at `lt`; returns where the next token starts, or -1 when it is not complete. */
  private tag(b: string, lt: number): number {
    const c = b.charCodeAt(lt + 1);
    if (Number.isNaN(c)) return -1;
    if (c === SLASH) return this.closeTag(b, lt);
    if (c === BANG) return this.bang(b, lt);
    if (c === QUESTION) return this.instruction(b, lt);
    return this.openTag(b, lt);
  }

  private closeTag(b: string, lt: number): number {
    const gt = b.indexOf('>', lt + 2);
    if (gt === -1) return -1;
    const top = this.stack.at(-1);
    let i = lt + 2;
    if (top !== undefined && gt - i === top.length && holds(b, i, top)) return this.closed(top, lt, gt + 1);
    let matched = false;
    if (top !== undefined && holds(b, i, top)) {
      i += top.length;
      while (i < gt && isSpace(b.charCodeAt(i))) i++;
      matched = i === gt;
    }
    if (top === undefined || !matched) {
      const found = nameOf(b.slice(lt + 2, gt).trim());
      this.fail(
        top === undefined
          ? `a closing tag (${found}) with no element open`
          : `a closing tag (${found}) where the element open there (${nameOf(top)}) must close first (elements close in the order they opened)`,
      );
    }
    return this.closed(top, lt, gt + 1);
  }

  private closed(name: string, lt: number, next: number): number {
    this.stack.pop();
    const at = this.openAt.pop()!;
    if (this.stack.length === 0) this.where = EPILOG;
    this.events.close(name);
    // An element with children, not the root: a record whose shape may be learned.
    if (this.fast && at !== this.lastOpenAt && this.stack.length > 0) {
      if (this.learnSkip > 0) this.learnSkip--;
      else if (at >= this.offset && this.learn(this.buf, at - this.offset, lt, next, name))
        this.learnFailures = 0;
      else this.learnSkip = Math.min(2 ** ++this.learnFailures, MAX_BACKOFF);
    }
    return next;
  }

  private openTag(b: string, lt: number): number {
    // A name seen before, alone in its tag (`<Name>`, `<Name/>`): the common case, compared in place.
    const gt = b.indexOf('>', lt + 1);
    if (gt !== -1) {
      const selfClosing = b.charCodeAt(gt - 1) === SLASH;
      const len = (selfClosing ? gt - 1 : gt) - lt - 1;
      const seen = this.names[slotOf(len, b.charCodeAt(lt + 1), b.charCodeAt(lt + len))];
      if (seen !== undefined && seen.length === len && holds(b, lt + 1, seen))
        return this.opened(seen, selfClosing, lt, gt + 1);
    }
    const ne = this.nameEnd(b, lt + 1);
    if (ne === -1) return -1;
    if (ne === lt + 1) this.fail(`a '<' that does not start a tag (write it as &lt;)`);
    let i = ne;
    let attributes = 0;
    let seen: Set<string> | undefined;
    let first: string | undefined;
    /** Namespace declarations in the tag: prefix, then value. */
    let declarations: string[] | undefined;
    let selfClosing = false;
    for (;;) {
      let c = b.charCodeAt(i);
      if (Number.isNaN(c)) return -1;
      if (c === GT) {
        i++;
        break;
      }
      if (c === SLASH) {
        c = b.charCodeAt(i + 1);
        if (Number.isNaN(c)) return -1;
        if (c !== GT) this.fail("a '/' in a tag not followed by '>'");
        selfClosing = true;
        i += 2;
        break;
      }
      this.tokenAt = i;
      if (!isSpace(c)) this.fail('a tag whose attributes are not separated by spaces, or not name="value"');
      while (isSpace(b.charCodeAt(i))) i++;
      c = b.charCodeAt(i);
      if (Number.isNaN(c)) return -1;
      if (c === GT || c === SLASH) continue;
      this.tokenAt = i;
      // An attribute: name = "value" — checked, not reported (but for a namespace declaration).
      const ae = this.nameEnd(b, i);
      if (ae === -1) return -1;
      if (ae === i) this.fail('a tag whose attributes are not name="value"');
      const name = b.slice(i, ae);
      i = ae;
      while (isSpace(b.charCodeAt(i))) i++;
      c = b.charCodeAt(i);
      if (Number.isNaN(c)) return -1;
      if (c !== EQUALS) this.fail(`an attribute (${nameOf(name)}) with no value (expected name="value")`);
      i++;
      while (isSpace(b.charCodeAt(i))) i++;
      const q = b.charCodeAt(i);
      if (Number.isNaN(q)) return -1;
      if (q !== QUOTE && q !== APOSTROPHE)
        this.fail(`an attribute (${nameOf(name)}) whose value is not quoted`);
      const close = b.indexOf(q === QUOTE ? '"' : "'", i + 1);
      if (close === -1) return -1;
      let value = b.slice(i + 1, close);
      if (value.includes('<')) this.fail(`a '<' in the value of an attribute (${nameOf(name)})`);
      if (value.includes('&')) value = this.entities(value, i + 1);
      if (++attributes > this.limits.maxAttributes)
        this.fail(`an element with more than ${this.limits.maxAttributes} attributes`, 'too-many-attributes');
      if (first === undefined) first = name;
      else {
        seen ??= new Set([first]);
        if (seen.has(name)) this.fail(`an attribute (${nameOf(name)}) given twice in one tag`);
        seen.add(name);
      }
      // Reported once the tag is whole: a tag split across chunks is read again from its start.
      if (this.events.namespace && (name === 'xmlns' || name.startsWith('xmlns:'))) {
        declarations ??= [];
        declarations.push(name.length === 5 ? '' : name.slice(6), value);
      }
      i = close + 1;
    }
    this.tokenAt = lt;
    if (declarations)
      for (let k = 0; k < declarations.length; k += 2)
        this.events.namespace!(declarations[k]!, declarations[k + 1]!);
    return this.opened(this.nameAt(b, lt + 1, ne), selfClosing, lt, i);
  }

  private opened(name: string, selfClosing: boolean, lt: number, next: number): number {
    if (this.where === EPILOG) this.fail(`a second root element (${nameOf(name)}; a document has one)`);
    this.where = ROOT;
    if (this.stack.length >= this.limits.maxDepth)
      this.fail(`elements nested more than ${this.limits.maxDepth} deep`, 'too-deep');
    this.events.open(name);
    this.lastOpenAt = this.offset + lt;
    if (selfClosing) {
      if (this.stack.length === 0) this.where = EPILOG;
      this.events.close(name);
    } else {
      this.stack.push(name);
      this.openAt.push(this.lastOpenAt);
    }
    return next;
  }

  /**
   * Learns the shape of the element `name` just closed, read from `b[from, next)` (its closing tag
   * at `closeAt`), if it is a record of leaves: `<name>`, then only `<leaf>text</leaf>` or `<leaf/>`
   * (text with no `<`, `&`, `>` or CR) and whitespace with no CR between them, then `</name>`.
   * Returns whether it was learned (or already known); the template is then the one tried first.
   */
  private learn(b: string, from: number, closeAt: number, next: number, name: string): boolean {
    const depth = this.stack.length;
    if (depth + 1 >= this.limits.maxDepth || next - from > this.limits.maxToken) return false;
    let i = from + 1 + name.length;
    if (!holds(b, from + 1, name) || b.charCodeAt(i) !== GT) return false;
    i++;
    const leaves: string[] = [];
    const gaps: boolean[] = [];
    const e = escapeRegExp(name);
    let source = `<${e}>`;
    for (;;) {
      const g = i;
      for (let c = b.charCodeAt(i); c === 0x20 || c === 0x0a || c === 0x09; c = b.charCodeAt(++i));
      gaps.push(i > g);
      if (i > g) source += '([ \\t\\n]*)';
      if (i === closeAt) break;
      if (b.charCodeAt(i) !== LT || leaves.length === MAX_TEMPLATE_LEAVES) return false;
      const gt = b.indexOf('>', i + 1);
      if (gt === -1 || gt >= closeAt) return false;
      const selfClosing = b.charCodeAt(gt - 1) === SLASH;
      const leaf = b.slice(i + 1, selfClosing ? gt - 1 : gt);
      if (!NAME.test(leaf)) return false;
      i = gt + 1;
      if (!selfClosing) {
        const lt = b.indexOf('<', i);
        for (let k = i; k < lt; k++) {
          const c = b.charCodeAt(k);
          if (c === 0x26 || c === GT || c === 0x0d) return false;
        }
        if (lt >= closeAt || !holds(b, lt, `</${leaf}>`)) return false;
        i = lt + leaf.length + 3;
      }
      leaves.push(leaf);
      const l = escapeRegExp(leaf);
      source += `(?:<${l}>([^<&>\\r]*)<\\/${l}>|<${l}\\/>)`;
      if (source.length > MAX_TEMPLATE_SOURCE) return false;
    }
    if (leaves.length === 0 || next !== closeAt + name.length + 3) return false;
    source += `<\\/${e}>`;
    const parent = this.stack[depth - 1]!;
    const key = `${depth} ${parent} ${source}`;
    let template = this.templates.get(key);
    if (template === undefined) {
      if (this.learned === MAX_TEMPLATES_LEARNED) return false;
      this.learned++;
      if (this.templates.size >= MAX_TEMPLATES) this.templates.delete(this.templates.keys().next().value!);
      template = { re: new RegExp(source, 'y'), depth, parent, name, leaves, gaps };
      this.templates.set(key, template);
      this.misses = 0;
      this.missSkip = 0;
    }
    const recent = this.recent;
    const k = recent.indexOf(template);
    if (k !== 0) {
      if (k > 0) recent.splice(k, 1);
      recent.unshift(template);
      if (recent.length > MAX_TRIED) recent.pop();
    }
    return true;
  }

  /**
   * A record at `lt` read whole by a learned template, with the events (and, at each, the token's
   * place for its line) the general path gives it; -1 when none matches within `end` and the
   * token limit: the general path reads it then.
   */
  private record(b: string, lt: number, end: number): number {
    const depth = this.stack.length;
    const parent = this.stack[depth - 1];
    const recent = this.recent;
    let t = recent[0]!;
    if (t.depth !== depth || t.parent !== parent) return -1;
    const c = b.charCodeAt(lt + 1);
    if (c === SLASH || c === BANG || c === QUESTION) return -1;
    if (this.missSkip > 0) {
      this.missSkip--;
      return -1;
    }
    let m = this.match(t, b, lt, end);
    if (m === null) {
      for (let i = 1; i < recent.length; i++) {
        const other = recent[i]!;
        if (other.depth !== depth || other.parent !== parent) continue;
        m = this.match(other, b, lt, end);
        if (m !== null) {
          t = other;
          recent.splice(i, 1);
          recent.unshift(t);
          break;
        }
      }
      if (m === null) {
        if (++this.misses > MAX_MISSES)
          this.missSkip = Math.min(2 ** (this.misses - MAX_MISSES), MAX_BACKOFF);
        return -1;
      }
    }
    this.misses = 0;
    const events = this.events;
    const stack = this.stack;
    const { name, leaves, gaps } = t;
    this.tokenAt = lt;
    events.open(name);
    stack.push(name);
    let at = lt + name.length + 2;
    let k = 1;
    for (let i = 0; ; i++) {
      if (gaps[i]) {
        const g = m[k++]!;
        if (g.length > 0) {
          this.tokenAt = at;
          events.text(g);
          at += g.length;
        }
      }
      if (i === leaves.length) break;
      const leaf = leaves[i]!;
      const text = m[k++];
      this.tokenAt = at;
      events.open(leaf);
      if (text === undefined) {
        events.close(leaf);
        at += leaf.length + 3;
        continue;
      }
      stack.push(leaf);
      at += leaf.length + 2;
      if (text.length > 0) {
        this.tokenAt = at;
        events.text(text);
        at += text.length;
      }
      this.tokenAt = at;
      stack.pop();
      events.close(leaf);
      at += leaf.length + 3;
    }
    this.tokenAt = at;
    stack.pop();
    events.close(name);
    return at + name.length + 3;
  }

  private match(t: Template, b: string, lt: number, end: number): RegExpExecArray | null {
    t.re.lastIndex = lt;
    const m = t.re.exec(b);
    if (m === null || t.re.lastIndex > end || t.re.lastIndex - lt > this.limits.maxToken) return null;
    return m;
  }

  private bang(b: string, lt: number): number {
    if (b.startsWith('<!--', lt)) {
      const end = b.indexOf('-->', lt + 4);
      if (end === -1) return -1;
      const body = b.slice(lt + 4, end);
      if (body.includes('--') || body.endsWith('-')) this.fail("'--' inside a comment");
      return end + 3;
    }
    if (b.startsWith('<![CDATA[', lt)) {
      if (this.where !== ROOT) this.fail('a CDATA section outside the root element');
      const end = b.indexOf(']]>', lt + 9);
      if (end === -1) return -1;
      let t = b.slice(lt + 9, end);
      if (t.includes('\r')) t = t.replace(/\r\n?/g, '\n');
      this.events.text(t);
      return end + 3;
    }
    if (b.startsWith('<!DOCTYPE', lt))
      this.fail('a DOCTYPE is not allowed (external entities are never resolved)', 'doctype');
    const rest = b.slice(lt);
    if (BANG_STARTS.some((s) => rest.length < s.length && s.startsWith(rest))) return -1;
    this.fail(`'<!' that starts no comment or CDATA section`);
  }

  private instruction(b: string, lt: number): number {
    const end = b.indexOf('?>', lt + 2);
    if (end === -1) return -1;
    const te = this.nameEnd(b, lt + 2);
    if (te <= lt + 2) this.fail("'<?' with no target name");
    const target = b.slice(lt + 2, te);
    if (target.toLowerCase() === 'xml') {
      if (this.offset + lt !== 0 || target !== 'xml')
        this.fail('an XML declaration (<?xml … ?>) anywhere but at the very start of the file');
      if (!DECLARATION.test(b.slice(lt, end + 2)))
        this.fail('an XML declaration that is not <?xml version="1.x" encoding="…" standalone="yes|no"?>');
      return end + 2;
    }
    if (te !== end && !isSpace(b.charCodeAt(te)))
      this.fail(`a processing instruction whose target is not a name`);
    return end + 2;
  }
}
