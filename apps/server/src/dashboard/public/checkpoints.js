// Checkpoints in a session's transcript (its files at the end of each turn, as git commits), each with
// its turn's diff, a fork from it and a rewind to it; and the session's worktree and parent for its
// header. Server text (paths, patches) goes in as text, never as HTML.
import { clear, h } from './dom.js';

/** States the server rewinds a session in. */
const REWINDABLE = new Set(['idle', 'suspended', 'interrupted']);

function counted(n, noun) {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export class Checkpoints {
  /**
   * api() gives the Api; attempt(call) runs a call and shows its failure (then resolves to
   * undefined); onForked(session) opens the new session; onRewound(result) takes a rewind's answer.
   */
  constructor(sessionId, { api, attempt, onForked, onRewound }) {
    this.sessionId = sessionId;
    this.api = api;
    this.attempt = attempt;
    this.onForked = onForked;
    this.onRewound = onRewound;
    this.state = undefined;
    this.rewindButtons = [];
  }

  /** The session's state, which says whether its checkpoints can be rewound to. */
  setState(state) {
    this.state = state;
    for (const button of this.rewindButtons) button.disabled = !REWINDABLE.has(state);
  }

  render(event, data) {
    const outcome = h('span', { class: 'outcome' });
    const panel = h('div', { class: 'diff', hidden: true });
    const button = (cls, label, onclick) =>
      h('button', { type: 'button', class: cls, onclick }, label);
    // Turn 0 is the session's start: no turn before it to compare with, no conversation to fork.
    const first = event.turn === 0;
    const diff = first
      ? null
      : button('diff-toggle', 'Diff', () => this.toggleDiff(event.turn, diff, panel));
    const fork = first ? null : button('fork', 'Fork', () => this.fork(event.turn, fork));
    const rewind = button('rewind', 'Rewind to here', () =>
      this.rewind(event.turn, rewind, outcome),
    );
    if (diff) diff.setAttribute('aria-expanded', 'false');
    rewind.disabled = !REWINDABLE.has(this.state);
    this.rewindButtons.push(rewind);
    return h(
      'div',
      { class: 'ev checkpoint', dataset: { ...data, turn: event.turn, commit: event.commit } },
      h(
        'div',
        { class: 'checkpoint-line' },
        `✓ checkpoint turn ${event.turn} · ${counted(event.filesChanged, 'file')} · `,
        h('code', { class: 'commit', title: event.commit }, event.commit.slice(0, 7)),
        diff,
        fork,
        rewind,
        outcome,
      ),
      panel,
    );
  }

  /** Shows or hides the turn's own diff, fetched the first time it is shown. */
  async toggleDiff(turn, toggle, panel) {
    const open = panel.hidden;
    panel.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    if (!open || panel.dataset.loaded) return;
    panel.dataset.loaded = 'true';
    clear(panel).append(h('div', { class: 'muted small' }, 'loading…'));
    const diff = await this.attempt(() => this.api().diff(this.sessionId, turn - 1, turn));
    clear(panel);
    if (!diff) {
      delete panel.dataset.loaded;
      panel.hidden = true;
      toggle.setAttribute('aria-expanded', 'false');
      return;
    }
    panel.append(diffFiles(diff.files), diff.patch ? patchView(diff.patch) : null);
  }

  async fork(turn, button) {
    button.disabled = true;
    const session = await this.attempt(() => this.api().fork(this.sessionId, turn));
    button.disabled = false;
    if (session) this.onForked(session);
  }

  async rewind(turn, button, outcome) {
    const question =
      `Put this session's files back as they were at turn ${turn}? ` +
      'Where the provider can, its conversation is cut back to that turn too.';
    if (!confirm(question)) return;
    button.disabled = true;
    outcome.textContent = 'rewinding…';
    const result = await this.attempt(() => this.api().rewind(this.sessionId, turn));
    outcome.textContent = result
      ? `rewound · ${counted(result.filesChanged, 'file')} changed · conversation ${result.conversation}`
      : '';
    if (result) this.onRewound(result);
    this.setState(this.state);
  }
}

/** The files a diff changed: status, lines added and removed (bin for binary files), path. */
function diffFiles(files) {
  if (!files.length) return h('div', { class: 'muted small' }, 'No files changed in this turn.');
  const lines = (n, sign) => (n === null ? 'bin' : `${sign}${n}`);
  return h(
    'table',
    { class: 'diff-files' },
    h(
      'tbody',
      {},
      files.map((f) =>
        h(
          'tr',
          { dataset: { path: f.path, status: f.status } },
          h('td', { class: `file-status ${f.status}` }, f.status),
          h('td', { class: 'num plus' }, lines(f.additions, '+')),
          h('td', { class: 'num minus' }, lines(f.deletions, '-')),
          h('td', {}, h('code', {}, f.path)),
        ),
      ),
    ),
  );
}

/** The unified diff, one text span per line so lines added and removed can be coloured. */
function patchView(patch) {
  const lines = patch.split('\n');
  const kind = (line) => {
    if (/^(diff --git|index |--- |\+\+\+ )/.test(line)) return 'head';
    if (line.startsWith('@@')) return 'hunk';
    if (line.startsWith('+')) return 'add';
    if (line.startsWith('-')) return 'del';
    return undefined;
  };
  return h(
    'pre',
    { class: 'diff-patch' },
    lines.map((line, i) =>
      h('span', { class: kind(line) }, i < lines.length - 1 ? `${line}\n` : line),
    ),
  );
}

/** The header's line for a session in a worktree of its own, or forked from another; else null. */
export function sessionLineage(session) {
  const parts = [];
  if (session.worktreeRemoved) {
    const { branch, branchKept } = session.worktreeRemoved;
    parts.push(
      h(
        'span',
        { id: 'session-worktree' },
        'worktree removed · branch ',
        h('code', {}, branch),
        branchKept ? ' kept' : ' deleted',
      ),
    );
  } else if (session.worktree) {
    const { repository, branch, base } = session.worktree;
    parts.push(
      h(
        'span',
        { id: 'session-worktree', title: `${repository}, from ${base.slice(0, 7)}` },
        'worktree ',
        h('code', {}, branch),
      ),
    );
  }
  if (session.parentId) {
    parts.push(
      h(
        'a',
        { id: 'session-parent', href: `#/sessions/${encodeURIComponent(session.parentId)}` },
        session.forkedFrom
          ? `forked from ${session.parentId.slice(0, 8)} at turn ${session.forkedFrom.turn}`
          : `started by ${session.parentId.slice(0, 8)}`,
      ),
    );
  }
  if (!parts.length) return null;
  return h(
    'div',
    { class: 'meta lineage' },
    parts.flatMap((part, i) => (i ? [' · ', part] : [part])),
  );
}
