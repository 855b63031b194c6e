import request from 'supertest';
import type { SessionEvent, SessionResource } from '@jelmore/contracts';
import {
  defaultScript,
  FakeAnthropicServer,
  FakeScript,
  lastUserContent,
  textOf,
} from '../fixtures/fake-anthropic';
import { waitUntil } from './processes';

// What the permissions e2e specs share: the fake model's script and readers of a session's log.

/**
 * The fixture's script, except that a `[[bash]]` directive wins over a tool result in the same user
 * message: after a call that was interrupted (or lost with its process) the CLI sends the call's error
 * result together with the next input.
 */
export function directiveFirst(): FakeScript {
  const script = defaultScript(200);
  return (body) => {
    const content = lastUserContent(body);
    const text = textOf(content).replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, '');
    const bash = /\[\[bash (.+?)\]\]/s.exec(text);
    if (bash && content.some((b) => b.type === 'tool_result')) {
      return { kind: 'tool_use', name: 'Bash', input: { command: bash[1], description: 'run' } };
    }
    return script(body);
  };
}

export async function eventsOf(
  url: string,
  id: string,
  auth: Record<string, string> = {},
): Promise<SessionEvent[]> {
  return (await request(url).get(`/v1/sessions/${id}/events`).set(auth).expect(200)).body
    .events as SessionEvent[];
}

/** Polls the log until an event matches; fails with what the log held. */
export async function eventIn<T extends SessionEvent['type']>(
  url: string,
  id: string,
  type: T,
  match: (e: Extract<SessionEvent, { type: T }>) => boolean = () => true,
  auth: Record<string, string> = {},
): Promise<Extract<SessionEvent, { type: T }>> {
  let found: Extract<SessionEvent, { type: T }> | undefined;
  let last: SessionEvent[] = [];
  await waitUntil(async () => {
    last = await eventsOf(url, id, auth);
    found = (last.filter((e) => e.type === type) as Array<Extract<SessionEvent, { type: T }>>).find(
      match,
    );
    return found !== undefined;
  }, 30_000);
  if (!found) throw new Error(`no ${type} in ${last.map((e) => `${e.seq}:${e.type}`).join(' ')}`);
  return found;
}

export const stateOf = async (url: string, id: string, auth: Record<string, string> = {}) =>
  ((await request(url).get(`/v1/sessions/${id}`).set(auth).expect(200)).body as SessionResource)
    .state;

/** The tool results the agent sent back to the model: what it was told about each call. */
export function toolResultsSentToModel(fake: FakeAnthropicServer): Array<Record<string, unknown>> {
  return fake
    .agentRequests()
    .flatMap((r) => lastUserContent(r))
    .filter((b) => b.type === 'tool_result');
}
