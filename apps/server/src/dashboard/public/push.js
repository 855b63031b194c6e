// "Notify me": a service worker (sw.js) and a push subscription for the signed-in key, so that a
// permission request, a turn's end or a failure shows as a desktop notification while the page is
// closed. The notification's Allow and Deny answer with a single-use token, never the API key.
import { ApiError } from './api.js';
import { h } from './dom.js';

const WORKER = '/dashboard/sw.js';
/** The browser's push service may be unreachable (offline, blocked): then it never answers. */
const SUBSCRIBE_TIMEOUT_MS = 30_000;

/** Adds the control to the nav (before Sign out) where the browser has what it takes. */
export function mountNotify(nav, api, flash) {
  if (
    !('serviceWorker' in navigator) ||
    !('PushManager' in window) ||
    !('Notification' in window)
  ) {
    return;
  }
  const button = h('button', { id: 'notify', type: 'button', class: 'link' }, 'Notify me');
  nav.insertBefore(button, document.getElementById('sign-out'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      flash();
      await enableNotifications(api());
      button.textContent = 'Notifications on';
    } catch (err) {
      flash(err instanceof ApiError ? `${err.code}: ${err.message}` : `PUSH_FAILED: ${err}`);
    } finally {
      button.disabled = false;
    }
  });
}

/** Asks for permission, registers the worker, subscribes with the server's key and posts it. */
export async function enableNotifications(api) {
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') {
    throw new ApiError('NOTIFICATIONS_BLOCKED', 'The browser does not allow notifications here');
  }
  // Served from /dashboard/ with Service-Worker-Allowed: / so that it sees the page's clients.
  const registration = await navigator.serviceWorker.register(WORKER, { scope: '/' });
  await navigator.serviceWorker.ready;
  const { publicKey } = await api.request('GET', '/v1/push/key');
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription.options.applicationServerKey, publicKey)) {
    // Subscribed with another server key (the server's pair changed): pushes would be refused.
    await subscription.unsubscribe();
    subscription = null;
  }
  subscription ??= await withTimeout(
    registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: publicKey }),
    SUBSCRIBE_TIMEOUT_MS,
  );
  return api.request('POST', '/v1/push/subscriptions', subscription.toJSON());
}

function sameKey(buffer, base64url) {
  if (!buffer) return false;
  const bytes = new Uint8Array(buffer);
  const text = btoa(String.fromCharCode(...bytes));
  return text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') === base64url;
}

function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new ApiError('PUSH_UNAVAILABLE', "The browser's push service did not answer")),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
