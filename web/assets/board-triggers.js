import { api, bdi, h, londonToday, say } from './app.js';
import { msg, state } from './board-shared.js';

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
    { id: `trigger-${t.id}-risk`, name: 'risk', required: true },
    // Nothing preselected: the person asking says how risky it looks.
    h('option', { value: '' }, '— choose —'),
    ['low', 'minor', 'major'].map((x) => h('option', { value: x }, x)),
  );
  const notes = h('textarea', { id: `trigger-${t.id}-notes`, name: 'riskNotes', rows: 2, maxlength: 2000 });
  const planned = h('input', {
    type: 'date',
    id: `trigger-${t.id}-planned`,
    name: 'planned',
    value: londonToday(),
  });
  return h(
    'form',
    {
      id: `trigger-${t.id}-request`,
      class: 'trigger-request',
      hidden: !opened.has(t.id),
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const r = await api('POST', '/api/visits', {
            school: state.school,
            triggerEpisodeId: t.id,
            reason: reason.value.trim() || undefined,
            riskLevel: risk.value,
            riskNotes: notes.value.trim() || undefined,
            plannedFor: planned.value || undefined,
          });
          opened.delete(t.id);
          location.href = `/visits/${r.id}`;
        } catch (err) {
          say(msg, err.message, true);
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
    h('button', { type: 'submit', class: 'primary' }, 'Request the visit'),
  );
}

/** The pupil page: attendance calendar, triggers with their evidence, visits. */
const pupilUrl = (t) =>
  `/pupils/${encodeURIComponent(t.pupilMisId)}?school=${encodeURIComponent(state.school)}`;

/** One trigger card. */
export function triggerItem(t) {
  const who = t.pupilName ?? t.pupilMisId;
  const form = requestForm(t, who);
  const toggle = h(
    'button',
    {
      type: 'button',
      'aria-expanded': String(!form.hidden),
      'aria-controls': form.id,
      onclick: () => {
        form.hidden = !form.hidden;
        toggle.setAttribute('aria-expanded', String(!form.hidden));
        if (form.hidden) opened.delete(t.id);
        else {
          opened.add(t.id);
          form.querySelector('select')?.focus();
        }
      },
    },
    `Request a visit for ${who}`,
  );
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
    toggle,
    form,
  );
}
