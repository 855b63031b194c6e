// DOM helpers. Everything from the server (agent text, tool output) goes in as text, never as HTML.

/** h('a', { href: '#/' , class: 'x', onclick: fn }, 'text', child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') {
      for (const [key, v] of Object.entries(value)) if (v !== undefined) el.dataset[key] = v;
    } else if (value === true) {
      el.setAttribute(name, '');
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function stateBadge(state) {
  return h('span', { class: `badge state-${state}` }, state);
}

export function formatCost(usd) {
  if (!usd) return '$0';
  return usd < 0.01 ? `$${usd.toFixed(6).replace(/0+$/, '')}` : `$${usd.toFixed(4)}`;
}

/**
 * Adds a `usage` event to a session's running `usage` ({ inputTokens, outputTokens, costUsd }).
 * Estimated figures (live, per model call) are followed by the turn's own: only those count.
 */
export function addUsage(usage, event) {
  if (event.type !== 'usage' || event.estimated) return;
  usage.inputTokens += event.inputTokens;
  usage.outputTokens += event.outputTokens;
  usage.costUsd = Math.round((usage.costUsd + event.costUsd) * 1e9) / 1e9;
}

export function formatDuration(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function formatAge(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

/** The telling part of a tool's input: its command, path or pattern, else compact JSON. */
export function summarizeInput(input) {
  if (input && typeof input === 'object') {
    for (const key of ['command', 'file_path', 'path', 'pattern', 'url', 'query', 'description']) {
      if (typeof input[key] === 'string') return input[key];
    }
  }
  return input === undefined ? '' : JSON.stringify(input);
}
