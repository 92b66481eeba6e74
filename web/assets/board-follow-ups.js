import { bdi, h } from './app.js';
import { act } from './board-shared.js';

// Follow-up actions from visit outcomes (King's Gomer: "logged and monitored"): what, who, by when,
// overdue ones marked, each with a short form to record it done (what was done).

export function followUpItem(f) {
  const note = h('input', {
    type: 'text',
    id: `fu-note-${f.id}`,
    name: `followUpNote-${f.id}`,
    required: true,
    maxlength: 1000,
  });
  return h(
    'li',
    { class: f.overdue ? 'follow-up overdue' : 'follow-up' },
    f.overdue ? h('span', { class: 'badge badge-alarm' }, 'OVERDUE') : null,
    ' ',
    bdi(f.action),
    ' — ',
    bdi(f.owner),
    f.dueOn ? `, by ${f.dueOn}` : '',
    ' · ',
    h('a', { href: `/visits/${f.visitId}` }, `visit #${f.visitId}`),
    h(
      'form',
      {
        class: 'inline',
        onsubmit: (e) => {
          e.preventDefault();
          act(`/api/follow-ups/${f.id}/done`, { note: note.value }, () => 'Follow-up recorded.');
        },
      },
      h('label', { for: `fu-note-${f.id}` }, 'What was done '),
      note,
      h('button', { type: 'submit' }, 'Done'),
    ),
  );
}
