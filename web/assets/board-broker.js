import { h } from './app.js';

// "Last event from the broker N s ago", per school, red once the broker has been quiet longer than
// the school's fobs.brokerSilenceSeconds. The age counts on from the server's answer (not this
// machine's clock, which may be wrong) every second; a board refresh resets it. Not a live region:
// a line that changes every second must not be read out every second (the red band of a feed that
// is down is the alert).

function ago(s) {
  const m = Math.floor(s / 60);
  return m ? `${m} min ${String(s % 60).padStart(2, '0')} s ago` : `${s} s ago`;
}

function words(el) {
  const threshold = Number(el.dataset.threshold);
  if (el.dataset.age === '') return { text: 'No event from the broker yet', silent: true };
  const age = Number(el.dataset.age) + Math.max(0, Math.floor((Date.now() - Number(el.dataset.at)) / 1000));
  const silent = age > threshold;
  return {
    text: `Last event from the broker ${ago(age)}${silent ? ` — quiet for longer than ${ago(threshold).replace(' ago', '')}: fob alarms may not be arriving; check the gateway and the broker` : ''}`,
    silent,
  };
}

function paint(el) {
  const w = words(el);
  el.textContent = w.text;
  el.classList.toggle('silent', w.silent);
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

/** Every second: the age counts on, and the line turns red when it passes the threshold. */
export function tickBroker() {
  const el = document.getElementById('broker');
  if (el) paint(el);
}
