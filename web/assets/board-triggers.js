import { api, bdi, h, londonToday, say } from './app.js';
import { act, msg, state } from './board-shared.js';
import { closedDayBox } from './closed-day.js';

// Triggers waiting for a visit: the pupil, what fired, the first day it counted (not only the day it
// was raised), who acts, and a short request form (reason, risk, date) rather than a one-click visit.

/** `2026-11-23` → `Mon 23 Nov 2026`, read as a calendar date (no time zone shift). */
function fmtDay(iso) {
  const [y, m, d] = iso.split('-').map(Number);
  const at = new Date(Date.UTC(y, m - 1, d));
  const part = (o) => at.toLocaleDateString('en-GB', { ...o, timeZone: 'UTC' });
  return `${part({ weekday: 'short' })} ${d} ${part({ month: 'short' })} ${y}`;
}

const words = (s) => String(s).replace(/[-_]/g, ' ');

// The request forms a person has opened stay open when the board re-reads itself.
const opened = new Set();

function requestForm(t, who) {
  const reason = h('input', {
    type: 'text',
    id: `trigger-${t.id}-reason`,
    name: 'reason',
    required: true,
    maxlength: 500,
    value: t.title,
  });
  const risk = h(
    'select',
    { id: `trigger-${t.id}-risk`, name: 'riskLevel', required: true },
    // Nothing preselected: the person asking says how risky it looks.
    h('option', { value: '' }, '— choose —'),
    ['low', 'minor', 'major'].map((x) => h('option', { value: x }, x)),
  );
  const notes = h('textarea', { id: `trigger-${t.id}-notes`, name: 'riskNotes', rows: 2, maxlength: 2000 });
  const planned = h('input', {
    type: 'date',
    id: `trigger-${t.id}-planned`,
    name: 'plannedFor',
    value: londonToday(),
  });
  // A day the school is closed: the server asks to confirm it (409); the box is then offered.
  const closed = closedDayBox(`trigger-${t.id}-closed`, planned);
  // Visiting staff asking are its lead unless they leave it for whoever goes (nobody leads it yet).
  const lead = state.me?.user.roles.includes('visiting-staff') ? whoWillGo(t) : null;
  return h(
    'form',
    {
      id: `trigger-${t.id}-request`,
      class: 'trigger-request',
      hidden: !opened.has(t.id),
      onsubmit: async (e) => {
        e.preventDefault();
        // Kept through a live re-read while it is sent, and after a refusal (what was chosen and the
        // question the refusal asks stay until the person changes or sends it): `replaceKeepingInput`.
        const form = e.currentTarget;
        form.dataset.sending = 'true';
        try {
          const r = await api('POST', '/api/visits', {
            school: state.school,
            triggerEpisodeId: t.id,
            reason: reason.value.trim() || undefined,
            riskLevel: risk.value,
            riskNotes: notes.value.trim() || undefined,
            plannedFor: planned.value || undefined,
            ...(lead?.querySelector('input[value="anyone"]').checked ? { leadUserId: null } : {}),
            ...closed.confirmed(),
          });
          opened.delete(t.id);
          location.href = `/visits/${r.id}`;
        } catch (err) {
          form.dataset.dirty = 'true';
          say(msg, closed.said(err), true);
        } finally {
          delete form.dataset.sending;
        }
      },
    },
    h('h3', {}, 'Request a visit for ', bdi(who)),
    h('p', {}, h('a', { href: pupilUrl(t) }, 'The evidence: attendance, triggers and visits of ', bdi(who))),
    h('label', { for: reason.id }, 'Reason for the visit'),
    reason,
    h('label', { for: risk.id }, 'Risk level'),
    risk,
    h('label', { for: notes.id }, 'Risk notes (optional)'),
    notes,
    h('label', { for: planned.id }, 'Planned for'),
    planned,
    closed.line,
    lead,
    h('button', { type: 'submit', class: 'primary' }, 'Request the visit'),
  );
}

/** "Who will go": me (its lead), or leave it for anyone — whoever goes takes it when they leave. */
function whoWillGo(t) {
  const choice = (value, label, checked) => {
    const input = h('input', {
      type: 'radio',
      name: 'lead',
      value,
      id: `trigger-${t.id}-lead-${value}`,
      checked,
    });
    return h('label', { class: 'radio', for: input.id }, input, ` ${label}`);
  };
  return h(
    'fieldset',
    {},
    h('legend', {}, 'Who will go'),
    choice('me', 'Me (I lead it)', true),
    choice('anyone', 'Leave it for anyone (whoever goes leads it)', false),
  );
}

/**
 * A trigger whose action is not a visit (a phone call home, a meeting, the LA told): what was done and
 * on which day. The server says which triggers are done this way (`recordable`); recorded, the trigger
 * leaves this list and its record goes to the school's safeguarding system.
 */
function doneForm(t, who) {
  const note = h('textarea', {
    id: `trigger-${t.id}-done-note`,
    name: 'note',
    rows: 2,
    required: true,
    maxlength: 2000,
  });
  const on = h('input', {
    type: 'date',
    id: `trigger-${t.id}-done-on`,
    name: 'doneOn',
    required: true,
    value: londonToday(),
    max: londonToday(),
  });
  return h(
    'form',
    {
      id: `trigger-${t.id}-done`,
      class: 'trigger-request',
      hidden: !opened.has(`done-${t.id}`),
      onsubmit: (e) => {
        e.preventDefault();
        opened.delete(`done-${t.id}`);
        act(
          `/api/triggers/${t.id}/action-done`,
          { school: state.school, note: note.value, doneOn: on.value },
          () => `${t.doneText}: recorded for ${who}.`,
        );
      },
    },
    h('h3', {}, `${t.doneText} — `, bdi(who)),
    h('label', { for: note.id }, 'What was done (who was spoken to, what was agreed)'),
    note,
    h('label', { for: on.id }, 'Done on'),
    on,
    h('button', { type: 'submit', class: 'primary' }, 'Record it done'),
  );
}

/** A button that opens or closes one of a card's forms (kept open when the board re-reads itself). */
function opener(form, key, label) {
  const b = h(
    'button',
    {
      type: 'button',
      'aria-expanded': String(!form.hidden),
      'aria-controls': form.id,
      onclick: () => {
        form.hidden = !form.hidden;
        b.setAttribute('aria-expanded', String(!form.hidden));
        if (form.hidden) opened.delete(key);
        else {
          opened.add(key);
          form.querySelector('select, textarea')?.focus();
        }
      },
    },
    label,
  );
  return b;
}

/** The pupil page: attendance calendar, triggers with their evidence, visits. */
const pupilUrl = (t) =>
  `/pupils/${encodeURIComponent(t.pupilMisId)}?school=${encodeURIComponent(state.school)}`;

/** One trigger card. */
export function triggerItem(t) {
  const who = t.pupilName ?? t.pupilMisId;
  const form = requestForm(t, who);
  const done = t.recordable ? doneForm(t, who) : null;
  return h(
    'li',
    { class: 'trigger', 'data-trigger-id': t.id },
    h('strong', {}, h('a', { href: pupilUrl(t), class: 'pupil-link' }, bdi(who))),
    ` — ${t.title}`,
    h(
      'p',
      { class: 'trigger-when' },
      t.firstDay ? `First day: ${fmtDay(t.firstDay)} · ` : '',
      `raised ${fmtDay(t.openedOn)} · ${words(t.action)} by ${words(t.role)}`,
    ),
    done ? opener(done, `done-${t.id}`, 'Record what was done') : null,
    opener(form, t.id, `Request a visit for ${who}`),
    done,
    form,
  );
}
