import { api, focusStatus, h, keepingFocus, say, serverNow } from './app.js';
import { returnTimeAhead } from './visit-words.js';

// What the visit page's modules share: the page's elements, the visit's id, the signed-in person
// and the page's reload (set by visit.js), a labelled field and the one way to post a step.

export const msg = document.getElementById('message');
export const content = document.getElementById('content');
export const visitId = location.pathname.split('/')[2];

/** The signed-in person (`s`, from `me()`) and the page's reload (`load`), set by visit.js at start. */
export const page = { s: null, load: async () => {} };

export const field = (label, input, hint) => {
  input.id ||= `f-${input.name}`;
  return h(
    'div',
    { class: 'field' },
    h('label', { for: input.id }, label),
    hint ? h('p', { class: 'hint', id: `${input.id}-hint` }, hint) : null,
    input,
  );
};
export const lines = (text) =>
  text
    .split('\n')
    .map((x) => x.trim())
    .filter(Boolean);

/**
 * One step of the visit (POST /api/visits/:id/<path>): says what was done and re-reads the page, the
 * keyboard back on the control used, or — gone with its form — on its section's heading or the line
 * saying what was done (`refocus`); a refusal takes the focus to the line saying why, at the top.
 * The page is not sent to its top. Returns whether the server took it. `refused`: what a refusal
 * says (the server's message, unless the form has its own words for it).
 */
export async function post(path, body, done, refused = (err) => err.message) {
  // The form sent (when a form's submit sends this): kept through re-reads while it is on its way and,
  // not sent (no signal, refused), kept as typed to send again — a poor signal never wipes the words.
  const form = submitting;
  submitting = null;
  if (form) form.dataset.sending = 'true';
  // What an earlier press was told ("refused: …") is not left standing while this one is on its way.
  say(msg, 'Sending…');
  let ok = false;
  await keepingFocus(async () => {
    try {
      const answer = await api('POST', `/api/visits/${visitId}/${path}`, body);
      ok = true;
      if (form) delete form.dataset.sending;
      // `done`: what to say, or what to say from the server's answer ({ text, alert } to say it loudly).
      const said = typeof done === 'function' ? done(answer) : done;
      if (typeof said === 'string') say(msg, said);
      else say(msg, said.text, said.alert === true);
      await page.load();
    } catch (err) {
      say(msg, refused(err), true);
      focusStatus(msg);
    }
  }, msg);
  if (form && !ok) {
    delete form.dataset.sending;
    form.dataset.dirty = 'true';
  }
  return ok;
}

/** The form whose submit is being handled now (a form's handler calls `post` before anything awaits). */
let submitting = null;
content?.addEventListener(
  'submit',
  (e) => {
    submitting = e.target;
    // A submit handled without a post (refused on the page) leaves nothing behind: a task, not a
    // microtask — those run between the listeners of a tap's event, before the form's own handler.
    setTimeout(() => {
      if (submitting === e.target) submitting = null;
    }, 0);
  },
  true,
);

/** A page's id for one press of a button that must act once (help, a concern): sent on every retry. */
export function newPressId() {
  return crypto.randomUUID?.().replace(/-/g, '') ?? `${Date.now()}${Math.random().toString(36).slice(2)}`;
}

/**
 * The return time typed in `input` (HH:MM), read as both forms read it (`returnTimeAhead`, within
 * `bound` — `{ until, whom }` — when given) against the server's clock (`serverNow`), as the server
 * reads it (`read`: how the form reads it, `returnTimeAhead` unless said): its instant, null after
 * saying on the page why it was refused, with the field marked and focused — or, from a `read` that
 * sends none (`stillOutReturnTime`), undefined.
 */
export function checkedReturnTime(input, bound = {}, read = returnTimeAhead) {
  const t = read(input.value, serverNow(), bound);
  if (t.error) {
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    say(msg, t.error, true);
    return null;
  }
  input.removeAttribute('aria-invalid');
  return t.at ?? undefined;
}
