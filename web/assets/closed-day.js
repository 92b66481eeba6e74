import { h } from './app.js';

// A visit planned for (or moved to) a day the school is closed: the server asks the person to confirm it.

/**
 * "Planned for" a day the school is closed (a weekend, a holiday): the server refuses it until the
 * person confirms it (409, "plannedFor: … is not a school day …"); the box is then offered by the date,
 * and a new date takes it away again. `confirmed()`: what the request adds once ticked; `said(err)`:
 * what the page says of a refusal (the server's words, the box pointed at for this one).
 */
export function closedDayBox(id, dateInput) {
  const box = h('input', { type: 'checkbox', id, name: 'closedDayConfirmed' });
  const line = h(
    'p',
    { class: 'field check', hidden: true },
    box,
    h('label', { for: id }, 'Yes, plan it for that day: I know the school is closed'),
  );
  dateInput.addEventListener('change', () => {
    line.hidden = true;
    box.checked = false;
  });
  return {
    line,
    // Asked by the form (false) until confirmed: an API client that sends nothing is not asked.
    confirmed: () => ({ closedDayConfirmed: !line.hidden && box.checked }),
    said: (err) => {
      if (err.status !== 409 || !/^[\w.]+: .* is not a school day /.test(err.message)) return err.message;
      line.hidden = false;
      box.focus();
      return err.message.replace(
        / — if the visit is meant for that day, confirm it .*$/,
        ' — if the visit is meant for that day, tick “Yes, plan it for that day” and send it again.',
      );
    },
  };
}
