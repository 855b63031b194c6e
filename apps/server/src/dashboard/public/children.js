// Delegation trees: the sessions a session's agent started (its children), theirs, and so on. The list
// shows them nested under their parent; a session's view has a Children panel, refreshed while any of
// them may still change. Forks also have a parentId, but are sessions of their own: not children.
import { clear, formatCost, h, stateBadge } from './dom.js';

const TERMINAL = new Set(['terminated', 'failed']);

/** Started by its parent's agent, not forked from it. */
export function isChild(session) {
  return Boolean(session.parentId) && !session.forkedFrom;
}

/**
 * The sessions as trees of `{ session, children }`: a child under its parent when the parent is listed
 * (else at the top). Top level newest first, as the list always was; children in the order started.
 * byId finds any session's node.
 */
export function sessionTree(sessions) {
  const byId = new Map(sessions.map((session) => [session.id, { session, children: [] }]));
  const roots = [];
  for (const node of byId.values()) {
    const parent = isChild(node.session) ? byId.get(node.session.parentId) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  roots.sort((a, b) => b.session.updatedAt.localeCompare(a.session.updatedAt));
  for (const node of byId.values())
    node.children.sort((a, b) => a.session.createdAt.localeCompare(b.session.createdAt));
  return { roots, byId };
}

/** The trees' sessions in display order, each with its depth (0: top level), for a flat table. */
export function treeRows(nodes, depth = 0) {
  return nodes.flatMap((node) => [
    { session: node.session, depth },
    ...treeRows(node.children, depth + 1),
  ]);
}

/** The first cell of a list row: indented by depth (a CSS variable, which the CSP allows). */
export function treeCell(depth, ...content) {
  const cell = h('td', { class: depth ? 'tree-cell nested' : 'tree-cell' }, content);
  if (depth) cell.style.setProperty('--depth', String(depth));
  return cell;
}

/** A session view's Children panel: hidden until the session has any. */
export class ChildrenPanel {
  /** api() gives the Api; attempt(call) runs a call and shows its failure. */
  constructor(sessionId, { api, attempt, pollMs }) {
    this.sessionId = sessionId;
    this.api = api;
    this.attempt = attempt;
    this.pollMs = pollMs;
    this.tree = h('ul', { class: 'tree' });
    this.el = h(
      'section',
      { id: 'children', class: 'card', hidden: true },
      h('h2', {}, 'Children'),
      this.tree,
    );
    this.timer = undefined;
    this.loading = undefined;
    this.again = false;
    this.closed = false;
  }

  /** A new child (a child_session event): fetch again, polling from then on. */
  onEvent(event) {
    if (event.type === 'child_session') this.refresh();
  }

  /** Fetches the sessions once at a time; a call while one is under way runs once after it. */
  async refresh() {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = this.load();
    await this.loading;
    this.loading = undefined;
    if (this.again && !this.closed) {
      this.again = false;
      await this.refresh();
    }
  }

  async load() {
    const sessions = await this.attempt(() => this.api().sessions());
    if (this.closed || !sessions) return;
    const children = sessionTree(sessions).byId.get(this.sessionId)?.children ?? [];
    clear(this.tree).append(...children.map((node) => this.node(node)));
    this.el.hidden = !children.length;
    // Polled only while a state or cost there can still change, as the list polls.
    const live = treeRows(children).some(({ session }) => !TERMINAL.has(session.state));
    if (live && !this.timer) this.timer = setInterval(() => this.refresh(), this.pollMs);
    if (!live) this.stopPolling();
  }

  node({ session, children }) {
    return h(
      'li',
      { dataset: { sessionId: session.id } },
      h(
        'div',
        { class: 'tree-node' },
        h(
          'a',
          { href: `#/sessions/${encodeURIComponent(session.id)}`, title: session.title ?? '' },
          h('code', {}, session.id.slice(0, 8)),
        ),
        ` ${session.provider} · ${session.model} `,
        stateBadge(session.state),
        h('span', { class: 'num cost' }, ` ${formatCost(session.usage.costUsd)}`),
      ),
      children.length
        ? h(
            'ul',
            {},
            children.map((child) => this.node(child)),
          )
        : null,
    );
  }

  stopPolling() {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  close() {
    this.closed = true;
    this.stopPolling();
  }
}
