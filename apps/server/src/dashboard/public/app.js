// The Jelmore dashboard: sign in with an API key, sessions, a live session view, providers.
// Plain ES modules, no inline script or style, so it runs under a strict content security policy.
import { Api, ApiError, SessionFeed } from './api.js';
import { AttachmentTray } from './attachments.js';
import { Checkpoints, sessionLineage } from './checkpoints.js';
import { ChildrenPanel, isChild, sessionTree, treeCell, treeRows } from './children.js';
import { addUsage, clear, formatAge, formatCost, h, stateBadge } from './dom.js';
import { mountNotify } from './push.js';
import { SharePanel, sharedTokenFromPath, sharedView } from './share.js';
import { Transcript } from './transcript.js';

const KEY_STORAGE = 'jelmore.apiKey';
const POLL_MS = 2000;
const TERMINAL = new Set(['terminated', 'failed']);

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const flashEl = document.getElementById('flash');

/** What the current view must stop (timers, sockets) when another one replaces it. */
let teardown = () => {};

function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

function api() {
  return new Api(storedKey() ?? '');
}

function flash(message) {
  flashEl.textContent = message ?? '';
  flashEl.hidden = !message;
}

/** Runs an API call for a button or form; a refused key sends the user back to sign in. */
async function attempt(action) {
  try {
    flash();
    return await action();
  } catch (err) {
    if (err instanceof ApiError && err.code === 'UNAUTHORIZED') {
      signOut('Your API key was refused: sign in again.');
    } else {
      flash(err instanceof ApiError ? `${err.code}: ${err.message}` : String(err));
    }
    return undefined;
  }
}

/** A tray for the images and documents pasted or dropped into `input`. */
function attachmentTray(input) {
  return new AttachmentTray(input, {
    upload: (file) => api().upload(file),
    onError: (err) => flash(`${err.code}: ${err.message}`),
  });
}

function signOut(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  location.hash = '#/';
  route();
  if (message) flash(message);
}

function route() {
  teardown();
  teardown = () => {};
  flash();
  clear(main);
  // A share link's page: read-only, no key, whoever opens it.
  const shareToken = sharedTokenFromPath();
  if (shareToken) {
    nav.hidden = true;
    teardown = sharedView(main, shareToken, flash);
    return;
  }
  if (storedKey() === null) {
    nav.hidden = true;
    return signInView();
  }
  nav.hidden = false;
  const hash = location.hash || '#/';
  const session = /^#\/sessions\/([\w-]+)$/.exec(hash);
  for (const link of nav.querySelectorAll('a')) {
    const active =
      link.dataset.view === (hash.startsWith('#/providers') ? 'providers' : 'sessions');
    link.classList.toggle('active', active);
  }
  if (session) return sessionView(session[1]);
  if (hash === '#/providers') return providersView();
  return sessionsView();
}

function signInView() {
  const key = h('input', {
    id: 'api-key',
    type: 'password',
    autocomplete: 'current-password',
    placeholder: 'API key',
  });
  const error = h('p', { id: 'sign-in-error', class: 'error', hidden: true });
  const form = h(
    'form',
    { id: 'sign-in', class: 'card narrow' },
    h('h1', {}, 'Sign in'),
    h('label', { for: 'api-key' }, 'API key (one of the server’s JELMORE_API_KEYS)'),
    key,
    h('button', { type: 'submit' }, 'Sign in'),
    h('p', { class: 'muted' }, 'Leave it empty when the server runs without keys.'),
    error,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await new Api(key.value).sessions();
      sessionStorage.setItem(KEY_STORAGE, key.value);
      route();
    } catch (err) {
      error.hidden = false;
      error.textContent =
        err.code === 'UNAUTHORIZED'
          ? `The server refused this key (${err.code})`
          : `${err.code}: ${err.message}`;
    }
  });
  main.append(form);
  key.focus();
}

async function sessionsView() {
  const query = h('textarea', {
    id: 'query',
    rows: 3,
    placeholder: 'What should the agent do?',
    required: true,
  });
  const queryAttachments = attachmentTray(query);
  const provider = h('select', { id: 'provider' }, h('option', { value: '' }, 'any provider'));
  const model = h('input', { id: 'model', placeholder: 'model (optional), e.g. sonnet' });
  // A worktree needs a cwd inside a git repository: without one a session gets a fresh empty folder.
  const cwd = h('input', { id: 'cwd', placeholder: 'folder in the workspace (optional)' });
  const worktree = h('input', { id: 'worktree', type: 'checkbox' });
  const form = h(
    'form',
    { id: 'new-session', class: 'card' },
    h('h2', {}, 'New session'),
    query,
    queryAttachments.el,
    h(
      'div',
      { class: 'row' },
      provider,
      model,
      cwd,
      h('label', { class: 'check', title: 'a git worktree of its own' }, worktree, 'worktree'),
      h('button', { type: 'submit' }, 'Start'),
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { query: await queryAttachments.content(query.value) };
    if (provider.value) body.provider = provider.value;
    if (model.value.trim()) body.model = model.value.trim();
    if (cwd.value.trim()) body.cwd = cwd.value.trim();
    if (worktree.checked) body.isolation = 'worktree';
    const session = await attempt(() => api().createSession(body));
    if (session) location.hash = `#/sessions/${session.id}`;
  });
  const rows = h('tbody');
  const list = h(
    'table',
    { id: 'sessions' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Session', 'Title', 'State', 'Provider', 'Model', 'Cost', 'Updated'].map((t) =>
          h('th', {}, t),
        ),
      ),
    ),
    rows,
  );
  main.append(form, h('section', { class: 'card' }, h('h2', {}, 'Sessions'), list));

  let alive = true;
  teardown = () => (alive = false);
  attempt(() => api().providers()).then((report) => {
    for (const p of report?.providers ?? [])
      provider.append(h('option', { value: p.name }, p.name));
  });
  const refresh = async () => {
    const sessions = await attempt(() => api().sessions());
    if (!alive || !sessions) return;
    // A delegating session's children right under it, indented.
    clear(rows).append(
      ...treeRows(sessionTree(sessions).roots).map(({ session: s, depth }) =>
        h(
          'tr',
          { dataset: { sessionId: s.id, depth, parentId: isChild(s) ? s.parentId : undefined } },
          treeCell(depth, h('a', { href: `#/sessions/${s.id}` }, h('code', {}, s.id.slice(0, 8)))),
          h('td', { class: 'title', title: s.title ?? '' }, s.title ?? ''),
          h('td', {}, stateBadge(s.state)),
          h('td', {}, s.provider),
          h('td', {}, s.model),
          h('td', { class: 'num' }, formatCost(s.usage.costUsd)),
          h('td', {}, formatAge(s.updatedAt)),
        ),
      ),
    );
    if (!sessions.length)
      rows.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No sessions yet.')));
  };
  await refresh();
  const timer = setInterval(refresh, POLL_MS);
  teardown = () => {
    alive = false;
    clearInterval(timer);
    queryAttachments.clear();
  };
}

async function sessionView(id) {
  const session = await attempt(() => api().session(id));
  if (!session) return main.append(h('p', {}, h('a', { href: '#/' }, '← sessions')));
  let state = session.state;
  const usage = { inputTokens: 0, outputTokens: 0, costUsd: 0 };

  const stateEl = h('span', { id: 'state' });
  const costEl = h('span', { id: 'cost', class: 'num' });
  const connEl = h('span', { id: 'connection', class: 'muted' }, 'connecting…');
  const transcriptEl = h('div', { id: 'transcript', class: 'transcript' });
  const text = h('textarea', {
    id: 'input-text',
    rows: 2,
    placeholder: 'Send input (Ctrl+Enter); paste or drop images',
  });
  const attachments = attachmentTray(text);
  const buttons = {
    send: h('button', { type: 'submit', id: 'send' }, 'Send'),
    interrupt: h('button', { type: 'button', id: 'interrupt' }, 'Interrupt'),
    suspend: h('button', { type: 'button', id: 'suspend' }, 'Suspend'),
    resume: h('button', { type: 'button', id: 'resume' }, 'Resume'),
    terminate: h('button', { type: 'button', id: 'terminate', class: 'danger' }, 'Terminate'),
  };
  const inputForm = h(
    'form',
    { id: 'input' },
    attachments.el,
    h('div', { class: 'input-row' }, text, buttons.send),
  );

  const checkpoints = new Checkpoints(id, {
    api,
    attempt,
    onForked: (forked) => (location.hash = `#/sessions/${forked.id}`),
    onRewound: (result) => {
      state = result.session.state;
      update();
    },
  });
  const children = new ChildrenPanel(id, { api, attempt, pollMs: POLL_MS });
  const shares = new SharePanel(id, { api, attempt });
  const update = () => {
    checkpoints.setState(state);
    clear(stateEl).append(stateBadge(state));
    costEl.textContent = `${usage.inputTokens} in / ${usage.outputTokens} out · ${formatCost(usage.costUsd)}`;
    const live = state === 'running' || state === 'starting' || state === 'idle';
    buttons.send.disabled = text.disabled = !live;
    buttons.interrupt.disabled = state !== 'running' && state !== 'starting';
    buttons.suspend.disabled = !live;
    buttons.resume.disabled = state !== 'suspended' && state !== 'interrupted';
    buttons.terminate.disabled = TERMINAL.has(state);
  };

  const command = (name, call) =>
    buttons[name].addEventListener('click', async () => {
      buttons[name].disabled = true;
      const result = await attempt(call);
      if (result && result.state) state = result.state;
      update();
    });
  command('interrupt', () => api().interrupt(id));
  command('suspend', () => api().suspend(id));
  command('resume', () => api().resume(id));
  command('terminate', () => api().terminate(id));
  inputForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!text.value.trim() && attachments.empty) return;
    const content = await attachments.content(text.value);
    if (typeof content === 'string' && !content.trim()) return; // every upload failed
    const sent = await attempt(() => api().send(id, content));
    if (!sent) return;
    text.value = '';
    attachments.clear();
  });
  text.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) inputForm.requestSubmit();
  });

  main.append(
    h(
      'section',
      { class: 'card session-head' },
      h('div', {}, h('a', { href: '#/' }, '← sessions'), ' ', h('code', { id: 'session-id' }, id)),
      session.title ? h('div', { id: 'session-title' }, session.title) : null,
      sessionLineage(session),
      h(
        'div',
        { class: 'meta' },
        stateEl,
        ` ${session.provider} · ${session.model} · `,
        costEl,
        ' ',
        connEl,
      ),
      h(
        'div',
        { class: 'row' },
        buttons.interrupt,
        buttons.suspend,
        buttons.resume,
        buttons.terminate,
      ),
    ),
    children.el,
    shares.el,
    transcriptEl,
    inputForm,
  );
  update();
  children.refresh();

  let feed;
  const transcript = new Transcript(transcriptEl, {
    // A child's request (relayed into this stream) is answered on the child's session.
    onPermission: (sessionId, requestId, allow) =>
      feed.replyPermission(sessionId, requestId, allow),
    attachmentUrl: (attachmentId) => api().attachmentUrl(attachmentId),
    checkpoints,
  });
  feed = new SessionFeed(storedKey(), id, {
    onEvents(events) {
      for (const event of events) {
        transcript.add(event);
        children.onEvent(event);
        if (event.type === 'status') state = event.to;
        addUsage(usage, event);
      }
      update();
    },
    onConnection(connected) {
      connEl.textContent = connected ? 'live' : 'reconnecting…';
      connEl.classList.toggle('offline', !connected);
    },
    onError(err) {
      if (err.code === 'UNAUTHORIZED') signOut('Your API key was refused: sign in again.');
      else flash(`${err.code}: ${err.message}`);
    },
  });
  teardown = () => {
    feed.close();
    children.close();
    transcript.dispose();
    attachments.clear();
  };
}

async function providersView() {
  const body = h('tbody');
  const check = h('button', { type: 'button', id: 'check-providers' }, 'Check now');
  main.append(
    h(
      'section',
      { class: 'card' },
      h('div', { class: 'row spread' }, h('h2', {}, 'Providers'), check),
      h(
        'table',
        { id: 'providers' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Provider', 'Health', 'Circuit', 'Load', 'Models'].map((t) => h('th', {}, t)),
          ),
        ),
        body,
      ),
    ),
  );
  const load = async () => {
    const report = await attempt(() => api().providers());
    if (!report) return;
    clear(body).append(
      ...report.providers.map((p) =>
        h(
          'tr',
          { dataset: { provider: p.name } },
          h(
            'td',
            {},
            h('strong', {}, p.name),
            p.name === report.defaultProvider ? h('span', { class: 'muted' }, ' default') : null,
          ),
          h(
            'td',
            {},
            p.health && p.health.healthy
              ? h('span', { class: 'badge up' }, 'up')
              : h(
                  'span',
                  { class: 'badge down', title: (p.health && p.health.reason) || '' },
                  'down',
                ),
            p.health && !p.health.healthy
              ? h('div', { class: 'muted small' }, p.health.reason)
              : null,
          ),
          h('td', {}, (p.health && p.health.circuit) || '?'),
          h(
            'td',
            { class: 'num' },
            `${p.load.active}/${p.load.max}`,
            h('meter', { min: 0, max: p.load.max, value: p.load.active }),
          ),
          h(
            'td',
            {},
            p.models.map((m) =>
              h(
                'div',
                { class: 'small' },
                h('code', {}, m.id),
                m.aliases.length ? ` (${m.aliases.join(', ')})` : '',
                h(
                  'span',
                  { class: 'muted' },
                  ` $${m.inputPricePerMTok} / $${m.outputPricePerMTok} per 1M`,
                ),
              ),
            ),
          ),
        ),
      ),
    );
  };
  check.addEventListener('click', async () => {
    check.disabled = true;
    await attempt(() => api().checkProviders());
    await load();
    check.disabled = false;
  });
  await load();
}

document.getElementById('sign-out').addEventListener('click', () => signOut());
mountNotify(nav, api, flash);
window.addEventListener('hashchange', route);
route();
