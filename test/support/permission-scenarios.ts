import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import type { SessionEvent, SessionResource } from '@jelmore/contracts';
import { EventCollector, request } from './ws-client';

type PermissionRequest = Extract<SessionEvent, { type: 'permission_request' }>;

/**
 * An `ask` session whose agent (behind a fake model that answers `[[bash <command>]]` with a shell
 * call) asks twice: the first command is allowed and its file is on disk, the second denied and its
 * file is not, its tool call ending in error. Returns both requests for what differs per agent.
 */
export async function allowThenDeny(
  socket: Socket,
  session: SessionResource,
  events: EventCollector,
): Promise<[PermissionRequest, PermissionRequest]> {
  const answer = async (n: number, allow: boolean): Promise<PermissionRequest> => {
    await events.waitFor(
      (all) => all.filter((e) => e.type === 'permission_request').length === n,
      60_000,
    );
    const asked = events.ofType('permission_request')[n - 1];
    await request(socket, 'permission:reply', {
      sessionId: session.id,
      requestId: asked.requestId,
      allow,
    });
    await events.waitForResults(n, 60_000);
    return asked;
  };
  const allowed = await answer(1, true);
  expect(readFileSync(join(session.cwd, 'allowed.txt'), 'utf8').trim()).toBe('allowed');
  expect(events.ofType('tool_result')[0]).toMatchObject({
    toolUseId: allowed.toolUseId,
    isError: false,
  });
  await request(socket, 'session:input', {
    sessionId: session.id,
    text: '[[bash echo denied > denied.txt]]',
  });
  const denied = await answer(2, false);
  expect(existsSync(join(session.cwd, 'denied.txt'))).toBe(false);
  expect(events.ofType('tool_result')[1]).toMatchObject({
    toolUseId: denied.toolUseId,
    isError: true,
  });
  return [allowed, denied];
}
