import { api, h, say } from './app.js';

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

/** One step of the visit (POST /api/visits/:id/<path>): says what was done and re-reads the page. */
export async function post(path, body, done) {
  try {
    await api('POST', `/api/visits/${visitId}/${path}`, body);
    say(msg, done);
    await page.load();
  } catch (err) {
    say(msg, err.message, true);
  }
}
