import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/**
 * web/assets/board-live.js run in Node against a minimal DOM and EventSource stand-in (no browser):
 * a board waking from an hour asleep on a healthy server gives its new stream 25 s from waking —
 * no "unreachable" banner or sound at once.
 */

class El {
  tagName: string;
  children: El[] = [];
  attrs: Record<string, string> = {};
  listeners: Record<string, ((e: unknown) => void)[]> = {};
  dataset: Record<string, string> = {};
  className = '';
  textContent = '';
  classList = { add() {}, remove() {}, contains: () => false };
  constructor(tag: string) {
    this.tagName = tag;
  }
  setAttribute(k: string, v: string) {
    this.attrs[k] = v;
    if (k === 'id') ids.set(v, this);
  }
  removeAttribute(k: string) {
    delete this.attrs[k];
  }
  addEventListener(t: string, f: (e: unknown) => void) {
    this.listeners[t] ??= [];
    this.listeners[t].push(f);
  }
  append(...c: El[]) {
    this.children.push(...c);
  }
  prepend(...c: El[]) {
    this.children.unshift(...c);
  }
  remove() {
    if (this.attrs.id) ids.delete(this.attrs.id);
  }
  contains() {
    return false;
  }
}
const ids = new Map<string, El>();

class FakeEventSource {
  static CLOSED = 2;
  static all: FakeEventSource[] = [];
  readyState = 0;
  url: string;
  listeners: Record<string, ((e: unknown) => void)[]> = {};
  constructor(url: string) {
    this.url = url;
    FakeEventSource.all.push(this);
  }
  addEventListener(t: string, f: (e: unknown) => void) {
    this.listeners[t] ??= [];
    this.listeners[t].push(f);
  }
  close() {
    this.readyState = 2;
  }
  emit(t: string, e: Record<string, unknown> = {}) {
    for (const f of this.listeners[t] ?? []) f({ lastEventId: '', ...e });
  }
}

let live: { connect: () => void };
let shared: { state: Record<string, unknown> };
let sound: { unreachable?: boolean; enabled: boolean };
let soundToggle: () => El;

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(new Date('2026-12-03T07:00:00Z'));
  const g = globalThis as Record<string, unknown>;
  g.window = globalThis;
  g.Node = El;
  g.localStorage = { getItem: () => null, setItem() {}, removeItem() {} };
  // The sound is on (a mute is never stored): an AudioContext that plays nothing.
  const node = () => ({
    frequency: {},
    gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} },
    connect: (n: unknown) => n,
    start() {},
    stop() {},
  });
  g.AudioContext = class {
    state = 'running';
    currentTime = 0;
    destination = {};
    createOscillator = node;
    createGain = node;
    resume = async () => {};
  };
  for (const id of ['message', 'content', 'live']) new El('div').setAttribute('id', id);
  const main = new El('main');
  const body = new El('body');
  g.document = {
    getElementById: (id: string) => ids.get(id) ?? null,
    createElement: (tag: string) => new El(tag),
    createTextNode: (t: string) => Object.assign(new El('#text'), { textContent: t }),
    querySelector: (s: string) => (s === 'main' ? main : null),
    body,
  };
  g.EventSource = FakeEventSource;
  g.fetch = async () => ({
    ok: true,
    status: 200,
    headers: { get: () => 'application/json' },
    json: async () => ({ eventTypes: ['alarm-raised'] }),
  });
  const asset = (f: string) => import(new URL(`../../../web/assets/${f}`, import.meta.url).href);
  shared = await asset('board-shared.js');
  live = await asset('board-live.js');
  const soundModule = await asset('board-sound.js');
  sound = soundModule.sound;
  soundToggle = soundModule.soundToggle;
});
afterAll(() => {
  vi.useRealTimers();
});

describe('board watchdog after the computer slept', () => {
  it('a healthy server: waking after an hour asleep gives the new stream time before saying UNREACHABLE and sounding', async () => {
    shared.state.school = 'heath';
    live.connect();
    const first = FakeEventSource.all.at(-1)!;
    first.emit('open');
    first.emit('heartbeat');
    // Healthy for a minute: a heartbeat every 5 s.
    for (let i = 0; i < 12; i++) {
      await vi.advanceTimersByTimeAsync(5_000);
      first.emit('heartbeat');
    }
    expect(ids.has('board-unreachable')).toBe(false);
    expect(ids.get('live')!.textContent).toBe('Live');

    // The computer sleeps an hour (no timer runs, no event arrives), then wakes.
    vi.setSystemTime(Date.now() + 3_600_000);
    await vi.advanceTimersByTimeAsync(2_000); // the watchdog's next tick: reconnects
    const second = FakeEventSource.all.at(-1)!;
    expect(second).not.toBe(first);
    await vi.advanceTimersByTimeAsync(500); // the new stream has not answered yet (half a second)

    // Expected: no banner and no alarm sound yet — the server is up and the board reconnecting.
    expect({ banner: ids.has('board-unreachable'), sounding: sound.unreachable === true }).toEqual({
      banner: false,
      sounding: false,
    });
  });

  it("a server that stays silent: the banner says since when in London time, whatever the office PC's own zone", async () => {
    // An office PC left on another zone (here India, five and a half hours ahead).
    const zone = process.env.TZ;
    process.env.TZ = 'Asia/Kolkata';
    try {
      const lost = new Date(Date.now());
      await vi.advanceTimersByTimeAsync(30_000);
      const banner = ids.get('board-unreachable');
      expect(banner).toBeDefined();
      const text = (e: El): string => e.textContent + e.children.map(text).join('');
      const london = lost.toLocaleTimeString('en-GB', {
        hour: '2-digit',
        minute: '2-digit',
        timeZone: 'Europe/London',
      });
      const local = lost.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
      expect(local).not.toBe(london);
      expect(text(banner!)).toContain(`since ${london}`);
      expect(text(banner!)).not.toContain(local);
    } finally {
      process.env.TZ = zone;
      if (zone === undefined) delete process.env.TZ;
    }
  });

  it('"Sound off" while Doorstep was unreachable does not silence the next time it is lost', async () => {
    // Unreachable (the test above): the board sounds, and the office turns the sound off.
    expect(sound.unreachable).toBe(true);
    const toggle = soundToggle();
    toggle.listeners.click![0]!({});
    expect(sound.enabled).toBe(false);
    // Back: heartbeats again.
    const back = FakeEventSource.all.at(-1)!;
    back.emit('open');
    back.emit('heartbeat');
    expect(sound.unreachable).toBe(false);
    // Lost again, later: it sounds.
    await vi.advanceTimersByTimeAsync(30_000);
    expect(sound.unreachable).toBe(true);
    expect(sound.enabled).toBe(true);
  });
});
