import { api, say } from './app.js';
import { hooks, msg, state } from './board-shared.js';

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

let retryTimer = null;
export function connect() {
  clearTimeout(retryTimer);
  state.source?.close();
  // A new stream after a failure carries the last id itself (the browser only resends it on its own retries).
  const since = state.lastEventId ? `&lastEventId=${encodeURIComponent(state.lastEventId)}` : '';
  const src = new EventSource(`/board/events?school=${encodeURIComponent(state.school)}${since}`);
  state.source = src;
  const live = document.getElementById('live');
  src.addEventListener('open', () => {
    state.connected = true;
    state.retries = 0;
    live.textContent = 'Live';
    live.className = 'live on';
    scheduleRefresh(); // catch up on anything missed while away
  });
  src.addEventListener('error', () => {
    state.connected = false;
    live.textContent = 'Reconnecting…';
    live.className = 'live off';
    // The browser retries a dropped stream by itself, but gives up for good on an error answer
    // (e.g. 503 from a server that is shutting down): then we start a new stream, backing off.
    if (src.readyState === EventSource.CLOSED) {
      state.retries = (state.retries ?? 0) + 1;
      retryTimer = setTimeout(connect, Math.min(15_000, 1000 * 2 ** Math.min(state.retries - 1, 4)));
    }
  });
  for (const t of EVENT_TYPES)
    src.addEventListener(t, (e) => {
      state.lastEventId = e.lastEventId;
      state.eventsSeen++;
      scheduleRefresh();
    });
}
