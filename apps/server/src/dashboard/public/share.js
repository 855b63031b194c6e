// Read-only share links: the panel on a session page that makes, copies, lists and revokes them, and
// the page a link opens (/share/<token>): the transcript, live, with no key and nothing to press.
import { ApiError } from './api.js';
import { addUsage, clear, formatAge, formatCost, h, stateBadge, summarizeInput } from './dom.js';
import { Transcript } from './transcript.js';

const TERMINAL = new Set(['terminated', 'failed']);
const RETRY_MS = 2000;
const TTLS = [
  ['1 hour', 3600],
  ['1 day', 86_400],
  ['7 days', 7 * 86_400],
];

/** The share token of a /share/<token> page, else undefined. */
export function sharedTokenFromPath() {
  const match = /^\/share\/(jls_[\w-]+)$/.exec(location.pathname);
  return match ? match[1] : undefined;
}

/** The session page's "Share" card. `api()` gives an Api with the signed-in key. */
export class SharePanel {
  constructor(sessionId, { api, attempt }) {
    this.sessionId = sessionId;
    this.api = api;
    this.attempt = attempt;
    this.ttl = h(
      'select',
      { id: 'share-ttl' },
      ...TTLS.map(([label, s]) => h('option', { value: s }, label)),
    );
    this.ttl.value = '86400';
    const create = h('button', { type: 'button', id: 'share-create' }, 'Share read-only link');
    create.addEventListener('click', () => this.create());
    this.url = h('input', {
      id: 'share-url',
      readonly: true,
      hidden: true,
      'aria-label': 'Share link',
    });
    this.copy = h('button', { type: 'button', id: 'share-copy', hidden: true }, 'Copy');
    this.copy.addEventListener('click', () => this.copyUrl());
    this.list = h('ul', { id: 'share-list' });
    this.el = h(
      'section',
      { class: 'card shares', id: 'shares' },
      h('div', { class: 'row' }, h('strong', {}, 'Share'), this.ttl, create, this.url, this.copy),
      h(
        'p',
        { class: 'muted small' },
        'Anyone with the link sees this transcript (secrets redacted) and can change nothing.',
      ),
      this.list,
    );
    this.refresh();
  }

  path(suffix = '') {
    return `/v1/sessions/${encodeURIComponent(this.sessionId)}/shares${suffix}`;
  }

  async create() {
    const body = { expiresInSeconds: Number(this.ttl.value) };
    const share = await this.attempt(() => this.api().request('POST', this.path(), body));
    if (!share) return;
    this.url.value = share.url;
    this.url.hidden = this.copy.hidden = false;
    this.url.select();
    await this.refresh();
  }

  async copyUrl() {
    try {
      await navigator.clipboard.writeText(this.url.value);
      this.copy.textContent = 'Copied';
    } catch {
      // No clipboard permission (or no secure context): the link stays selected to copy by hand.
      this.url.select();
    }
  }

  async refresh() {
    const shares = await this.attempt(() => this.api().request('GET', this.path()));
    if (!shares) return;
    clear(this.list).append(
      ...shares.map((s) => {
        const revoke = h('button', { type: 'button', class: 'revoke danger' }, 'Revoke');
        revoke.addEventListener('click', async () => {
          revoke.disabled = true;
          const done = await this.attempt(() =>
            this.api().request('DELETE', this.path(`/${encodeURIComponent(s.id)}`)),
          );
          if (done) await this.refresh();
          else revoke.disabled = false;
        });
        const when =
          s.status === 'active' ? `expires ${new Date(s.expiresAt).toLocaleString()}` : s.status;
        return h(
          'li',
          { dataset: { shareId: s.id, status: s.status } },
          h('code', {}, s.id.slice(4, 12)),
          ` made ${formatAge(s.createdAt)} · `,
          h('span', { class: `share-status ${s.status}` }, when),
          ' ',
          s.status === 'active' ? revoke : null,
        );
      }),
    );
  }
}

/** A transcript to read: permission requests without buttons, checkpoints as lines, no attachments. */
class ReadOnlyTranscript extends Transcript {
  constructor(root) {
    super(root, {
      onPermission: () => Promise.reject(new ApiError('SHARE_TOKEN_READ_ONLY', 'read-only')),
      attachmentUrl: () => Promise.reject(new ApiError('NOT_SHARED', 'not shared')),
      checkpoints: {
        render: (event, data) =>
          h(
            'div',
            { class: 'ev note checkpoint', dataset: data },
            `✓ checkpoint turn ${event.turn}`,
          ),
      },
    });
  }

  permission(event, data) {
    return h(
      'div',
      { class: 'ev permission', dataset: { ...data, requestId: event.requestId } },
      h('strong', {}, event.tool),
      ' asks for permission ',
      h('code', {}, summarizeInput(event.input)),
      h('pre', {}, JSON.stringify(event.input, null, 2)),
    );
  }
}

/** Renders the shared session of `token` into `main`; returns what stops it. */
export function sharedView(main, token, flash) {
  const controller = new AbortController();
  const base = `/v1/shared/${encodeURIComponent(token)}`;
  const stateEl = h('span', { id: 'state' });
  const costEl = h('span', { id: 'cost', class: 'num' });
  const connEl = h('span', { id: 'connection', class: 'muted' }, 'connecting…');
  const titleEl = h('div', { id: 'session-title' });
  const metaEl = h('span', {});
  const transcriptEl = h('div', { id: 'transcript', class: 'transcript' });
  main.append(
    h(
      'section',
      { class: 'card session-head', id: 'shared-head' },
      h(
        'div',
        {},
        h('strong', {}, 'Shared session'),
        ' ',
        h('span', { class: 'badge' }, 'read-only'),
      ),
      titleEl,
      h('div', { class: 'meta' }, stateEl, metaEl, costEl, ' ', connEl),
    ),
    transcriptEl,
  );
  const transcript = new ReadOnlyTranscript(transcriptEl);
  const usage = { inputTokens: 0, outputTokens: 0, costUsd: 0 };
  let state;
  const update = () => {
    clear(stateEl).append(stateBadge(state));
    costEl.textContent = `${usage.inputTokens} in / ${usage.outputTokens} out · ${formatCost(usage.costUsd)}`;
  };
  const refused = (error) => {
    connEl.textContent = 'closed';
    flash(`${error.code}: ${error.message}`);
  };
  (async () => {
    const res = await fetch(base, {
      headers: { accept: 'application/json' },
      signal: controller.signal,
    });
    const body = await res.json().catch(() => undefined);
    if (!res.ok)
      return refused(
        (body && body.error) || { code: 'CLIENT_BAD_RESPONSE', message: `${res.status}` },
      );
    state = body.state;
    titleEl.textContent = body.title ?? '';
    metaEl.textContent = ` ${body.provider} · ${body.model} · link expires ${new Date(body.share.expiresAt).toLocaleString()} · `;
    update();
    await follow(base, controller.signal, {
      onEvents(events) {
        for (const event of events) {
          transcript.add(event);
          if (event.type === 'status') state = event.to;
          addUsage(usage, event);
        }
        update();
      },
      onConnection(text) {
        connEl.textContent = text;
        connEl.classList.toggle('offline', text !== 'live');
      },
      onError: refused,
    });
  })().catch((err) => {
    if (!controller.signal.aborted) refused({ code: 'CLIENT_NETWORK', message: String(err) });
  });
  return () => {
    controller.abort();
    transcript.dispose();
  };
}

/**
 * The events as Server-Sent Events read with fetch (an EventSource cannot tell a session's `error`
 * event from the stream's): replay then live, again from the last seq after a dropped connection,
 * until the session ends or the link stops holding.
 */
async function follow(base, signal, { onEvents, onConnection, onError }) {
  let after = 0;
  let ended = false;
  while (!signal.aborted && !ended) {
    try {
      const res = await fetch(`${base}/events?after=${after}`, {
        headers: { accept: 'text/event-stream' },
        signal,
      });
      if (!res.ok) {
        const body = await res.json().catch(() => undefined);
        return onError(
          (body && body.error) || { code: 'CLIENT_BAD_RESPONSE', message: `${res.status}` },
        );
      }
      onConnection('live');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => line.slice(6))
            .join('\n');
          if (!data) continue;
          const parsed = JSON.parse(data);
          // The stream's own end (the link revoked or expired) is an error body, not an event.
          if (parsed.seq === undefined) return onError(parsed.error ?? parsed);
          if (parsed.seq <= after) continue;
          after = parsed.seq;
          if (parsed.type === 'status' && TERMINAL.has(parsed.to)) ended = true;
          onEvents([parsed]);
        }
      }
      if (ended) onConnection('ended');
    } catch (err) {
      if (signal.aborted) return;
      onConnection('reconnecting…');
    }
    if (!ended) await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}
