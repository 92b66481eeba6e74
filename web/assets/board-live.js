import { api, fmtTime, h, say } from './app.js';
import { hooks, msg, state } from './board-shared.js';
import { setSounding, sound } from './board-sound.js';

// Live over SSE: every event (and every reconnect) re-reads the board, and EventSource resends
// Last-Event-ID so none is missed.

// The server's board event types (src/domain/board-events.ts): a new one refreshes the board too.
const EVENT_TYPES = (await api('GET', '/api/board/event-types').catch(() => null))?.eventTypes ?? [];

// The board re-reads itself at once on an event; events arriving while it reads are folded into
// one more read half a second later: a burst of alarms costs a few reads per open board, not one per alarm.
const MIN_GAP_MS = 500;
const reads = { running: false, again: false };
export function scheduleRefresh(wait = 0) {
  if (reads.running) {
    reads.again = true;
    return;
  }
  reads.running = true;
  setTimeout(async () => {
    try {
      await hooks.refresh();
    } catch (e) {
      say(msg, e.message, true);
    } finally {
      reads.running = false;
      if (reads.again) {
        reads.again = false;
        scheduleRefresh(MIN_GAP_MS); // events came in meanwhile: one more read, a little later
      }
    }
  }, wait);
}

/**
 * How long the board may be without its live stream before it says, over everything, that alarms
 * are not arriving: what it shows may be stale — an "all clear" from before the break.
 */
const UNREACHABLE_AFTER_MS = 25_000;
let unreachableTimer = null;
let downSince = null;
/** `since`: when the board last heard from the server (a stream that went silent lost it then, not when that was noticed). */
function lostStream(since = Date.now()) {
  downSince ??= new Date(since);
  unreachableTimer ??= setTimeout(
    unreachable,
    Math.max(0, downSince.getTime() + UNREACHABLE_AFTER_MS - Date.now()),
  );
  const live = document.getElementById('live');
  if (live) {
    live.textContent = 'Reconnecting…';
    live.className = 'live off';
  }
}
function streamBack() {
  if (sound.unreachable) {
    sound.unreachable = false;
    setSounding(document.body.classList.contains('has-alarm'));
  }
  clearTimeout(unreachableTimer);
  unreachableTimer = null;
  downSince = null;
  document.getElementById('board-unreachable')?.remove();
  document.getElementById('content')?.classList.remove('stale');
}
function unreachable() {
  const since = fmtTime(downSince.toISOString());
  document.getElementById('content')?.classList.add('stale');
  if (!document.getElementById('board-unreachable'))
    document
      .querySelector('main')
      ?.prepend(
        h(
          'section',
          { id: 'board-unreachable', class: 'not-sent', role: 'alert' },
          h('h2', {}, 'DOORSTEP IS UNREACHABLE: ALARMS ARE NOT ARRIVING'),
          h(
            'p',
            {},
            `This board has had no connection since ${since}. What it shows may be out of date. Phone the staff out on visits, and check the connection and the Doorstep server. This goes away by itself once the board is back.`,
          ),
        ),
      );
  sound.unreachable = true;
  setSounding(true);
}

/**
 * The server sends a heartbeat every 5 s (src/http/board-events.ts): a stream that has sent nothing
 * for 12 s hangs without closing (a server stopped, a connection dropped silently: no error comes),
 * so it is counted as lost since it was last heard, dropped and opened again — the banner then says
 * so 25 s after the last thing heard, not after a minute.
 */
const SILENT_STREAM_MS = 12_000;
let lastHeard = Date.now();
setInterval(() => {
  if (state.source && Date.now() - lastHeard > SILENT_STREAM_MS) {
    // Silent far longer than the watchdog's own tick allows: the computer slept or the tab was
    // frozen — nothing was watching, so the stream is given its 25 s from now to come back.
    const heard = Date.now() - lastHeard > SILENT_STREAM_MS + 10_000 ? Date.now() : lastHeard;
    lastHeard = Date.now();
    state.connected = false;
    lostStream(heard);
    connect();
  }
}, 2_000);

let retryTimer = null;
export function connect() {
  clearTimeout(retryTimer);
  state.source?.close();
  // A new stream after a failure carries the last id itself (the browser only resends it on its own retries).
  const since = state.lastEventId ? `&lastEventId=${encodeURIComponent(state.lastEventId)}` : '';
  const src = new EventSource(`/board/events?school=${encodeURIComponent(state.school)}${since}`);
  state.source = src;
  const live = document.getElementById('live');
  // Back is a heartbeat (sent once the board has caught up), not a stream merely opened: one that
  // opens and fails its catch-up again and again is still lost.
  src.addEventListener('heartbeat', () => {
    lastHeard = Date.now();
    streamBack();
  });
  src.addEventListener('open', () => {
    lastHeard = Date.now();
    state.connected = true;
    state.retries = 0;
    live.textContent = 'Live';
    live.className = 'live on';
    scheduleRefresh(); // catch up on anything missed while away
  });
  src.addEventListener('error', () => {
    lostStream(lastHeard);
    state.connected = false;
    // The browser retries a dropped stream by itself, but gives up for good on an error answer
    // (e.g. 503 from a server that is shutting down): then we start a new stream, backing off.
    if (src.readyState === EventSource.CLOSED) {
      state.retries = (state.retries ?? 0) + 1;
      retryTimer = setTimeout(connect, Math.min(15_000, 1000 * 2 ** Math.min(state.retries - 1, 4)));
    }
  });
  // An alarm at another of this person's schools (src/http/board-events.ts): re-read, which says it.
  src.addEventListener('alarm-elsewhere', () => {
    lastHeard = Date.now();
    scheduleRefresh();
  });
  for (const t of EVENT_TYPES)
    src.addEventListener(t, (e) => {
      lastHeard = Date.now();
      state.lastEventId = e.lastEventId;
      state.eventsSeen++;
      scheduleRefresh();
    });
}
