import { ErrorCode, NotFoundError, type SuspendedState } from '@jelmore/contracts';

/** How much of each prompt a scripted conversation keeps: enough to tell turns apart, bounded for load tests. */
const KEPT_PROMPT_CHARS = 200;

/**
 * A scripted agent's conversation: the prompts of its turns, one each (interrupted ones too), which
 * [[memory]] replies list. Kept in the suspended state as `data.prompts`, so resume, fork and rewind
 * carry it like a real agent's history.
 */
export class ScriptedMemory {
  private prompts: string[] = [];

  get turns(): readonly string[] {
    return this.prompts;
  }

  remember(prompt: string): void {
    this.prompts.push(prompt.slice(0, KEPT_PROMPT_CHARS));
  }

  restore(state: SuspendedState): void {
    this.prompts = promptsOf(state);
  }

  data(): { prompts: string[] } {
    return { prompts: [...this.prompts] };
  }
}

/** A scripted conversation's id: its session's. */
export function scriptedRef(sessionId: string): string {
  return `scripted-${sessionId}`;
}

/** The prompts a suspended scripted conversation holds (none in a state from before they were kept). */
export function promptsOf(state: Pick<SuspendedState, 'data'>): string[] {
  const prompts = state.data?.prompts;
  return Array.isArray(prompts) ? prompts.filter((p): p is string => typeof p === 'string') : [];
}

/** The first `turn` prompts; CheckpointNotFound past the last. */
export function keptTurns(prompts: readonly string[], turn: number): string[] {
  if (turn < 0 || turn > prompts.length) {
    throw new NotFoundError(
      `The conversation has ${prompts.length} turn(s): there is no turn ${turn}`,
      ErrorCode.CheckpointNotFound,
    );
  }
  return prompts.slice(0, turn);
}
