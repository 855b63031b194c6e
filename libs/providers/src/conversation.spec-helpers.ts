import type {
  AgentProviderPort,
  AgentSession,
  SessionConfig,
  SessionEventDraft,
  SuspendedState,
} from '@jelmore/contracts';

// What the fork and rewind specs of the real agents share: agents whose events are collected, and turns.

/** One agent and the events it emitted so far. */
export interface CollectingAgent {
  session: AgentSession;
  events: SessionEventDraft[];
}

/** A session of `provider`, resumed from `state` when given, whose events are collected. */
export async function openAgent(
  provider: AgentProviderPort,
  config: SessionConfig,
  state?: SuspendedState,
): Promise<CollectingAgent> {
  const agent: CollectingAgent = { session: provider.createSession(config), events: [] };
  void (async () => {
    for await (const event of agent.session.events()) agent.events.push(event);
  })();
  if (state) await agent.session.resume(state);
  return agent;
}

/** Sends a prompt (the first one starts the agent) and waits for the turn's result. */
export async function runTurn(agent: CollectingAgent, text: string, timeoutMs = 60_000) {
  const results = () => agent.events.filter((e) => e.type === 'result');
  const before = results().length;
  const input = [{ type: 'text' as const, text }];
  if (agent.session.providerRef === undefined && before === 0) await agent.session.start(input);
  else await agent.session.send(input);
  const deadline = Date.now() + timeoutMs;
  while (results().length === before) {
    const failed = agent.events.find((e) => e.type === 'error');
    if (failed || Date.now() > deadline) {
      throw new Error(`no result for "${text}": ${JSON.stringify(agent.events.slice(-5))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return results().at(-1)!;
}
