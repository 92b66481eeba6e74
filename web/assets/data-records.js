import { api, fmtDateTime, focusStatus, h, keepingFocus, say } from './app.js';
import { count, sinkName, sinksSaid } from './words.js';

// The data page's records: a record's text on "Show record", and the records that failed to reach
// CPOMS / Arbor, each with "Retry" and "Dismiss…" (the same as `doorstep outbox retry` / `dismiss`).

/** A record's text in `pre`, with the category and date its sink is (a preview: would be) given. */
export async function showRecord(id, pre) {
  const b = await api('GET', `/api/outbox/${id}`);
  const filed = `Category: ${b.category ?? `not known (sink ${b.sink} is no longer configured)`} · Date: ${fmtDateTime(b.occurred_at)}`;
  const when = b.status === 'preview' ? ' — a preview: what go-live would send' : '';
  pre.textContent = `${filed}${when}\n\n${b.title}\n\n${b.body}`;
}

/**
 * Acts on a failed record (`POST url` with `body`): says the outcome in words (`said` of the answer), then re-reads the page
 * with the keyboard kept near where it was; a refusal (not failed any more, no reason given …) is said
 * as an error and takes the focus. Its controls (`busy`) are disabled while it is sent.
 */
async function act(url, body, said, msg, reload, busy) {
  for (const b of busy) b.disabled = true;
  await keepingFocus(async () => {
    try {
      const r = await api('POST', url, body);
      await reload();
      say(msg, said(r));
    } catch (err) {
      say(msg, err.message, true);
      focusStatus(msg);
    } finally {
      for (const b of busy) b.disabled = false;
    }
  }, msg);
}

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
      () => `Record #${r.id} queued again: it is sent within seconds, and listed here again if it fails.`,
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
      { id: 'records-failed', class: 'ingest-down', role: 'alert', 'aria-labelledby': 'records-failed-h' },
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
