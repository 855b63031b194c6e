/**
 * The raw baseline: a bare socket.io (and node:http) server that runs the same scripted agents as
 * Jelmore and relays what they produce, one `session:event` packet per event to the session's room, with
 * nothing in between: no persistence, no validation, no auth, no log. It speaks the subset of Jelmore's
 * protocol the benchmarks use, so one client drives both.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Server, Socket } from 'socket.io';
import type { SessionEvent, SessionEventDraft } from '../../libs/contracts/src/events';
import type { SessionResource } from '../../libs/contracts/src/session';
import { WS_NAMESPACE, WsClientEvents, WsServerEvents } from '../../libs/contracts/src/ws-protocol';
import { playTurn, SCRIPTED_AGENT_SOURCE } from '../../libs/providers/src/scripted/scripted.script';

interface BareSession {
  resource: SessionResource;
  seq: number;
  send(text: string): void;
  stop(): void;
}

const sessions = new Map<string, BareSession>();
/** Uploads by SHA-256, the newest MAX_UPLOADS: distinct bodies must not exhaust memory in a long run. */
const uploads = new Map<string, Buffer>();
const MAX_UPLOADS = 16;
const http = createServer((req, res) => void route(req, res));
const io = new Server(http, { maxHttpBufferSize: 1e6 });
const nsp = io.of(WS_NAMESPACE);

function createSession(query: string, model = 'scripted'): SessionResource {
  const id = randomUUID();
  const now = new Date().toISOString();
  const resource: SessionResource = {
    id,
    provider: 'scripted',
    model,
    state: 'running',
    cwd: `/bare/${id}`,
    createdAt: now,
    updatedAt: now,
    usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
    lastSeq: 0,
    isolation: 'none',
  };
  const session: BareSession = { resource, seq: 0, send: () => undefined, stop: () => undefined };
  const relay = (draft: SessionEventDraft) => {
    const event = {
      sessionId: id,
      seq: ++session.seq,
      ts: new Date().toISOString(),
      ...draft,
    } as SessionEvent;
    resource.lastSeq = event.seq;
    nsp.to(id).emit(WsServerEvents.event, event);
  };
  if (model === 'scripted-process') {
    const child = spawnAgent(relay);
    let turn = 0;
    session.send = (text) =>
      child.stdin!.write(`${JSON.stringify({ type: 'user', text, turn: ++turn })}\n`);
    session.stop = () => child.kill('SIGKILL');
  } else {
    let turn = 0;
    session.send = (text) =>
      void playTurn(text, ++turn, {
        emit: relay,
        sleep: (ms) => sleep(Math.max(0, ms)),
        aborted: () => false,
      });
  }
  sessions.set(id, session);
  session.send(query);
  return resource;
}

/** The same agent program Jelmore's scripted-process model runs, spawned the way AgentProcess does. */
function spawnAgent(relay: (draft: SessionEventDraft) => void): ChildProcess {
  const child = spawn(process.execPath, ['-e', SCRIPTED_AGENT_SOURCE], {
    env: {},
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      relay(JSON.parse(line) as SessionEventDraft);
    } catch {
      // Not an event.
    }
  });
  child.stderr.resume();
  return child;
}

type Ack = (reply: object) => void;

nsp.on('connection', (socket: Socket) => {
  socket.on(WsClientEvents.create, (payload: { query: string; model?: string }, ack: Ack) =>
    ack({ ok: true, session: createSession(payload.query, payload.model) }),
  );
  socket.on(WsClientEvents.subscribe, (payload: { sessionId: string }, ack: Ack) => {
    const session = sessions.get(payload.sessionId);
    if (!session) return ack({ ok: false, error: { code: 'SESSION_NOT_FOUND', message: '' } });
    void socket.join(payload.sessionId);
    ack({ ok: true, lastSeq: session.seq });
  });
  socket.on(WsClientEvents.input, (payload: { sessionId: string; text: string }, ack: Ack) => {
    sessions.get(payload.sessionId)?.send(payload.text);
    ack({ ok: true });
  });
  socket.on(WsClientEvents.terminate, (payload: { sessionId: string }, ack: Ack) => {
    sessions.get(payload.sessionId)?.stop();
    sessions.delete(payload.sessionId);
    ack({ ok: true });
  });
});

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const send = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const url = req.url ?? '/';
  if (url === '/health/live') return send(200, { status: 'ok' });
  if (url === '/v1/sessions' && req.method === 'POST') {
    let raw = '';
    for await (const chunk of req) raw += String(chunk);
    const body = JSON.parse(raw) as { query: string; model?: string };
    return send(201, createSession(body.query, body.model));
  }
  if (url === '/v1/sessions' && req.method === 'GET') {
    return send(
      200,
      [...sessions.values()].map((s) => s.resource),
    );
  }
  if (url === '/v1/attachments' && req.method === 'POST') return send(201, await keepUpload(req));
  const match = /^\/v1\/sessions\/([\w-]+)$/.exec(url);
  if (match && req.method === 'GET') {
    const session = sessions.get(match[1]);
    return session ? send(200, session.resource) : send(404, { code: 'SESSION_NOT_FOUND' });
  }
  send(404, { code: 'NOT_FOUND' });
}

/** What an upload cannot do without: read the body, hash it, keep it. */
async function keepUpload(req: IncomingMessage): Promise<object> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  uploads.delete(sha256);
  uploads.set(sha256, bytes);
  if (uploads.size > MAX_UPLOADS) uploads.delete(uploads.keys().next().value!);
  return { id: randomUUID(), size: bytes.length, sha256 };
}

http.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  for (const session of sessions.values()) session.stop();
  process.exit(0);
});
