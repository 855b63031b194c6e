import type { SessionEvent } from '@jelmore/contracts';

/** What a notification is sent for; `failed` is a status event to `failed`. */
export type PushKind = 'permission_request' | 'result' | 'failed';

/** The JSON a notification carries (encrypted to the browser): what the service worker shows. */
export interface PushPayload {
  kind: PushKind;
  title: string;
  body: string;
  sessionId: string;
  /** The dashboard's page of the session, relative to the server. */
  url: string;
  /** One notification per session on screen: a newer one replaces the older. */
  tag: string;
  requestId?: string;
  tool?: string;
  /** The single-use answer to the request (Allow and Deny); never an API key. */
  token?: string;
  expiresAt?: string;
}

/** Push services take about 4 KB; a notification shows a line or two anyway. */
const MAX_BODY = 180;

export function pushKindOf(event: SessionEvent): PushKind | undefined {
  if (event.type === 'status') return event.to === 'failed' ? 'failed' : undefined;
  if (event.type === 'permission_request' || event.type === 'result') return event.type;
  return undefined;
}

/** The notification of an event (one pushKindOf accepts); `token` for a permission request. */
export function payloadFor(
  event: SessionEvent,
  session: { id: string; title: string | null },
  action?: { token: string; expiresAt: string },
): PushPayload {
  const name = session.title ? shorten(session.title, 60) : `session ${session.id.slice(0, 8)}`;
  const base = {
    sessionId: session.id,
    url: `/#/sessions/${session.id}`,
    tag: `jelmore-${session.id}`,
  };
  if (event.type === 'permission_request') {
    return {
      ...base,
      kind: 'permission_request',
      title: `${event.tool} wants to run: ${name}`,
      body: shorten(describeInput(event.input), MAX_BODY),
      requestId: event.requestId,
      tool: event.tool,
      ...(action ? { token: action.token, expiresAt: action.expiresAt } : {}),
    };
  }
  if (event.type === 'result') {
    return {
      ...base,
      kind: 'result',
      title: `Turn finished: ${name}`,
      body: shorten(event.text || '(no text)', MAX_BODY),
    };
  }
  const reason = event.type === 'status' && event.reason ? event.reason : 'the session failed';
  return {
    ...base,
    kind: 'failed',
    title: `Session failed: ${name}`,
    body: shorten(reason, MAX_BODY),
  };
}

/** A tool call's input as a line: a command or a path when it has one, else its JSON. */
function describeInput(input: unknown): string {
  if (input && typeof input === 'object') {
    const fields = input as Record<string, unknown>;
    for (const key of ['command', 'file_path', 'path', 'url', 'pattern']) {
      if (typeof fields[key] === 'string') return fields[key];
    }
  }
  return JSON.stringify(input) ?? '';
}

function shorten(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
