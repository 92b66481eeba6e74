import { h } from './app.js';

// When the fobs last sent anything, per school: grey while all is well and before the first message
// (nothing from the fobs yet is no fault on a first run), amber once they have been quiet longer than
// the school's fobs.brokerSilenceSeconds. A connection that is down is the red band above it
// (board.js, "Fob alarms from this school are NOT arriving"). The age counts on from the server's
// answer (not this machine's clock, which may be wrong) every second; a board refresh resets it. Not
// a live region: a line that changes every second must not be read out every second.

function ago(s) {
  const m = Math.floor(s / 60);
  return m ? `${m} min ${String(s % 60).padStart(2, '0')} s ago` : `${s} s ago`;
}

/**
 * The line's words and state for an age in seconds (null: nothing from the fobs yet) and the
 * school's threshold: `none-yet`, `arriving`, or `quiet` (longer than the threshold).
 */
export function brokerSaid(age, threshold) {
  if (age === null) return { text: 'No fob message yet', state: 'none-yet' };
  if (age > threshold)
    return {
      text: `No message from the fobs for ${Math.floor(age / 60)} min — tell IT or the data manager`,
      state: 'quiet',
    };
  return { text: `Last fob message ${ago(age)}`, state: 'arriving' };
}

function paint(el) {
  const age =
    el.dataset.age === ''
      ? null
      : Number(el.dataset.age) + Math.max(0, Math.floor((Date.now() - Number(el.dataset.at)) / 1000));
  const w = brokerSaid(age, Number(el.dataset.threshold));
  el.textContent = w.text;
  el.dataset.state = w.state;
}

/** The line for the board (nothing when the school has no MQTT feed). */
export function brokerLine(broker) {
  if (!broker) return document.createDocumentFragment();
  const el = h('p', {
    id: 'broker',
    class: 'broker-status',
    'data-age': broker.secondsAgo === null ? '' : String(broker.secondsAgo),
    'data-at': String(Date.now()),
    'data-threshold': String(broker.thresholdSeconds),
  });
  paint(el);
  return el;
}

/** Every second: the age counts on, and the line turns amber when it passes the threshold. */
export function tickBroker() {
  const el = document.getElementById('broker');
  if (el) paint(el);
}
