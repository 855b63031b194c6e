import { z } from 'zod';
import { INPUT_MODES, ISOLATIONS, PERMISSION_POLICIES, SESSION_STATES } from '@jelmore/contracts';
import { MAX_QUERY_LENGTH } from '../api/turn-content';
import type { LoggedResult } from './turn-waiter';

/** A wait's bounds: long turns run minutes; a client that cannot wait that long passes fewer. */
export const DEFAULT_WAIT_SECONDS = 300;
export const MAX_WAIT_SECONDS = 3600;
export const DEFAULT_EVENTS_LIMIT = 200;
export const MAX_EVENTS_LIMIT = 1000;

// Arguments. Their finer rules (names, paths, content) are the REST DTOs', applied by the tools.

export const sessionIdArg = z
  .uuid()
  .describe('The session id (from start_session or list_sessions)');

/** Text only: images and documents go through the REST API (POST /v1/attachments). */
export const textArg = (description: string) =>
  z.string().min(1).max(MAX_QUERY_LENGTH).describe(description);

const seconds = z.number().int().min(1).max(MAX_WAIT_SECONDS);

export const waitArgs = {
  wait: z
    .boolean()
    .default(false)
    .describe('Return only when the turn ends, with its result (its final text, usage and cost)'),
  timeoutSeconds: seconds
    .default(DEFAULT_WAIT_SECONDS)
    .describe('With wait: give up after this long with WAIT_TIMEOUT (the session goes on)'),
};

export const startSessionArgs = z.strictObject({
  query: textArg('What the agent should do: the first turn'),
  provider: z
    .string()
    .max(64)
    .optional()
    .describe('A provider name from list_providers; default: the server chooses'),
  model: z.string().max(128).optional().describe('A model id or alias, e.g. sonnet'),
  cwd: z
    .string()
    .max(4096)
    .optional()
    .describe("Working directory inside the server's workspace root; default: a new folder"),
  permissions: z
    .enum(PERMISSION_POLICIES)
    .optional()
    .describe(
      'bypass: every tool runs; ask: each tool call waits for a decision (REST or Socket.IO); ' +
        "deny-writes: reads run, the rest is denied. Default: the provider's configured behaviour",
    ),
  maxBudgetUsd: z
    .number()
    .positive()
    .optional()
    .describe('USD: the turn in which the session reaches it stops'),
  experiment: z
    .string()
    .max(64)
    .optional()
    .describe(
      "An A/B experiment of the server's configuration: its arm chooses provider and model",
    ),
  ...waitArgs,
});

export const sendInputArgs = z.strictObject({
  sessionId: sessionIdArg,
  input: textArg('The next instruction'),
  mode: z
    .enum(INPUT_MODES)
    .optional()
    .describe(
      'While a turn runs: queue (the default: after it), interrupt (stop it, run this next) or steer ' +
        '(into the running turn, where the provider can). When the session is idle: a turn now',
    ),
  ...waitArgs,
});

export const sessionArgs = z.strictObject({ sessionId: sessionIdArg });

export const getEventsArgs = z.strictObject({
  sessionId: sessionIdArg,
  after: z.number().int().min(0).default(0).describe('Only events with a greater seq'),
  limit: z.number().int().min(1).max(MAX_EVENTS_LIMIT).default(DEFAULT_EVENTS_LIMIT),
});

export const waitForResultArgs = z.strictObject({
  sessionId: sessionIdArg,
  timeoutSeconds: seconds.describe(
    'Give up after this long with WAIT_TIMEOUT (the session goes on)',
  ),
  after: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      "The first result after this seq; default: the session's last seq now (the next result). Pass " +
        'the lastSeq that start_session or send_input returned so as not to miss a turn that ended already',
    ),
});

export const noArgs = z.strictObject({});

// Results.

const usage = z.object({
  inputTokens: z.number(),
  outputTokens: z.number(),
  costUsd: z.number().describe('USD'),
});

export const sessionSchema = z.object({
  id: z.string(),
  provider: z.string(),
  model: z.string(),
  title: z.string().optional(),
  state: z.enum(SESSION_STATES),
  cwd: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  usage,
  lastSeq: z.number().int().describe('The seq of its last event'),
  permissions: z.enum(PERMISSION_POLICIES).optional(),
  isolation: z.enum(ISOLATIONS),
  parentId: z.string().optional(),
  delegation: z.boolean().optional(),
  routing: z
    .object({ tier: z.string(), score: z.number().optional(), reason: z.string().optional() })
    .optional()
    .describe('How routing by complexity chose its model'),
  experiment: z.object({ name: z.string(), arm: z.string() }).optional(),
});

export const turnResultSchema = z.object({
  seq: z.number().int(),
  text: z.string().describe("The turn's final text"),
  durationMs: z.number(),
  usage: usage.describe("The turn's tokens and cost"),
  interrupted: z.boolean().optional(),
});

/** A session, and with a wait, the result of the turn waited for. */
export const turnOutcomeSchema = z.object({
  session: sessionSchema,
  result: turnResultSchema.optional(),
});

export const sessionOutcomeSchema = z.object({ session: sessionSchema });

export const sessionsSchema = z.object({ sessions: z.array(sessionSchema) });

export const eventsSchema = z.object({
  events: z.array(
    z
      .looseObject({ seq: z.number().int(), ts: z.string(), type: z.string() })
      .describe('A session event; its other fields by type (docs/api.md, Events)'),
  ),
  more: z
    .boolean()
    .describe('True when the limit cut the list: ask again with after = the last seq'),
});

export const providersSchema = z.object({
  defaultProvider: z.string(),
  providers: z.array(
    z.object({
      name: z.string(),
      healthy: z.boolean().optional().describe("The last health check's; absent before the first"),
      reason: z.string().optional(),
      circuit: z.enum(['closed', 'open', 'half-open']),
      load: z.object({ active: z.number(), max: z.number() }),
      capabilities: z.record(
        z.string(),
        z.union([z.boolean(), z.number(), z.array(z.string()).readonly()]),
      ),
      models: z.array(
        z.object({
          id: z.string(),
          aliases: z.array(z.string()),
          contextWindow: z.number(),
          inputPricePerMTok: z.number().describe('USD per million input tokens'),
          outputPricePerMTok: z.number().describe('USD per million output tokens'),
        }),
      ),
    }),
  ),
});

export function turnResult(event: LoggedResult): z.input<typeof turnResultSchema> {
  const { seq, text, durationMs, usage: used, interrupted } = event;
  return { seq, text, durationMs, usage: used, ...(interrupted ? { interrupted } : {}) };
}
