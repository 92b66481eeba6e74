import { api, bdi, focusStatus, h, keepingFocus, say } from './app.js';

// What the board's modules share: the board's state (also `window.doorstepBoard`, which the browser
// tests read), the page's elements, a phone link, and acting on an alarm (then the board re-reads).

export const state = {
  school: null,
  data: null,
  source: null,
  lastEventId: null,
  eventsSeen: 0,
  connected: false,
};
window.doorstepBoard = state;
export const msg = document.getElementById('message');
export const content = document.getElementById('content');

/** The board's re-read, and its change of school (set by board.js at start). */
export const hooks = { refresh: async () => {}, chooseSchool: async (_id) => {} };

export function tel(number, who) {
  return h('a', { href: `tel:${number}` }, bdi(who), ': ', bdi(number));
}

/**
 * A command from the board (acknowledge, resolve, a follow-up done): says what happened — `said`
 * words the server's answer — then re-reads the board, the keyboard back on the control used or,
 * gone, on its card's or section's heading or the line saying what happened (`keepingFocus`); a
 * refusal takes the focus to the line saying why.
 */
export async function act(url, body, said) {
  await keepingFocus(async () => {
    try {
      const r = await api('POST', url, body);
      say(msg, said(r));
      await hooks.refresh();
    } catch (err) {
      say(msg, err.message, true);
      focusStatus(msg);
    }
  }, msg);
}
