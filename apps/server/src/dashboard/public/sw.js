// The dashboard's service worker: shows Jelmore's push notifications, and answers a permission
// request from one (Allow, Deny) with the token the notification carries. No API key here.
/* eslint-env serviceworker */

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let payload;
  try {
    payload = event.data ? event.data.json() : undefined;
  } catch {
    payload = undefined;
  }
  event.waitUntil(show(payload));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(clicked(event.notification.data, event.action));
});

/** A notification for the payload (see PushPayload in apps/server/src/push/push-payload.ts). */
async function show(payload) {
  if (!payload || typeof payload.title !== 'string') return;
  const answerable = payload.kind === 'permission_request' && typeof payload.token === 'string';
  await self.registration.showNotification(payload.title, {
    body: payload.body ?? '',
    tag: payload.tag,
    data: payload,
    // A request waits for an answer: keep it on screen until there is one.
    requireInteraction: answerable,
    actions: answerable
      ? [
          { action: 'allow', title: 'Allow' },
          { action: 'deny', title: 'Deny' },
        ]
      : [],
  });
}

async function clicked(data, action) {
  if (!data) return;
  if ((action === 'allow' || action === 'deny') && data.token) {
    const res = await fetch(`/v1/push/actions/${encodeURIComponent(data.token)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        allow: action === 'allow',
        sessionId: data.sessionId,
        requestId: data.requestId,
      }),
    });
    if (!res.ok) {
      const body = await res.json().catch(() => undefined);
      const error = body && body.error ? `${body.error.code}: ${body.error.message}` : res.status;
      await self.registration.showNotification('Not answered', {
        body: String(error),
        tag: data.tag,
        data: { ...data, token: undefined },
      });
    }
    return;
  }
  await openPage(new URL(data.url || '/', self.registration.scope).href);
}

/** Focuses a dashboard tab on the session's page, or opens one. */
async function openPage(url) {
  const tabs = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const tab = tabs.find((c) => new URL(c.url).origin === self.location.origin);
  if (tab) {
    await tab.focus();
    if (tab.url !== url && 'navigate' in tab) await tab.navigate(url).catch(() => undefined);
    return;
  }
  await self.clients.openWindow(url);
}
