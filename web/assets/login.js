import { say } from './app.js';
import { afterSignIn } from './login-next.js';

const form = document.getElementById('login');
const msg = document.getElementById('message');

// A fresh install has no accounts: point to the page that says how to create the first admin.
fetch('/api/first-run', { headers: { accept: 'application/json' } })
  .then((r) => (r.ok ? r.json() : null))
  .then((d) => {
    if (d?.needsFirstAdmin) document.getElementById('first-run').hidden = false;
  })
  .catch(() => {});
const button = form.querySelector('button[type=submit]');
// While the sign-in is on its way (seconds on a busy server): said, and the button cannot send it
// again; a refusal or no connection gives the button back.
form.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (button.disabled) return;
  const body = { username: form.username.value.trim(), password: form.password.value };
  button.disabled = true;
  say(msg, 'Signing in…');
  let res;
  let data;
  try {
    res = await fetch('/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(body),
    });
    data = await res.json().catch(() => ({}));
  } catch {
    button.disabled = false;
    say(msg, 'Doorstep could not be reached: check the connection and sign in again.', true);
    return;
  }
  if (!res.ok) {
    button.disabled = false;
    say(msg, data.message ?? 'sign-in failed', true);
    form.password.value = '';
    form.password.focus();
    return;
  }
  location.href = afterSignIn(location.search, location.origin, data.home);
});
