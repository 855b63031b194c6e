import { Global, INestApplicationContext, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionEvent, ZERO_USAGE } from '@jelmore/contracts';
import { ProviderRegistry, ProviderSelector } from '@jelmore/providers';
import { EventLog } from '../events/event-log.service';
import { SESSIONS_CLUSTER } from '../sessions.constants';
import { SessionsModule } from '../sessions.module';
import { DEFAULT_SESSIONS_OPTIONS } from '../sessions.options';
import { SessionsService } from '../sessions.service';
import { NO_HISTORY, type SessionRecord } from '../store/session-record';
import { SessionStore } from '../store/session-store';
import type { ClusterCommand, ClusterMember, SessionsCluster } from './sessions-cluster';

/** The port as a Redis-backed cluster would serve it, with one other node (`b`) alive. */
class FakeCluster implements SessionsCluster {
  member?: ClusterMember;
  readonly published: Array<[string, number[] | 'end']> = [];
  readonly forwarded: Array<[string, ClusterCommand]> = [];
  readonly alive = new Set(['b']);

  async isAlive(nodeId: string): Promise<boolean> {
    return this.alive.has(nodeId);
  }
  async forward(nodeId: string, command: ClusterCommand): Promise<void> {
    this.forwarded.push([nodeId, command]);
  }
  publish(sessionId: string, batch: SessionEvent[] | 'end'): void {
    this.published.push([sessionId, batch === 'end' ? 'end' : batch.map((e) => e.seq)]);
  }
  join(member: ClusterMember): void {
    this.member = member;
  }
}

/** Sessions as an app wires them: the providers from a global module, the cluster maybe too. */
async function boot(dir: string, cluster?: SessionsCluster): Promise<INestApplicationContext> {
  @Global()
  @Module({
    providers: [
      { provide: ProviderRegistry, useValue: { get: () => ({ capabilities: {} }) } },
      { provide: ProviderSelector, useValue: {} },
      ...(cluster ? [{ provide: SESSIONS_CLUSTER, useValue: cluster }] : []),
    ],
    exports: [ProviderRegistry, ProviderSelector, ...(cluster ? [SESSIONS_CLUSTER] : [])],
  })
  class AppPorts {}
  const moduleRef = await Test.createTestingModule({
    imports: [
      AppPorts,
      SessionsModule.forRoot({
        ...DEFAULT_SESSIONS_OPTIONS,
        nodeId: 'a',
        databaseUrl: 'sqlite::memory:',
        workspaceRoot: dir,
      }),
    ],
  }).compile();
  return moduleRef.init();
}

function sessionOf(nodeId: string): SessionRecord {
  const now = new Date().toISOString();
  return {
    id: `session-of-${nodeId}`,
    owner: 'key-1',
    title: null,
    ...NO_HISTORY,
    provider: 'scripted',
    model: 'scripted-1',
    state: 'running',
    cwd: '/ws',
    providerRef: null,
    suspendedState: null,
    usage: { ...ZERO_USAGE },
    createdAt: now,
    updatedAt: now,
    nodeId,
    agentPid: null,
    maxBudgetUsd: null,
    permissions: null,
  };
}

describe('ClusterRouting (SESSIONS_CLUSTER bound by DI)', () => {
  let app: INestApplicationContext | undefined;
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'jelmore-routing-'))));
  afterEach(async () => {
    await app?.close();
    app = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('joins the cluster once as the module starts, and relays every committed batch and end', async () => {
    const cluster = new FakeCluster();
    app = await boot(dir, cluster);
    expect(cluster.member).toBeDefined();
    const log = app.get(EventLog);
    await log.open('s');
    for (let i = 0; i < 3; i++) void log.append('s', { type: 'assistant', text: String(i) });
    await log.close('s');
    expect(cluster.published).toEqual([
      ['s', [1, 2, 3]],
      ['s', 'end'],
    ]);
  });

  it("sends a command for a live node's session to that node, authorized here first", async () => {
    const cluster = new FakeCluster();
    app = await boot(dir, cluster);
    const record = sessionOf('b');
    await app.get(SessionStore).insertSession(record);
    const sessions = app.get(SessionsService);
    await sessions.input(record.id, 'more', { id: 'key-1', admin: false });
    await sessions.input(record.id, 'now', { id: 'key-1', admin: false }, 'interrupt');
    expect(cluster.forwarded).toStrictEqual([
      ['b', { op: 'input', sessionId: record.id, content: [{ type: 'text', text: 'more' }] }],
      [
        'b',
        {
          op: 'input',
          sessionId: record.id,
          content: [{ type: 'text', text: 'now' }],
          mode: 'interrupt',
        },
      ],
    ]);
    await expect(
      sessions.interrupt(record.id, { id: 'key-2', admin: false }),
    ).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
    expect(cluster.forwarded).toHaveLength(2);
  });

  it("marks a lost node's sessions interrupted when the heartbeat reaps, and refuses their commands", async () => {
    const cluster = new FakeCluster();
    app = await boot(dir, cluster);
    const record = sessionOf('c'); // No lease: node c is lost.
    await app.get(SessionStore).insertSession(record);
    await expect(cluster.member!.reapLostNodes()).resolves.toBe(1);
    expect((await app.get(SessionStore).getSession(record.id))?.state).toBe('interrupted');
    await expect(
      cluster.member!.execute({ op: 'interrupt', sessionId: record.id }),
    ).rejects.toMatchObject({ code: 'SESSION_NOT_ACTIVE' });
  });

  it("without SESSIONS_CLUSTER every session is this node's: nothing is forwarded", async () => {
    app = await boot(dir);
    const record = sessionOf('b');
    await app.get(SessionStore).insertSession(record);
    await expect(app.get(SessionsService).input(record.id, 'more')).rejects.toMatchObject({
      code: 'SESSION_NOT_ACTIVE',
    });
  });
});
