// Renders a session's events into a transcript: each turn's input with its images, assistant text as it
// streams, tool calls with their results, permission requests with Allow / Deny (its own and its
// children's), turn summaries, checkpoints (rendered by checkpoints.js), and unknown events as JSON.
import { formatBytes, formatCost, formatDuration, h, summarizeInput } from './dom.js';

export class Transcript {
  /**
   * onPermission(sessionId, requestId, allow) answers a permission request of that session (this one
   * or a descendant); attachmentUrl(id) resolves to a URL of an attachment's bytes. Both return
   * promises. checkpoints (a Checkpoints) renders checkpoints.
   */
  constructor(root, { onPermission, attachmentUrl, checkpoints }) {
    this.root = root;
    this.onPermission = onPermission;
    this.attachmentUrl = attachmentUrl;
    this.checkpoints = checkpoints;
    /** attachmentId → the promise of its blob: URL, fetched once per view. */
    this.urls = new Map();
    this.tools = new Map();
    /** session/requestId → the request's buttons and outcome, settled by its resolved event. */
    this.permissions = new Map();
    this.lastAssistant = undefined;
  }

  add(event) {
    const stick = this.root.scrollHeight - this.root.scrollTop - this.root.clientHeight < 40;
    if (event.type === 'assistant') {
      if (!this.lastAssistant) {
        this.lastAssistant = h('div', { class: 'ev assistant', dataset: { seq: event.seq } });
        this.root.append(this.lastAssistant);
      }
      this.lastAssistant.append(document.createTextNode(event.text));
    } else {
      this.lastAssistant = undefined;
      const el = this.render(event);
      if (el) this.root.append(el);
    }
    if (stick) this.root.scrollTop = this.root.scrollHeight;
  }

  render(event) {
    const data = { seq: event.seq, type: event.type };
    switch (event.type) {
      case 'status':
        return h(
          'div',
          { class: `ev status state-${event.to}`, dataset: data },
          `● ${event.to}`,
          event.reason ? h('span', { class: 'muted' }, ` (${event.reason})`) : null,
        );
      case 'user':
        return h(
          'div',
          { class: 'ev user', dataset: data },
          event.content.map((block) => this.inputBlock(block)),
        );
      case 'tool_use': {
        const output = h('pre', { class: 'tool-output' });
        const mark = h('span', { class: 'tool-mark' }, '…');
        const el = h(
          'details',
          { class: 'ev tool', dataset: { ...data, toolId: event.id } },
          h(
            'summary',
            {},
            mark,
            ' ',
            h('strong', {}, event.name),
            ' ',
            h('code', {}, summarizeInput(event.input)),
          ),
          h('pre', { class: 'tool-input' }, JSON.stringify(event.input, null, 2)),
          output,
        );
        this.tools.set(event.id, { el, output, mark });
        return el;
      }
      case 'tool_result': {
        const tool = this.tools.get(event.toolUseId);
        if (!tool) return h('pre', { class: 'ev tool-output', dataset: data }, event.output);
        tool.output.textContent = event.output;
        tool.mark.textContent = event.isError ? '✗' : '✓';
        tool.el.classList.toggle('failed', event.isError);
        return null;
      }
      case 'permission_request':
        return this.permission(event, data);
      case 'child_permission_request':
        return this.permission(event, data, event.childSessionId);
      case 'permission_resolved':
        return this.resolved(event, data);
      case 'child_permission_resolved':
        return this.resolved(event, data, event.childSessionId);
      case 'usage':
        return null;
      case 'result':
        return h(
          'div',
          { class: `ev result${event.interrupted ? ' interrupted' : ''}`, dataset: data },
          event.interrupted ? '■ interrupted' : '✓ turn done',
          ` in ${formatDuration(event.durationMs)} · ${event.usage.inputTokens} in / ${event.usage.outputTokens} out · ${formatCost(event.usage.costUsd)}`,
        );
      case 'checkpoint':
        return this.checkpoints.render(event, data);
      case 'child_session':
        // Its agent started a session (delegation): a link to it, as its header links back here.
        return h(
          'div',
          { class: 'ev note child-session', dataset: data },
          '↳ started ',
          childLink(event.childSessionId),
          ` on ${event.provider} (${event.model})`,
        );
      case 'error':
        return h('div', { class: 'ev error', dataset: data }, `${event.code}: ${event.message}`);
      case 'directory_changed':
        return h('div', { class: 'ev note', dataset: data }, `cd ${event.from} → ${event.to}`);
      default: {
        // An event type this page does not know yet: show it rather than drop it.
        const { sessionId: _s, seq: _q, ts: _t, type, ...rest } = event;
        return h(
          'div',
          { class: 'ev unknown', dataset: data },
          h('code', {}, type),
          h('pre', {}, JSON.stringify(rest, null, 2)),
        );
      }
    }
  }

  inputBlock(block) {
    if (block.type === 'text') return h('div', { class: 'user-text' }, block.text);
    const label = `${block.name ?? block.mediaType} · ${formatBytes(block.size)}`;
    if (block.type !== 'image') {
      return h('span', { class: 'chip', dataset: { attachmentId: block.attachmentId } }, label);
    }
    const img = h('img', {
      class: 'thumb',
      alt: label,
      title: label,
      dataset: { attachmentId: block.attachmentId },
    });
    let url = this.urls.get(block.attachmentId);
    if (!url) this.urls.set(block.attachmentId, (url = this.attachmentUrl(block.attachmentId)));
    url.then(
      (src) => (img.src = src),
      (err) => {
        img.alt = `${label} (${err.code || 'unavailable'})`;
        img.classList.add('missing');
      },
    );
    return img;
  }

  /** Frees the images' blob: URLs. */
  dispose() {
    for (const url of this.urls.values())
      url.then(
        (src) => URL.revokeObjectURL(src),
        () => {},
      );
    this.urls.clear();
  }

  /** Settles the request's buttons with the outcome; one not shown here becomes a note. */
  resolved(event, data, childId) {
    const how = `${event.allow ? 'allowed' : 'denied'} by ${event.by}${event.reason ? `: ${event.reason}` : ''}`;
    const asked = this.permissions.get(`${childId ?? event.sessionId}/${event.requestId}`);
    if (!asked) {
      const note = h('div', { class: 'ev note', dataset: data }, how);
      if (childId) note.prepend(childLink(childId), ' · ');
      return note;
    }
    asked.state.settled = true;
    for (const b of asked.buttons) b.disabled = true;
    asked.outcome.textContent = how;
    return null;
  }

  /** A request of this session, or of `childId` (relayed): answered on the session that asks. */
  permission(event, data, childId) {
    const asker = childId ?? event.sessionId;
    const outcome = h('span', { class: 'outcome' });
    // The request's permission_resolved event has the last word, whenever the reply's ack arrives.
    const state = { settled: false };
    const answer = async (allow) => {
      for (const b of buttons) b.disabled = true;
      outcome.textContent = allow ? 'allowing…' : 'denying…';
      try {
        await this.onPermission(asker, event.requestId, allow);
        if (!state.settled) outcome.textContent = allow ? 'allowed' : 'denied';
      } catch (err) {
        if (state.settled) return;
        outcome.textContent = `${err.code}: ${err.message}`;
        for (const b of buttons) b.disabled = false;
      }
    };
    // A child's buttons name it: several sessions' requests may wait in this one transcript.
    const whose = childId ? ` ${childId.slice(0, 8)}` : '';
    const buttons = [
      h('button', { type: 'button', class: 'allow', onclick: () => answer(true) }, `Allow${whose}`),
      h('button', { type: 'button', class: 'deny', onclick: () => answer(false) }, `Deny${whose}`),
    ];
    this.permissions.set(`${asker}/${event.requestId}`, { buttons, outcome, state });
    return h(
      'div',
      {
        class: childId ? 'ev permission child-permission' : 'ev permission',
        dataset: { ...data, requestId: event.requestId, childSessionId: childId },
      },
      childId ? [childLink(childId), ' · '] : null,
      h('strong', {}, event.tool),
      ' asks for permission ',
      h('code', {}, summarizeInput(event.input)),
      h('pre', {}, JSON.stringify(event.input, null, 2)),
      buttons,
      outcome,
    );
  }
}

/** A link to a child session's view, by its short id. */
function childLink(childId) {
  return h(
    'a',
    { class: 'child-link', href: `#/sessions/${encodeURIComponent(childId)}` },
    childId.slice(0, 8),
  );
}
