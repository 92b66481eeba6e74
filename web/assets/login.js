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
form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = { username: form.username.value.trim(), password: form.password.value };
  const res = await fetch('/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    say(msg, data.message ?? 'sign-in failed', true);
    form.password.value = '';
    form.password.focus();
    return;
  }
  location.href = afterSignIn(location.search, location.origin, data.home);
});
