import { api, fmtDateTime, focusStatus, h, say } from './app.js';
import { count, sinkName, sinksSaid } from './words.js';

// The data page's records: a record's text on "Show record", and the records that failed to reach
// CPOMS / Arbor, each with "Retry" and "Dismiss…" (the same as `doorstep outbox retry` / `dismiss`).

/**
 * A record's text in `pre`, with the category (or why none is sent: an Arbor note has none), title and
 * date its sink is (a preview: would be) given — the title as the sink files it (an Arbor note's
 * summary: cut to fit, the record's key at its end) — and, delivered on no student, that it waits in
 * the sink's tray.
 */
export async function showRecord(id, pre) {
  const b = await api('GET', `/api/outbox/${id}`);
  const category = b.category ?? b.no_category ?? `not known (sink ${b.sink} is no longer configured)`;
  const filed = `Category: ${category} · Date: ${fmtDateTime(b.occurred_at)}`;
  const when = b.status === 'preview' ? ' — a preview: what go-live would send' : '';
  const tray = b.unmatched
    ? `\nUnmatched: in the ${sinkName(b.sink)} tray, on no pupil yet — a person there attaches it to the child.`
    : '';
  pre.textContent = `${filed}${when}${tray}\n\n${b.title_sent ?? b.title}\n\n${b.body}`;
}

/**
 * Acts on a failed record (`POST url` with `body`): says the outcome in words (`said` of the answer)
 * first, then reads the list again — a re-read that fails does not hide that the action was done: it
 * is added to the outcome ("the list could not be re-read"). A refusal is said as an error; one that
 * says the list is out of date (409: not failed any more, or still being sent; 404: gone) reads the
 * list again too. The keyboard is put on the outcome either way: the record acted on is gone from the
 * list, and the next record's controls are not where the person was. Its controls (`busy`) are
 * disabled while it is sent, and its form (`sending`) is kept as typed through another re-read.
 */
async function act(url, body, said, msg, reload, busy, sending = null) {
  for (const b of busy) b.disabled = true;
  if (sending) sending.dataset.sending = 'true';
  let text;
  let refused = false;
  let reread = true;
  try {
    text = said(await api('POST', url, body));
  } catch (err) {
    text = err.message;
    refused = true;
    reread = err.status === 409 || err.status === 404;
  } finally {
    if (sending) delete sending.dataset.sending;
    for (const b of busy) b.disabled = false;
  }
  say(msg, text, refused);
  if (reread) {
    try {
      await reload();
    } catch {
      say(msg, `${text}; the list could not be re-read: reload the page`, refused);
    }
  }
  focusStatus(msg);
}

/**
 * "within 45 s", "within about 2 min": how long a record whose last send may still arrive can wait
 * before it is sent again (Arbor's wait for it; CPOMS, which knows its key, sooner).
 */
const withinAbout = (ms) => {
  const s = Math.ceil(ms / 1000);
  return s < 90 ? `within ${s} s` : `within about ${Math.ceil(s / 60)} min`;
};

/** "Retry record N" and "Dismiss record N…" (asking where it was recorded by hand) for one failed record. */
function recordActions(r, msg, reload) {
  const retry = h('button', { type: 'button', class: 'record-retry' }, `Retry record ${r.id}`);
  const reason = h('input', {
    type: 'text',
    id: `dismiss-reason-${r.id}`,
    name: 'reason',
    required: true,
    maxlength: 500,
    autocomplete: 'off',
    placeholder: 'e.g. in CPOMS, 16 March',
  });
  const dismiss = h('button', { type: 'submit' }, `Dismiss record ${r.id}`);
  retry.addEventListener('click', () =>
    act(
      `/api/outbox/${r.id}/retry`,
      undefined,
      (done) =>
        done.sendAfterMs > 0
          ? `Record #${r.id} queued again: its last send may still arrive at ${sinkName(r.sink)}, so it is sent ${withinAbout(done.sendAfterMs)} (found there if it arrived, never sent twice), and listed here again if it fails.`
          : `Record #${r.id} queued again: it is sent within seconds, and listed here again if it fails.`,
      msg,
      reload,
      [retry, dismiss],
    ),
  );
  const form = h(
    'form',
    {
      id: `dismiss-${r.id}`,
      class: 'resolve',
      onsubmit: (e) => {
        e.preventDefault();
        return act(
          `/api/outbox/${r.id}/dismiss`,
          { reason: reason.value },
          (done) => `Record #${r.id} dismissed (recorded by hand: ${done.reason}); its alert is closed.`,
          msg,
          reload,
          [retry, dismiss],
          form,
        );
      },
    },
    h('label', { for: reason.id }, 'Where it was recorded by hand'),
    reason,
    dismiss,
  );
  return h(
    'div',
    { class: 'actions' },
    retry,
    h('details', { id: `dismiss-details-${r.id}` }, h('summary', {}, `Dismiss record ${r.id}…`), form),
  );
}

/**
 * Records that failed to reach CPOMS / Arbor and wait for a person, however old (the server's list:
 * the oldest first, all counted): first on the page, each with its reason and alert, its text on
 * "Show record", and "Retry" (once the cause is fixed) or "Dismiss…" (one that can never be sent,
 * once recorded by hand). Nothing when none failed.
 */
export function failedRecordsSection(f, school, msg, reload) {
  if (!f?.total) return document.createDocumentFragment();
  // The record's text below the band (its own colours), for recording it by hand.
  const pre = h('pre', { id: 'failed-record-body', class: 'record' });
  const shown = document.createDocumentFragment();
  shown.append(
    h(
      'section',
      // A region, not an alert: it is drawn again on every re-read; the outcome of an action is said
      // in the page's message, alone.
      { id: 'records-failed', class: 'ingest-down', 'aria-labelledby': 'records-failed-h' },
      h(
        'h2',
        { id: 'records-failed-h' },
        `${count(f.total, 'record', 'records')} failed to reach ${sinksSaid(f.bySink)}: not sent`,
      ),
      h(
        'p',
        {},
        'Each stays here until a person acts. Fix the cause (its reason below), then press its Retry. ' +
          'One that can never be sent: record it by hand from its text (Show record), then Dismiss it, saying where. ' +
          'Either closes its alert.',
      ),
      h(
        'p',
        {},
        'On the server, every one of the school’s failed records is sent again with ',
        h('code', {}, `npx doorstep outbox resend-failed --school ${school}`),
        '.',
      ),
      f.oldest.length < f.total
        ? h('p', {}, `The oldest ${f.oldest.length} of ${f.total} are listed.`)
        : null,
      h(
        'ul',
        {},
        f.oldest.map((r) =>
          h(
            'li',
            { class: 'record-failed', 'data-record-id': r.id },
            `#${r.id} ${r.kind} to ${sinkName(r.sink)}, written ${fmtDateTime(r.createdAt)}, failed ${fmtDateTime(r.failedAt)} after ${count(r.tries, 'try', 'tries')}: ${r.reason ?? 'no reason kept'}`,
            r.alert ? ` — alert raised ${fmtDateTime(r.alert.raisedAt)}` : ' — no open alert',
            ' ',
            h('button', { type: 'button', onclick: () => showRecord(r.id, pre) }, `Show record ${r.id}`),
            recordActions(r, msg, reload),
          ),
        ),
      ),
      f.alertsOpen > f.oldest.filter((r) => r.alert).length
        ? h('p', {}, `${count(f.alertsOpen, 'open "delivery failed" alert')} in all.`)
        : null,
    ),
    pre,
  );
  return shown;
}
