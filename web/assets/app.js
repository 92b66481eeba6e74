// Shared helpers for Doorstep's pages: the signed-in user, the JSON API (with the CSRF token),
// element building with text only (never innerHTML with data), the header and times.

let session = null;

/** The signed-in user, their schools and the CSRF token; sends the browser to sign in when there is none. */
export async function me() {
  if (session) return session;
  const res = await fetch('/api/me', { credentials: 'same-origin' });
  if (res.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    throw new Error('not signed in');
  }
  session = await res.json();
  return session;
}

/**
 * The server's clock as this page last heard it: how far it is ahead of this device's (behind, when
 * negative), measured from each answer that says the server's time (`serverNow`). A phone's clock may
 * be minutes off the server's, and the server decides what is allowed by its own.
 */
let serverAheadMs = 0;
/** The round trip (ms, this device's clock) of the answer `serverAheadMs` was taken from; null: none yet. */
let heardRoundTripMs = null;

/** An instant as the server writes one (`toISOString`): any other text is not its clock. */
const SERVER_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/**
 * An answer this quick is always taken: the offset follows the phone's clock when it is set again. A
 * slower one replaces only an offset heard over a round trip as slow or slower.
 */
const QUICK_ROUND_TRIP_MS = 5_000;

/**
 * Now, on the server's clock (this device's clock, moved by the offset last heard): what the pages
 * compare a time against whenever it decides what to offer or refuse — never `new Date()`, which is
 * the phone's own and may be minutes off.
 */
export function serverNow() {
  return new Date(Date.now() + serverAheadMs);
}

/**
 * An answer said the server's time (`iso`) for a request sent at `sentAt` and answered at `answeredAt`
 * (this device's clock, ms): taken as the server's time at the middle of the round trip. In doubt, the
 * offset heard before is kept: text that is not an instant as the server writes one (`Date.parse`
 * reads "12" as December 2001, a bare date as its midnight); a round trip the phone's clock ran
 * backwards over (set again while the answer came); and a slow answer — a poor signal, or a phone
 * asleep while it came, which puts the middle of the round trip minutes late — after a quicker one.
 * A wrong offset refuses every return time "I am still out" could send, and no alarm is raised.
 */
function heardServerTime(iso, sentAt, answeredAt) {
  const at = SERVER_INSTANT.test(iso) ? Date.parse(iso) : Number.NaN;
  const roundTrip = answeredAt - sentAt;
  if (!Number.isFinite(at) || !(roundTrip >= 0)) return;
  if (heardRoundTripMs !== null && roundTrip > QUICK_ROUND_TRIP_MS && roundTrip > heardRoundTripMs) return;
  serverAheadMs = at - (sentAt + answeredAt) / 2;
  heardRoundTripMs = roundTrip;
}

/** One API call; a failure throws an Error carrying the server's message. */
export async function api(method, url, body, { timeoutMs } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && session?.csrfToken) headers['x-csrf-token'] = session.csrfToken;
  const sentAt = Date.now();
  const res = await fetch(url, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
    // A call that must not hang on a silent server (the help request): given up, as a network failure.
    ...(timeoutMs ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
  });
  const answeredAt = Date.now();
  const data = res.headers.get('content-type')?.includes('json') ? await res.json() : null;
  if (typeof data?.serverNow === 'string') heardServerTime(data.serverNow, sentAt, answeredAt);
  if (!res.ok) {
    const err = new Error(data?.message ?? `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return data;
}

/** h('p', { class: 'x' }, 'text', child): an element; strings become text nodes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Number.POSITIVE_INFINITY)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Bidi embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI): they reorder text. */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/g;

/** A value from outside without the controls that could reorder what is shown after it. */
export function bidiClean(value) {
  return String(value ?? '').replace(BIDI_CONTROLS, '');
}

/**
 * Personal data where it is shown (names, addresses, phone numbers, file names): in its own `<bdi>`,
 * so right-to-left text or a planted override inside it cannot reverse the text around it.
 */
export function bdi(value) {
  return h('bdi', {}, bidiClean(value));
}

/** The same for text-only places (an `<option>`, the page title): isolated with FSI … PDI. */
export function isolate(value) {
  return `\u2068${bidiClean(value)}\u2069`;
}

const LINKS = [
  { href: '/board', label: 'Board', roles: ['office', 'safeguarding'] },
  { href: '/visits', label: 'Visits', roles: ['office', 'safeguarding', 'visiting-staff'] },
  { href: '/data', label: 'Data', roles: ['data-manager'] },
  { href: '/audit', label: 'Audit', roles: ['admin'] },
  { href: '/users', label: 'Accounts', roles: ['admin'] },
  // The same page: staff training, for those who keep it without keeping the accounts.
  { href: '/users', label: 'Staff training', roles: ['data-manager', 'safeguarding'], notForAdmin: true },
];

/** The page header: the links this user's roles open, their name, and sign out. */
export function header(s) {
  const allowed = (roles) => s.user.roles.includes('admin') || roles.some((r) => s.user.roles.includes(r));
  const nav = h(
    'nav',
    { 'aria-label': 'Main' },
    h(
      'ul',
      {},
      LINKS.filter((l) => allowed(l.roles) && !(l.notForAdmin && s.user.roles.includes('admin'))).map((l) =>
        h(
          'li',
          {},
          h(
            'a',
            { href: l.href, 'aria-current': location.pathname.startsWith(l.href) ? 'page' : null },
            l.label,
          ),
        ),
      ),
    ),
  );
  const out = h(
    'button',
    {
      type: 'button',
      class: 'link',
      onclick: async () => {
        // Out on a visit (or just back), signing out takes "I need help" off this phone: asked first.
        // Asked of the server now, not the page's first read: the worker may have left since.
        if (await onVisitNow(s)) return askSignOut(out);
        await signOut();
      },
    },
    'Sign out',
  );
  document
    .querySelector('header.top')
    ?.replaceChildren(
      h('a', { href: '/', class: 'brand' }, 'Doorstep'),
      nav,
      h('span', { class: 'who' }, s.user.displayName, ' ', out),
    );
}

async function signOut() {
  // This browser's alarm pushes end with the sign-out, here and on the server: a shared
  // phone does not go on showing alarms to whoever picks it up next.
  const sub = await pushSubscriptionHere().catch(() => null);
  await api('POST', '/api/logout', sub ? { pushEndpoint: sub.endpoint } : {});
  await sub?.unsubscribe().catch(() => {});
  location.href = '/login';
}

/** Whether a visit of this person's holds their session now (`onVisit`; the page's read if the server is away). */
async function onVisitNow(s) {
  try {
    const res = await fetch('/api/me', { credentials: 'same-origin' });
    if (res.ok) return (await res.json()).onVisit === true;
  } catch {}
  return s.onVisit === true;
}

/**
 * "Sign out anyway?" at the top of the page, for a worker out on a visit: the question takes the
 * keyboard, Escape or "No" closes it and puts the keyboard back on Sign out.
 */
function askSignOut(button) {
  document.getElementById('sign-out-confirm')?.remove();
  const close = () => {
    box.remove();
    button.removeAttribute('aria-controls');
    button.setAttribute('aria-expanded', 'false');
    button.focus();
  };
  const question = h(
    'p',
    { id: 'sign-out-question', tabindex: '-1' },
    h(
      'strong',
      {},
      'You are out on a visit: signing out removes “I need help” from this phone. Sign out anyway?',
    ),
  );
  const box = h(
    'div',
    {
      id: 'sign-out-confirm',
      class: 'confirm not-sent',
      role: 'alertdialog',
      'aria-labelledby': 'sign-out-question',
      onkeydown: (e) => {
        if (e.key === 'Escape') close();
      },
    },
    question,
    h('p', {}, 'Stay signed in until you are back safe, so you can still call for help from this page.'),
    h('button', { type: 'button', class: 'primary', onclick: close }, 'No, stay signed in'),
    ' ',
    h('button', { type: 'button', onclick: () => signOut() }, 'Yes, sign out'),
  );
  document.querySelector('main')?.prepend(box);
  // Named only while it is there: a control pointing at nothing is an error to a screen reader.
  button.setAttribute('aria-controls', box.id);
  button.setAttribute('aria-expanded', 'true');
  question.focus();
}

/** This browser's alarm-push subscription (made at the board), or null. */
export async function pushSubscriptionHere() {
  if (!('serviceWorker' in navigator)) return null;
  const reg = await navigator.serviceWorker.getRegistration('/assets/');
  return reg?.pushManager ? reg.pushManager.getSubscription() : null;
}

/** The school select (remembered per browser); calls back with the chosen id. */
export function schoolPicker(s, onChange) {
  const saved = localStorage.getItem('doorstep.school');
  const initial = s.schools.some((x) => x.id === saved) ? saved : s.schools[0]?.id;
  const select = h(
    'select',
    {
      id: 'school',
      onchange: () => {
        localStorage.setItem('doorstep.school', select.value);
        onChange(select.value);
      },
    },
    s.schools.map((x) => h('option', { value: x.id, selected: x.id === initial }, x.name)),
  );
  /** The same as choosing it in the select (a link to another school's board); `onChange`'s answer. */
  const choose = (id) => {
    select.value = id;
    localStorage.setItem('doorstep.school', id);
    return onChange(id);
  };
  return { element: h('label', { class: 'inline' }, 'School ', select), initial, choose };
}

export function fmtTime(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleTimeString('en-GB', {
    hour: '2-digit',
    minute: '2-digit',
    timeZone: 'Europe/London',
  });
}

export function fmtDateTime(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleString('en-GB', {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'Europe/London',
  });
}

/** "3 min 05 s ago" (counted on the server's clock, as far as the page has heard it). */
export function since(iso, now = serverNow().getTime()) {
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  const m = Math.floor(s / 60);
  return m ? `${m} min ${String(s % 60).padStart(2, '0')} s ago` : `${s} s ago`;
}

/**
 * A status line for screen readers and everyone: role=status, or role=alert for errors. An error
 * naming a field as the API knows it ("homeVisitTrainedOn: expected a date that has passed") is
 * shown against the page's own label for it (`labelled`).
 */
export function say(el, text, isError = false) {
  el.setAttribute('role', isError ? 'alert' : 'status');
  el.className = isError ? 'message error' : 'message';
  el.textContent = isError ? labelled(String(text)) : text;
}

/**
 * A message that begins with a field's name as the API knows it ("plannedFor: …", "roles: …",
 * "address.postcode: …") begins instead with the label of the input of that name on the page — in
 * the form being used first, else anywhere on the page: "Planned for: …". A field with no input of
 * its name on the page is left as the API said it (the API's messages are not changed: other
 * clients read the names).
 */
export function labelled(text) {
  const m = /^([A-Za-z_][\w]*(?:\.[\w]+)*): /.exec(text);
  if (!m) return text;
  // "roles.0" is the roles; "address.postcode" the postcode's input, if not named in full.
  const path = m[1].split('.').filter((p) => !/^\d+$/.test(p));
  const form = document.activeElement?.closest?.('form');
  for (const name of new Set([m[1], path.join('.'), path.at(-1)])) {
    if (!name) continue;
    const named = `[name="${CSS.escape(name)}"]`;
    const input = form?.querySelector(named) ?? document.querySelector(named);
    const label = input ? labelOf(input, named) : null;
    if (label) return `${label}: ${text.slice(m[0].length)}`;
  }
  return text;
}

/** What the page calls an input: its group's legend (boxes of one name), its label, or its aria-label. */
function labelOf(input, named) {
  const group = input.closest('fieldset');
  const legend =
    (input.type === 'checkbox' || input.type === 'radio') && group?.querySelectorAll(named).length > 1
      ? group.querySelector('legend')
      : null;
  const text = (legend ?? input.labels?.[0])?.textContent ?? input.getAttribute('aria-label');
  return text?.replace(/\s+/g, ' ').trim().replace(/:$/, '') || null;
}

/** Today's date in Europe/London as YYYY-MM-DD (on the server's clock, as far as the page has heard it). */
export function londonToday() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(serverNow());
}

/**
 * A page that works per school: the header, the school select above the content, and `load(school)`
 * run now and on every change of school.
 */
export async function startSchoolPage(load) {
  const s = await me();
  header(s);
  const picker = schoolPicker(s, (id) => load(id, s));
  document.querySelector('h1').after(h('div', { class: 'toolbar' }, picker.element));
  await load(picker.initial, s);
  return s;
}

/**
 * Where the keyboard is, to find again once the page is drawn again (`refocus`): the element, its id,
 * what it is (tag, name, type, value of a box, words), and the cards and sections it is in (innermost
 * first, by id, aria-labelledby or a data-…-id). Null when nothing of the page's has the focus.
 */
export function focusPlace() {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const scopes = [];
  for (let p = el.parentElement; p && p.id !== 'content' && p.tagName !== 'MAIN' && p !== document.body; ) {
    const by = p.getAttribute('aria-labelledby');
    const data = [...p.attributes].find((a) => /^data-[\w-]*id$/.test(a.name));
    if (p.id) scopes.push(`#${CSS.escape(p.id)}`);
    else if (by) scopes.push(`[aria-labelledby="${CSS.escape(by)}"]`);
    else if (data) scopes.push(`[${data.name}="${CSS.escape(data.value)}"]`);
    p = p.parentElement;
  }
  return { el, id: el.id, tag: el.tagName.toLowerCase(), what: whatIs(el), scopes };
}

const whatIs = (el) =>
  [
    el.tagName,
    el.getAttribute('name'),
    el.getAttribute('type'),
    el.type === 'checkbox' || el.type === 'radio' ? el.value : '',
    el.matches('input, select, textarea') ? '' : (el.getAttribute('aria-label') ?? el.textContent).trim(),
  ].join('\u0000');

/** Gives `x` the focus if it can take it (a heading is made focusable; in a closed <details>, its summary). */
function focusOn(x) {
  if (!x?.isConnected) return false;
  const closed = x.parentElement?.closest('details:not([open])');
  const target = closed ? closed.querySelector(':scope > summary') : x;
  if (!target || target.closest('[hidden]')) return false;
  if (target.tabIndex < 0 && !target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
  target.focus();
  return document.activeElement === target;
}

/** A card's or section's heading: the element labelling it, a <details>' summary, or its first heading. */
function headingOf(scope) {
  const by = scope.getAttribute('aria-labelledby')?.split(' ')[0];
  if (by && document.getElementById(by)) return document.getElementById(by);
  if (scope.tagName === 'DETAILS') return scope.querySelector(':scope > summary');
  return scope.querySelector('h1, h2, h3, h4, h5, h6');
}

/**
 * After the page is drawn again, the keyboard where it was (`place`, from `focusPlace`): the same
 * control if it is still there (found again by its id, or as the same kind of control with the same
 * words in the same card or section), else that card's or section's heading, else the status line
 * `status` announcing the result — never lost to the page's <body>, and the page not scrolled to its
 * top (focus shows what it lands on, moving the page only if it is out of view). Nothing is moved
 * when the person has since put the focus somewhere else.
 */
export function refocus(place, status = null) {
  if (!place) return;
  const now = document.activeElement;
  if (now && now !== document.body && now !== place.el && now.isConnected) return;
  if (now === place.el && place.el.isConnected) return;
  if (focusOn(place.el)) return;
  if (place.id && focusOn(document.getElementById(place.id))) return;
  const scopes = place.scopes.map((sel) => document.querySelector(sel)).filter(Boolean);
  const sameIn = (scope) => [...scope.querySelectorAll(place.tag)].filter((x) => whatIs(x) === place.what);
  for (const scope of scopes) if (focusOn(sameIn(scope)[0])) return;
  // Outside any card or section (the visit page's big buttons): the one control of its kind and words.
  const anywhere = sameIn(document);
  if (anywhere.length === 1 && focusOn(anywhere[0])) return;
  for (const scope of scopes) if (focusOn(headingOf(scope))) return;
  if (status) focusStatus(status);
}

/** The status line given the focus (a refusal said where it is seen and read at once). */
export function focusStatus(status) {
  focusOn(status);
}

/**
 * Runs `redraw` (a page's re-read after an action: acknowledge, check in, save …) and puts the
 * keyboard back where it was (`refocus`), or on `status` when there is nothing left near it.
 */
export async function keepingFocus(redraw, status) {
  const place = focusPlace();
  const result = await redraw();
  refocus(place, status);
  return result;
}

/**
 * Replaces a container's children without resetting a form someone is filling in: a form (found by
 * its id) that was typed into since it was drawn is moved into the new content in place of its fresh
 * copy. A form submitted is done with and may be replaced — unless it is still being sent
 * (`data-sending`, set by the page that sends it): its words stay until the server has them. Live
 * re-reads (the board's events, the re-read after any action) go through this, so they never wipe
 * half-typed input.
 */
export function replaceKeepingInput(container, nodes) {
  if (!container.dataset.keepsInput) {
    container.dataset.keepsInput = 'true';
    container.addEventListener('input', (e) => {
      const form = e.target.closest?.('form[id]');
      if (form) form.dataset.dirty = 'true';
    });
    container.addEventListener('submit', (e) => e.target.removeAttribute('data-dirty'), true);
  }
  // Where the keyboard is, read before anything moves: a kept form moved into the new content leaves
  // the document for a moment, which blurs what it holds (read after, the focus was already gone).
  const place = container.contains(document.activeElement) ? focusPlace() : null;
  const dirty = [...container.querySelectorAll('form[id][data-dirty], form[id][data-sending]')];
  const opened = [...container.querySelectorAll('details[id][open]')].map((d) => d.id);
  const fresh = document.createDocumentFragment();
  fresh.append(...nodes.filter(Boolean));
  for (const old of dirty) {
    const copy = fresh.querySelector(`form[id="${CSS.escape(old.id)}"]`);
    if (copy) copy.replaceWith(old);
  }
  // A section the person opened stays open (e.g. "Raise a concern now" while they type).
  for (const id of opened) fresh.querySelector(`details[id="${CSS.escape(id)}"]`)?.setAttribute('open', '');
  // The keyboard stays where it was through a live re-read too (a form kept is moved, which blurs it).
  container.replaceChildren(fresh);
  refocus(place);
}
