import { header, me, say } from './app.js';

// The pupil page is drawn on the server (attendance, triggers, visits); this adds the page header.

me()
  .then(header)
  .catch((e) => {
    const msg = document.createElement('p');
    document.querySelector('main')?.prepend(msg);
    say(msg, e.message, true);
  });
