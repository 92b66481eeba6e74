import { api, h, pushSubscriptionHere, say } from './app.js';
import { msg, state } from './board-shared.js';

// "Alarms on this device": Web Push opt-in for the signed-in person at the board. The browser asks
// for permission, subscribes with the school's VAPID key through the service worker (push-sw.js),
// and the subscription is kept for this account; "off" unsubscribes here and on the server.

const supported = 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

function keyBytes(base64url) {
  const b64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

async function registration() {
  return navigator.serviceWorker.register('/assets/push-sw.js', { scope: '/assets/' });
}

function show(button, on) {
  button.textContent = on ? 'Alarms on this device: on' : 'Alarms on this device: off';
  button.setAttribute('aria-pressed', on ? 'true' : 'false');
}

async function turnOn(button) {
  const { publicKey } = await api('GET', `/api/push/key?school=${encodeURIComponent(state.school)}`);
  if ((await Notification.requestPermission()) !== 'granted') {
    say(msg, 'This browser blocks notifications from Doorstep: allow them in its settings first.', true);
    return;
  }
  const reg = await registration();
  await navigator.serviceWorker.ready;
  let sub = await reg.pushManager.getSubscription();
  if (sub) await sub.unsubscribe(); // made with another key, or stale: start afresh
  sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) });
  await api('POST', '/api/push/subscriptions', { school: state.school, subscription: sub.toJSON() });
  show(button, true);
  say(msg, 'Alarms will be pushed to this device until you turn this off here.');
}

async function turnOff(button) {
  const sub = await pushSubscriptionHere();
  if (sub) {
    await api('DELETE', '/api/push/subscriptions', { endpoint: sub.endpoint });
    await sub.unsubscribe();
  }
  show(button, false);
  say(msg, 'Alarms are no longer pushed to this device.');
}

/**
 * The toolbar's button, or nothing when the browser cannot take pushes or the school has no push
 * channel (the signed-in person's school list says which have one: nothing is asked of a school
 * without, so no failed request).
 */
export async function pushToggle(school) {
  if (!supported) return null;
  if (!state.me?.schools.find((x) => x.id === school)?.push) return null;
  const button = h('button', { type: 'button', id: 'push-toggle', class: 'secondary' });
  const sub = await pushSubscriptionHere().catch(() => null);
  show(button, Boolean(sub));
  if (sub)
    // Keep the server's copy: it is removed when a push service says the subscription expired.
    api('POST', '/api/push/subscriptions', { school, subscription: sub.toJSON() }).catch(() => {});
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      if (button.getAttribute('aria-pressed') === 'true') await turnOff(button);
      else await turnOn(button);
    } catch (err) {
      say(msg, err.message, true);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}
