// The phone's position after "I need help" (no DOM: the tests import this module on its own). The
// help itself is sent first and never waits for it; the position follows, and a send that fails (a
// weak signal at the door, the server away a moment) is tried again a few times — then the worker is
// told it was not sent, so they say where they are when the office calls. Never dropped unsaid.

/** What the worker is told when their position could not be sent after every try. */
export const POSITION_NOT_SENT = 'Your position was not sent — tell the office where you are when they call.';

/**
 * `send()` until it resolves, at most `tries` times, `waitMs` apart (`sleep` waits; the tests pass
 * their own). True when it was sent; false when every try failed, or the server refused it for good
 * (a 4xx other than 408 and 429: trying the same position again will not change the answer).
 */
export async function sendWithRetries(
  send,
  { tries = 4, waitMs = 5000, sleep = (ms) => new Promise((r) => setTimeout(r, ms)) } = {},
) {
  for (let i = 1; ; i++) {
    try {
      await send();
      return true;
    } catch (err) {
      const refused = err?.status >= 400 && err.status < 500 && ![408, 429].includes(err.status);
      if (refused || i >= tries) return false;
      await sleep(waitMs);
    }
  }
}
