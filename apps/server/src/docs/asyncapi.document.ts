import {
  ErrorCode,
  WS_NAMESPACE,
  WsClientEvents,
  type ErrorBody,
  type WsClientAcks,
  type WsServerToClient,
} from '@jelmore/contracts';
import { PENDING_PERMISSIONS_EXAMPLE, SESSION_EXAMPLE } from '../api/responses.dto';
import {
  CreateSessionDto,
  SessionRefDto,
  SubscribeDto,
  WsInputDto,
  WsForkDto,
  WsPermissionReplyDto,
  WsRewindDto,
} from '../api/session.dto';
import { MAX_PAYLOAD_DEPTH } from '../common/validation';
import { CONTRACT_SCHEMAS, EVENT_EXAMPLES } from './contract-schemas';
import { dtoSchema } from './dto-schema';
import { FieldSchemas, JsonSchema, objectSchema, schemaOfFields, schemaRef } from './json-schema';

export const API_VERSION = '0.1.0';

type ClientEvent = (typeof WsClientEvents)[keyof typeof WsClientEvents];
type AckFields<A> = Omit<Extract<A, { ok: true }>, 'ok'>;
type Dto = new () => object;

interface ClientEventDoc<E extends ClientEvent> {
  summary: string;
  description?: string;
  /** The DTO the gateway validates the payload with. */
  payload: Dto;
  example: Record<string, unknown>;
  /** The fields of its ack besides `ok: true`. */
  reply: FieldSchemas<AckFields<WsClientAcks[E]>>;
  replyExample: AckFields<WsClientAcks[E]>;
}

const SESSION = { session: schemaRef('Session') };
const REF = { sessionId: SESSION_EXAMPLE.id };

/** Every client event (the compiler wants one entry per WsClientEvents value), with its ack. */
export const CLIENT_EVENTS: { [E in ClientEvent]: ClientEventDoc<E> } = {
  'session:create': {
    summary: 'Start a session',
    description:
      'Does not subscribe the socket: send session:subscribe with the id from the ack to follow it.',
    payload: CreateSessionDto,
    example: { query: 'Write a hello-world script in hello.py and run it', provider: 'claude' },
    reply: SESSION,
    replyExample: { session: SESSION_EXAMPLE },
  },
  'session:subscribe': {
    summary: "Follow a session's events: replayed from the log after `after`, then live",
    description:
      'No gap and no duplicate between replay and live. Subscribing again on the same socket replaces ' +
      'the earlier subscription. The ack comes before the first session:events.',
    payload: SubscribeDto,
    example: { ...REF, after: 0 },
    reply: {
      lastSeq: { type: 'integer', minimum: 0, description: 'The seq of its last committed event' },
      pendingPermissions: {
        type: 'array',
        items: schemaRef('PendingPermission'),
        description: 'Permission requests still waiting for an answer, whatever `after` was',
      },
    },
    replyExample: { lastSeq: 3, pendingPermissions: PENDING_PERMISSIONS_EXAMPLE.requests },
  },
  'session:unsubscribe': {
    summary: 'Stop following a session',
    payload: SessionRefDto,
    example: REF,
    reply: {},
    replyExample: {},
  },
  'session:input': {
    summary: 'Send the next input',
    description:
      'Idle, it starts a turn now. While the agent works, `mode` says how it is taken: `queue` (the ' +
      'default) waits for the running turn and the input queued before; `interrupt` stops the ' +
      'running turn (its result says interrupted) and runs this input next, ahead of the queue, in ' +
      "the same conversation; `steer` gives it to the agent mid-turn, only where the provider's " +
      '`capabilities.steer` is true, else the ack is STEER_UNSUPPORTED (in any state).',
    payload: WsInputDto,
    example: { ...REF, text: 'Stop: use the other database', mode: 'interrupt' },
    reply: {},
    replyExample: {},
  },
  'session:interrupt': {
    summary: 'Cut the running turn short (its result says interrupted)',
    payload: SessionRefDto,
    example: REF,
    reply: {},
    replyExample: {},
  },
  'session:suspend': {
    summary: 'Suspend: the agent stops, its state is kept to resume later (on any node)',
    payload: SessionRefDto,
    example: REF,
    reply: SESSION,
    replyExample: { session: { ...SESSION_EXAMPLE, state: 'suspended' } },
  },
  'session:resume': {
    summary: 'Resume a suspended or interrupted session',
    payload: SessionRefDto,
    example: REF,
    reply: SESSION,
    replyExample: { session: { ...SESSION_EXAMPLE, state: 'idle' } },
  },
  'session:terminate': {
    summary: 'End a session for good',
    payload: SessionRefDto,
    example: REF,
    reply: SESSION,
    replyExample: { session: { ...SESSION_EXAMPLE, state: 'terminated' } },
  },
  'session:fork': {
    summary: 'Start a new session from this one at a turn (default: its last)',
    description:
      "The new session's conversation is this one's up to the turn and its files that turn's " +
      'checkpoint, in a worktree of its own; FORK_UNSUPPORTED where the provider cannot fork.',
    payload: WsForkDto,
    example: { ...REF, turn: 1 },
    reply: SESSION,
    replyExample: {
      session: {
        ...SESSION_EXAMPLE,
        state: 'idle',
        parentId: SESSION_EXAMPLE.id,
        forkedFrom: { sessionId: SESSION_EXAMPLE.id, turn: 1 },
      },
    },
  },
  'session:rewind': {
    summary: "Put the session's files (and conversation, where the provider can) back to a turn",
    payload: WsRewindDto,
    example: { ...REF, turn: 1 },
    reply: {
      session: schemaRef('Session'),
      turn: { type: 'integer', minimum: 0 },
      filesChanged: { type: 'integer', minimum: 0 },
      conversation: { type: 'string', enum: ['truncated', 'kept'] },
    },
    replyExample: {
      session: { ...SESSION_EXAMPLE, state: 'idle' },
      turn: 1,
      filesChanged: 1,
      conversation: 'truncated',
    },
  },
  'permission:reply': {
    summary: 'Answer a permission_request: run the tool or refuse it',
    payload: WsPermissionReplyDto,
    example: {
      ...REF,
      requestId: PENDING_PERMISSIONS_EXAMPLE.requests[0].requestId,
      allow: false,
      reason: 'Not in this repository',
    },
    reply: {},
    replyExample: {},
  },
};

interface MessageDoc {
  summary: string;
  description?: string;
  payload: JsonSchema;
  example: unknown;
}

interface ServerEventDoc<E extends keyof WsServerToClient> extends MessageDoc {
  example: Parameters<WsServerToClient[E]>[0];
}

/** Every server event (the compiler wants one entry per WsServerToClient event). */
const SERVER_EVENTS: { [E in keyof WsServerToClient]: ServerEventDoc<E> } = {
  'session:event': {
    summary: 'One event of a subscribed session',
    payload: schemaRef('SessionEvent'),
    example: EVENT_EXAMPLES.assistant,
  },
  'session:events': {
    summary: 'Events of a subscribed session in seq order (e.g. one committed batch)',
    description: 'Clients handle both session:event and session:events.',
    payload: { type: 'array', items: schemaRef('SessionEvent'), title: 'SessionEvents' },
    example: [EVENT_EXAMPLES.tool_use, EVENT_EXAMPLES.tool_result, EVENT_EXAMPLES.result],
  },
  'session:error': {
    summary: 'A subscription ended with an error',
    description:
      'LAGGED: the socket read too slowly and its buffer filled; re-subscribe with ' +
      '`after: details.lastSeq` to catch up.',
    payload: schemaRef('SessionStreamError'),
    example: {
      sessionId: SESSION_EXAMPLE.id,
      code: ErrorCode.Lagged,
      message: 'Subscriber fell behind; re-subscribe with after=1200 to continue',
      details: { lastSeq: 1200 },
    },
  },
  'server:shutdown': {
    summary: 'The node is shutting down',
    description:
      'Its sessions are being suspended and the connection will close: reconnect (to another node), ' +
      'resume, and re-subscribe with `after`.',
    payload: schemaRef('ShutdownNotice'),
    example: {
      reconnect: true,
      reason: 'node shutting down: its sessions are suspended; reconnect, resume and re-subscribe',
    },
  },
};

/** The handshake's refusal: Socket.IO's CONNECT_ERROR packet, an Error with `data` in the client. */
const CONNECT_ERROR = {
  name: 'connect_error',
  summary:
    'The handshake was refused: no valid key (UNAUTHORIZED), a share token (SHARE_TOKEN_READ_ONLY), or too many failures',
  payload: objectSchema<{ message: string; data: ErrorBody }>({
    message: { type: 'string' },
    data: schemaRef('ErrorBody'),
  }),
  example: {
    message: 'A valid API key is required: auth: { token }',
    data: {
      code: ErrorCode.Unauthorized,
      message: 'A valid API key is required: auth: { token }',
    },
  },
};

const NOT_FOUND: ErrorBody = {
  code: ErrorCode.SessionNotFound,
  message: `Session ${SESSION_EXAMPLE.id} not found`,
};

const ERROR_ACK = objectSchema<{ ok: false; error: ErrorBody }>(
  { ok: { const: false }, error: schemaRef('ErrorBody') },
  { title: 'ErrorAck' },
);

/** `session:create` → `sessionCreate`: ids for channels' messages and operations. */
const messageId = (event: string): string =>
  event.replace(/[:_](\w)/g, (_m, c: string) => c.toUpperCase());

const DESCRIPTION = `The Socket.IO protocol of Jelmore: start AI coding-agent sessions, follow their events live, \
steer them. This document describes the server: it receives the client events and sends the others.

Connect to the namespace \`${WS_NAMESPACE}\` with an API key in the handshake: \
\`io(url + '${WS_NAMESPACE}', { auth: { token } })\`. A refused handshake gives \`connect_error\`.

Every client event takes one payload (a JSON object) and an acknowledgement callback; the ack is \
\`{ ok: true, ... }\` or \`{ ok: false, error: { code, message } }\` (the reply of each operation here). \
An event the server has no handler for is acked UNKNOWN_EVENT; over the key's rate limit, RATE_LIMITED \
with \`retryAfter\`. A payload nested deeper than ${MAX_PAYLOAD_DEPTH} levels is refused (VALIDATION_FAILED).

Events of a subscribed session arrive as \`session:events\` (an array in seq order) or \`session:event\`; \
their \`seq\` lets a client re-subscribe with \`after\` and miss nothing.`;

/** The AsyncAPI 3 document of the `/sessions` namespace, built from the contracts and the gateway's DTOs. */
export function buildAsyncApiDocument(): Record<string, unknown> {
  const schemas: Record<string, JsonSchema> = { ...CONTRACT_SCHEMAS };
  const refOf = (dto: Dto): string => {
    if (!schemas[dto.name]) {
      schemas[dto.name] = {}; // reserved before recursing
      schemas[dto.name] = { title: dto.name, ...dtoSchema(dto, refOf) };
    }
    return schemaRef(dto.name).$ref!;
  };
  const messages: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const channel = { $ref: '#/channels/sessions' };
  const inChannel = (id: string) => ({ $ref: `#/channels/sessions/messages/${id}` });

  const message = (
    event: string,
    doc: Omit<MessageDoc, 'example'>,
    examples: Array<{ name: string; payload: unknown }>,
  ) => ({
    name: event,
    title: event,
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    contentType: 'application/json',
    payload: doc.payload,
    examples,
  });
  const operation = (action: 'send' | 'receive', event: string, summary: string) => ({
    action,
    channel,
    title: event,
    summary,
    messages: [inChannel(messageId(event))],
  });

  for (const [event, doc] of Object.entries(CLIENT_EVENTS) as Array<
    [ClientEvent, ClientEventDoc<ClientEvent>]
  >) {
    const id = messageId(event);
    messages[id] = message(event, { ...doc, payload: { $ref: refOf(doc.payload) } }, [
      { name: 'example', payload: doc.example },
    ]);
    messages[`${id}Ack`] = message(
      `${event} ack`,
      {
        summary: `The acknowledgement of ${event}`,
        payload: {
          oneOf: [
            schemaOfFields({ ok: { const: true }, ...doc.reply }, { title: `${id}Ok` }),
            schemaRef('ErrorAck'),
          ],
        },
      },
      [
        { name: 'ok', payload: { ok: true, ...doc.replyExample } },
        { name: 'error', payload: { ok: false, error: NOT_FOUND } },
      ],
    );
    operations[id] = {
      ...operation('receive', event, doc.summary),
      reply: { channel, messages: [inChannel(`${id}Ack`)] },
    };
  }

  const serverEvents: Array<[string, MessageDoc]> = [
    ...Object.entries(SERVER_EVENTS),
    [CONNECT_ERROR.name, CONNECT_ERROR],
  ];
  for (const [event, doc] of serverEvents) {
    messages[messageId(event)] = message(event, doc, [{ name: 'example', payload: doc.example }]);
    operations[messageId(event)] = operation('send', event, doc.summary);
  }
  schemas.ErrorAck = ERROR_ACK;

  return {
    asyncapi: '3.1.0',
    info: { title: 'Jelmore sessions (Socket.IO)', version: API_VERSION, description: DESCRIPTION },
    defaultContentType: 'application/json',
    servers: {
      jelmore: {
        host: '{host}',
        protocol: 'socket.io',
        protocolVersion: '5',
        pathname: '/socket.io',
        description: 'The Jelmore server (Engine.IO over WebSocket or HTTP long-polling)',
        variables: { host: { default: 'localhost:3000', description: 'Its host and port' } },
        security: [{ $ref: '#/components/securitySchemes/apiKey' }],
      },
    },
    channels: {
      sessions: {
        address: WS_NAMESPACE,
        title: `Namespace ${WS_NAMESPACE}`,
        description: 'The one namespace; the root namespace refuses every connection.',
        messages: Object.fromEntries(
          Object.keys(messages).map((id) => [id, { $ref: `#/components/messages/${id}` }]),
        ),
      },
    },
    operations,
    components: {
      schemas,
      messages,
      securitySchemes: {
        apiKey: {
          type: 'apiKey',
          in: 'user',
          description:
            'An API key from JELMORE_API_KEYS as `auth: { token }` in the Socket.IO handshake (none ' +
            'needed when no keys are configured: the server then listens on loopback only).',
        },
      },
    },
  };
}
