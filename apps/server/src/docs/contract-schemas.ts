import {
  ATTACHMENT_MEDIA_TYPES,
  ErrorCode,
  ISOLATIONS,
  PERMISSION_POLICIES,
  SESSION_STATES,
  type AttachmentRef,
  type ErrorBody,
  type EventEnvelope,
  type ExperimentAssignment,
  type PendingPermission,
  type PermissionResolver,
  type SessionEvent,
  type SessionEventDraft,
  type SessionEventType,
  type SessionResource,
  type SessionRouting,
  type SessionStreamError,
  type ShutdownNotice,
  type TextBlock,
  type Usage,
  type WorktreeInfo,
} from '@jelmore/contracts';
import { SESSION_EXAMPLE, USAGE_EXAMPLE } from '../api/responses.dto';
import {
  everyMember,
  FieldSchemas,
  JsonSchema,
  objectSchema,
  optional,
  schemaOfFields,
  schemaRef,
} from './json-schema';

// The shapes the server sends, one schema per contract type. FieldSchemas makes the compiler hold each
// to its type's fields and their optionality; the e2e test holds the value schemas to real traffic.

const text = (description?: string): JsonSchema => ({ type: 'string', description });
const count = (description?: string): JsonSchema => ({ type: 'integer', minimum: 0, description });
const time = (description: string): JsonSchema => ({
  type: 'string',
  format: 'date-time',
  description,
});
const anything = (description: string): JsonSchema => ({ description });
const STATE: JsonSchema = { type: 'string', enum: SESSION_STATES };

const RESOLVERS = everyMember<PermissionResolver>()('client', 'timeout', 'cancelled');

const usage = objectSchema<Usage>({
  inputTokens: count(),
  outputTokens: count(),
  costUsd: { type: 'number', minimum: 0, description: 'USD' },
});

const routing = objectSchema<SessionRouting>(
  {
    tier: text('The tier the scorer or the classifier chose; default: the classifier failed'),
    score: optional({ type: 'number', description: "The scorer's points, or the classifier's" }),
    reason: optional(
      text("The scorer's signals, the classifier's reason, or why not the tier's model"),
    ),
  },
  { title: 'SessionRouting', description: 'How routing by complexity chose the model' },
);

const experimentAssignment = objectSchema<ExperimentAssignment>(
  { name: text('The experiment, as configured'), arm: text('Its arm the session is in') },
  { title: 'ExperimentAssignment' },
);

const ERROR_FIELDS: FieldSchemas<ErrorBody> = {
  code: text(`Stable: clients switch on it. Jelmore's: ${Object.values(ErrorCode).join(', ')}`),
  message: text('Safe to show; never a stack or a secret'),
  details: optional({ type: 'object', description: 'Fields of the error, by code' }),
  retryAfter: optional({
    type: 'number',
    description: 'With RATE_LIMITED: seconds until a retry may succeed',
  }),
};

const sessionResource = objectSchema<SessionResource>(
  {
    id: { type: 'string', format: 'uuid' },
    provider: text(),
    model: text(),
    title: optional(text("The first query's first line of text, shortened")),
    state: STATE,
    cwd: text('Absolute, inside the workspace root'),
    createdAt: time('When it was created'),
    updatedAt: time('When it last changed'),
    usage: schemaRef('Usage'),
    lastSeq: count('The seq of its last committed event'),
    permissions: optional({
      type: 'string',
      enum: PERMISSION_POLICIES,
      description: "Its permission policy; absent: the provider's configured behaviour",
    }),
    isolation: {
      type: 'string',
      enum: ISOLATIONS,
      description: 'worktree: it works in a git worktree of its own',
    },
    worktree: optional(
      objectSchema<WorktreeInfo>({
        repository: text('The repository it was made from'),
        branch: text('jelmore/<sessionId>'),
        base: text('The commit the branch started at'),
      }),
    ),
    parentId: optional({
      type: 'string',
      format: 'uuid',
      description: 'Forked from this session (with forkedFrom), or started by its agent',
    }),
    delegation: optional({
      type: 'boolean',
      description: "Its agent may start sessions through Jelmore's MCP server",
    }),
    forkedFrom: optional(
      objectSchema<{ sessionId: string; turn: number }>({
        sessionId: { type: 'string', format: 'uuid' },
        turn: count(),
      }),
    ),
    worktreeRemoved: optional(
      objectSchema<{ branch: string; branchKept: boolean }>({
        branch: text(),
        branchKept: { type: 'boolean', description: 'The agent committed to it' },
      }),
    ),
    routing: optional(schemaRef('SessionRouting')),
    experiment: optional(schemaRef('ExperimentAssignment')),
    cache: optional({
      type: 'boolean',
      description: 'Its turns use the response cache (read-only sessions only)',
    }),
  },
  { title: 'Session' },
);

const pendingPermission = objectSchema<PendingPermission>(
  {
    requestId: text('Answer it with permission:reply'),
    tool: text(),
    input: anything("The tool's input"),
    toolUseId: optional(text('The tool_use event it is about')),
    createdAt: time('When the agent asked'),
    expiresAt: optional(time('When it is denied unanswered; absent while no agent runs')),
  },
  { title: 'PendingPermission' },
);

const sessionStreamError = objectSchema<SessionStreamError>(
  { sessionId: { type: 'string', format: 'uuid' }, ...ERROR_FIELDS },
  { title: 'SessionStreamError', description: 'A subscription ended; re-subscribe with after' },
);

const shutdownNotice = objectSchema<ShutdownNotice>(
  { reconnect: { const: true }, reason: text() },
  { title: 'ShutdownNotice' },
);

type Draft<T extends SessionEventType> = Omit<Extract<SessionEventDraft, { type: T }>, 'type'>;

/** The fields of each event type besides the envelope's and `type`. */
const EVENT_FIELDS: { [T in SessionEventType]: FieldSchemas<Draft<T>> } = {
  status: {
    from: { oneOf: [STATE, { type: 'null' }], description: 'null for the first' },
    to: STATE,
    reason: optional(text('Why, when it is not the usual course (e.g. a provider fallback)')),
    // On the first status event only: what the traffic policies chose.
    routing: optional(schemaRef('SessionRouting')),
    experiment: optional(schemaRef('ExperimentAssignment')),
  },
  user: {
    content: {
      type: 'array',
      description:
        "The turn's input, first in the turn: text, and attachments by reference (bytes at GET /v1/attachments/{id})",
      items: {
        oneOf: [
          objectSchema<TextBlock>({ type: { const: 'text' }, text: text() }),
          objectSchema<AttachmentRef>({
            type: { type: 'string', enum: ['image', 'document'] },
            attachmentId: { type: 'string', format: 'uuid' },
            mediaType: { type: 'string', enum: ATTACHMENT_MEDIA_TYPES },
            size: count('Bytes'),
            sha256: text('Of the bytes, hex'),
            name: optional(text("A document's file name, as the client gave it")),
          }),
        ],
      },
    },
  },
  assistant: { text: text('The next piece of the reply, as the model produces it') },
  tool_use: { id: text(), name: text(), input: anything("The tool's input") },
  tool_result: { toolUseId: text(), output: text(), isError: { type: 'boolean' } },
  permission_request: {
    requestId: text('Answer it with permission:reply'),
    tool: text(),
    input: anything("The tool's input"),
    toolUseId: optional(text('The tool_use event it is about, when the provider tells')),
  },
  permission_resolved: {
    requestId: text(),
    allow: { type: 'boolean' },
    reason: optional(text()),
    by: { type: 'string', enum: RESOLVERS },
  },
  directory_changed: { from: text(), to: text() },
  usage: {
    inputTokens: count(),
    outputTokens: count(),
    costUsd: { type: 'number', minimum: 0 },
    estimated: optional({
      type: 'boolean',
      description: 'Priced by Jelmore while the turn runs; not added to the session usage',
    }),
  },
  result: {
    text: text('The whole reply of the turn'),
    durationMs: { type: 'number', minimum: 0 },
    usage: schemaRef('Usage'),
    interrupted: optional({ type: 'boolean', description: 'Cut short by session:interrupt' }),
    cached: optional({
      type: 'boolean',
      description: 'Replayed by the response cache: no agent ran it; usage zero',
    }),
  },
  checkpoint: {
    turn: count("The turn whose end it records (0: the session's start)"),
    commit: text('The git commit of the files, in the checkpoint store'),
    filesChanged: count('Files that differ from the previous checkpoint'),
  },
  child_session: {
    childSessionId: {
      type: 'string',
      format: 'uuid',
      description: 'The session its agent started',
    },
    provider: text(),
    model: text(),
  },
  child_permission_request: {
    childSessionId: {
      type: 'string',
      format: 'uuid',
      description: 'The session that asks: one this session started, or one of theirs',
    },
    requestId: text("Answer it on the child's session: permission:reply with its sessionId"),
    tool: text(),
    input: anything("The tool's input"),
    toolUseId: optional(text("The child's tool_use event it is about, when the provider tells")),
  },
  child_permission_resolved: {
    childSessionId: { type: 'string', format: 'uuid' },
    requestId: text(),
    allow: { type: 'boolean' },
    reason: optional(text()),
    by: { type: 'string', enum: RESOLVERS },
  },
  error: { code: text(), message: text() },
};

const ENVELOPE: FieldSchemas<EventEnvelope> = {
  sessionId: { type: 'string', format: 'uuid' },
  seq: { type: 'integer', minimum: 1, description: 'Strictly increasing from 1 per session' },
  ts: time('When the event log accepted it'),
};

/** The schema name of an event type: `tool_use` → `ToolUseEvent`. */
export const eventSchemaName = (type: string): string =>
  `${type.replace(/(^|_)(\w)/g, (_m, _s, c: string) => c.toUpperCase())}Event`;

function eventSchema(type: SessionEventType): JsonSchema {
  return schemaOfFields(
    { ...ENVELOPE, type: { const: type }, ...EVENT_FIELDS[type] },
    { title: eventSchemaName(type) },
  );
}

const EVENT_TYPES = Object.keys(EVENT_FIELDS) as SessionEventType[];

/** The schemas the document's messages refer to, by name. */
export const CONTRACT_SCHEMAS: Record<string, JsonSchema> = {
  Usage: usage,
  ErrorBody: objectSchema<ErrorBody>(ERROR_FIELDS, { title: 'ErrorBody' }),
  Session: sessionResource,
  SessionRouting: routing,
  ExperimentAssignment: experimentAssignment,
  PendingPermission: pendingPermission,
  SessionStreamError: sessionStreamError,
  ShutdownNotice: shutdownNotice,
  SessionEvent: {
    title: 'SessionEvent',
    description: 'One event of a session, by `type`; seq strictly increasing from 1 per session',
    oneOf: EVENT_TYPES.map((type) => schemaRef(eventSchemaName(type))),
  },
  ...Object.fromEntries(EVENT_TYPES.map((type) => [eventSchemaName(type), eventSchema(type)])),
};

const SESSION_ID = SESSION_EXAMPLE.id;
const TS = '2026-01-15T09:30:01.250Z';
const USAGE = USAGE_EXAMPLE;

/** One event of each type, as a client receives it (the compiler holds each to its contract). */
export const EVENT_EXAMPLES: { [T in SessionEventType]: Extract<SessionEvent, { type: T }> } = {
  status: { sessionId: SESSION_ID, seq: 1, ts: TS, type: 'status', from: null, to: 'starting' },
  user: {
    sessionId: SESSION_ID,
    seq: 2,
    ts: TS,
    type: 'user',
    content: [
      { type: 'text', text: 'What is wrong on this page?' },
      {
        type: 'image',
        attachmentId: '0b7c1d0e-3f55-4a8e-9f0e-2d4b8c6a1f00',
        mediaType: 'image/png',
        size: 48213,
        sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      },
    ],
  },
  assistant: { sessionId: SESSION_ID, seq: 4, ts: TS, type: 'assistant', text: 'I will create' },
  tool_use: {
    sessionId: SESSION_ID,
    seq: 5,
    ts: TS,
    type: 'tool_use',
    id: 'toolu_01',
    name: 'Bash',
    input: { command: 'python hello.py' },
  },
  tool_result: {
    sessionId: SESSION_ID,
    seq: 7,
    ts: TS,
    type: 'tool_result',
    toolUseId: 'toolu_01',
    output: 'hello\n',
    isError: false,
  },
  permission_request: {
    sessionId: SESSION_ID,
    seq: 6,
    ts: TS,
    type: 'permission_request',
    requestId: '0b7d2f8e-3c41-4a55-9d0e-5f7a1c2b9e64',
    tool: 'Bash',
    input: { command: 'python hello.py' },
    toolUseId: 'toolu_01',
  },
  permission_resolved: {
    sessionId: SESSION_ID,
    seq: 7,
    ts: TS,
    type: 'permission_resolved',
    requestId: '0b7d2f8e-3c41-4a55-9d0e-5f7a1c2b9e64',
    allow: true,
    by: 'client',
  },
  directory_changed: {
    sessionId: SESSION_ID,
    seq: 8,
    ts: TS,
    type: 'directory_changed',
    from: `/srv/jelmore/workspace/${SESSION_ID}`,
    to: `/srv/jelmore/workspace/${SESSION_ID}/src`,
  },
  usage: { sessionId: SESSION_ID, seq: 9, ts: TS, type: 'usage', ...USAGE },
  result: {
    sessionId: SESSION_ID,
    seq: 10,
    ts: TS,
    type: 'result',
    text: 'Created hello.py and ran it: it prints hello.',
    durationMs: 3900,
    usage: USAGE,
  },
  checkpoint: {
    sessionId: SESSION_ID,
    seq: 11,
    ts: TS,
    type: 'checkpoint',
    turn: 1,
    commit: '9c1d0f3a7e52b6d84f1a0c2e3b5d7f9a1c3e5b7d',
    filesChanged: 1,
  },
  child_session: {
    sessionId: SESSION_ID,
    seq: 12,
    ts: TS,
    type: 'child_session',
    childSessionId: '0f4e2a1c-5b6d-4e7f-8a9b-1c2d3e4f5a6b',
    provider: 'opencode',
    model: 'qwen-2.5-coder',
  },
  child_permission_request: {
    sessionId: SESSION_ID,
    seq: 13,
    ts: TS,
    type: 'child_permission_request',
    childSessionId: '0f4e2a1c-5b6d-4e7f-8a9b-1c2d3e4f5a6b',
    requestId: '5e2a9c1d-7b3f-4d6e-8a0c-2f4b6d8e1a3c',
    tool: 'bash',
    input: { command: 'npm test' },
  },
  child_permission_resolved: {
    sessionId: SESSION_ID,
    seq: 14,
    ts: TS,
    type: 'child_permission_resolved',
    childSessionId: '0f4e2a1c-5b6d-4e7f-8a9b-1c2d3e4f5a6b',
    requestId: '5e2a9c1d-7b3f-4d6e-8a0c-2f4b6d8e1a3c',
    allow: true,
    by: 'client',
  },
  error: {
    sessionId: SESSION_ID,
    seq: 13,
    ts: TS,
    type: 'error',
    code: 'AGENT_EXITED',
    message: 'The agent exited with code 1',
  },
};
