// The service worker behind "Alarms on this device": shows each alarm Doorstep pushes (its type, the
// person and the time: nothing more is sent) and opens the board when it is clicked.

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  const title = typeof data.title === 'string' ? data.title : 'DOORSTEP ALARM';
  const body = typeof data.body === 'string' ? data.body : 'Open the Doorstep board.';
  const url = typeof data.url === 'string' && data.url.startsWith('/') ? data.url : '/board';
  event.waitUntil(
    self.registration.showNotification(title, {
      body,
      tag: data.alarmId ? `alarm-${data.alarmId}` : 'alarm',
      renotify: true,
      requireInteraction: true,
      data: { url },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = event.notification.data?.url ?? '/board';
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      const board = windows.find((w) => new URL(w.url).pathname === '/board');
      if (board) return board.focus();
      return self.clients.openWindow(url);
    }),
  );
});
