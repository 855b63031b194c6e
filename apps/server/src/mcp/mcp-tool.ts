import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { Principal } from '../auth/api-keys.service';

/** What a tool call runs with: who calls, when the caller gave up, and where progress goes. */
export interface ToolContext {
  principal: Principal;
  /** Aborted when the client cancels the call or its HTTP request ends. */
  signal: AbortSignal;
  /** Reports progress of a long call; absent when the request carries no progressToken. */
  progress?: (progress: number, message: string) => void;
}

/**
 * One MCP tool: its arguments and its structured result as zod objects (listed as JSON Schema, the
 * arguments checked before `run`, the result stripped to its schema after).
 */
export interface McpTool<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  description: string;
  input: I;
  output: O;
  annotations?: ToolAnnotations;
  run(args: z.output<I>, context: ToolContext): Promise<z.input<O>>;
}

/**
 * Types a tool's `run` from its schemas where it is written. Tools of any schemas then share one list
 * (`run` is a method, so its arguments are bivariant): the server parses them with `input` first.
 */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(
  tool: McpTool<I, O>,
): McpTool {
  return tool;
}
