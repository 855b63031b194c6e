import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpError, type CallToolResult, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { Logger } from '@nestjs/common';
import { z } from 'zod';
import { ErrorCode, JelmoreError } from '@jelmore/contracts';
import { McpServerFactory } from './mcp-server.factory';
import { defineTool, type ToolContext } from './mcp-tool';

describe('McpServerFactory', () => {
  const seen: ToolContext[] = [];
  const echo = defineTool({
    name: 'echo',
    description: 'Echoes',
    input: z.strictObject({ text: z.string().min(1), times: z.number().int().default(1) }),
    output: z.object({ text: z.string() }),
    run: async ({ text, times }, context) => {
      seen.push(context);
      context.progress?.(1, 'half way');
      context.progress?.(2, 'done');
      // More than the schema lists: stripped before it leaves.
      return { text: text.repeat(times), secret: 'internal' } as { text: string };
    },
  });
  const failing = defineTool({
    name: 'fail',
    description: 'Fails as told',
    input: z.strictObject({ how: z.enum(['coded', 'crash']) }),
    output: z.object({}),
    run: async ({ how }) => {
      if (how === 'coded') {
        throw new JelmoreError(ErrorCode.SessionNotFound, 'Session s1 not found', { id: 's1' });
      }
      throw new Error('/var/lib/secret exploded');
    },
  });
  const factory = new McpServerFactory([echo, failing]);
  let client: Client;

  beforeEach(async () => {
    seen.length = 0;
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await factory.create({ id: 'alice', admin: false }).connect(serverSide);
    client = new Client({ name: 'spec', version: '1.0.0' });
    await client.connect(clientSide);
  });

  afterEach(() => client.close());

  const failure = (name: string, args: Record<string, unknown>) =>
    client.callTool({ name, arguments: args }).then(
      () => {
        throw new Error('expected the call to fail');
      },
      (err: unknown) => err as McpError,
    );

  it('lists each tool with its arguments and result as draft-07 JSON Schema', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['echo', 'fail']);
    expect(tools[0]).toMatchObject({
      description: 'Echoes',
      inputSchema: {
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        properties: { text: { type: 'string', minLength: 1 }, times: { type: 'integer' } },
        required: ['text'],
        additionalProperties: false,
      },
      outputSchema: { type: 'object', required: ['text'] },
    });
  });

  it("answers with the structured result and the same JSON as text, acting as the server's principal", async () => {
    const result = (await client.callTool({
      name: 'echo',
      arguments: { text: 'ab', times: 2 },
    })) as CallToolResult;
    expect(result.structuredContent).toEqual({ text: 'abab' });
    expect(result.content).toEqual([{ type: 'text', text: '{"text":"abab"}' }]);
    expect(seen[0].principal).toEqual({ id: 'alice', admin: false });
    // No progressToken asked for: no progress to report.
    expect(seen[0].progress).toBeUndefined();
  });

  it('sends progress notifications when the request carries a progressToken', async () => {
    const progress: Progress[] = [];
    await client.callTool({ name: 'echo', arguments: { text: 'a' } }, undefined, {
      onprogress: (p) => progress.push(p),
    });
    expect(progress).toEqual([
      { progress: 1, message: 'half way' },
      { progress: 2, message: 'done' },
    ]);
  });

  it.each([
    ['an unknown tool', 'nope', {}, ErrorCode.NotFound, undefined],
    ['a missing argument', 'echo', {}, ErrorCode.ValidationFailed, ['text']],
    ['an argument of the wrong type', 'echo', { text: 1 }, ErrorCode.ValidationFailed, ['text']],
    ['an unknown argument', 'echo', { text: 'a', x: 1 }, ErrorCode.ValidationFailed, ['x']],
  ])(
    'refuses %s with Invalid params and a code, running nothing',
    async (_what, name, args, code, fields) => {
      const err = await failure(name, args);
      expect(err).toBeInstanceOf(McpError);
      expect(err.code).toBe(-32602);
      expect(err.data).toMatchObject({ code, ...(fields ? { details: { fields } } : {}) });
      expect(err.message).toContain(code);
      expect(seen).toEqual([]);
    },
  );

  it("passes a tool's own error on with its code and details", async () => {
    const err = await failure('fail', { how: 'coded' });
    expect(err.code).toBe(-32602);
    expect(err.data).toEqual({
      code: 'SESSION_NOT_FOUND',
      message: 'Session s1 not found',
      details: { id: 's1' },
    });
  });

  it('hides an unexpected error as INTERNAL (logged, not sent)', async () => {
    const log = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const err = await failure('fail', { how: 'crash' });
      expect(err.code).toBe(-32603);
      expect(err.data).toEqual({ code: 'INTERNAL', message: 'Internal error' });
      expect(JSON.stringify(err)).not.toContain('secret');
    } finally {
      log.mockRestore();
    }
  });
});
