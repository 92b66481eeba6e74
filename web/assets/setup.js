import { say } from './app.js';

// The first admin, from the one-time setup link: the token travels in the form, never in a cookie.
const form = document.getElementById('setup');
const msg = document.getElementById('message');

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (form.password.value !== form.again.value) {
    say(msg, 'the two passwords differ', true);
    form.again.focus();
    return;
  }
  const body = {
    token: form.token.value,
    username: form.username.value.trim(),
    displayName: form.displayName.value.trim(),
    password: form.password.value,
  };
  const res = await fetch('/api/setup', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    say(msg, data.message ?? 'the admin could not be created', true);
    return;
  }
  form.replaceChildren();
  // The words above the form said there were no accounts: there is one now.
  document.getElementById('setup-intro')?.remove();
  const p = document.createElement('p');
  p.textContent = `The admin "${data.created}" is ready. `;
  const a = document.createElement('a');
  a.href = data.signIn;
  a.textContent = 'Sign in';
  p.append(a);
  form.append(p);
  a.focus();
});
