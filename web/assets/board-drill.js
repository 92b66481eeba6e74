import { api, h, say } from './app.js';
import { hooks, msg, state } from './board-shared.js';

// A fob drill, for admins: "Send a test alarm" raises a TEST alarm for one of the school's fobs,
// which runs that fob's whole ladder (texts and e-mails say TEST). Two deliberate steps, like resolving.

export function drillSection() {
  const devices = state.data?.drillDevices ?? [];
  if (!state.me?.user.roles.includes('admin') || !devices.length) return null;
  const device = h(
    'select',
    { id: 'drill-device', name: 'device', required: true },
    devices.map((d) => h('option', { value: d }, d)),
  );
  const confirm = h('div', { class: 'confirm', hidden: true });
  const form = h(
    'form',
    {
      id: 'drill-form',
      onsubmit: (e) => {
        e.preventDefault();
        confirm.replaceChildren(
          h(
            'p',
            {},
            `Send a TEST alarm for ${device.value}? It runs that fob's whole ladder: the board sounds and the people on it are texted and e-mailed (every message says TEST). Resolve it as a test when the drill is over.`,
          ),
          h(
            'button',
            {
              type: 'button',
              class: 'primary',
              onclick: async () => {
                try {
                  const r = await api('POST', '/api/alarms/test', {
                    school: state.school,
                    device: device.value,
                  });
                  form.removeAttribute('data-dirty');
                  say(msg, `Test alarm #${r.alarmId} sent for ${device.value}`);
                  await hooks.refresh();
                } catch (err) {
                  say(msg, err.message, true);
                }
              },
            },
            `Yes, send a test alarm for ${device.value}`,
          ),
          h('button', { type: 'button', onclick: () => (confirm.hidden = true) }, 'No'),
        );
        confirm.hidden = false;
        form.dataset.dirty = 'true';
      },
    },
    h('label', { for: device.id }, 'Fob'),
    device,
    h('button', { type: 'submit' }, 'Send a test alarm'),
    confirm,
  );
  return h(
    'section',
    { id: 'drill', 'aria-labelledby': 'drill-h' },
    h('h2', { id: 'drill-h' }, 'Fob drill'),
    h('p', { class: 'hint' }, 'Rehearse the ladder each term: a clearly marked TEST alarm from one fob.'),
    form,
  );
}
