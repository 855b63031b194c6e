/**
 * What a scripted agent does in one turn, read from directives in the input (so a load test or a demo
 * can ask for exactly the traffic it wants):
 *   [[events N]]  N assistant text events (default: the input echoed word by word)
 *   [[bytes B]]   each text event B characters long (default 16)
 *   [[rate R]]    R events per second; 0 means as fast as the server takes them (default 50)
 *   [[tool]]      a tool_use / tool_result pair before the text
 */
export interface TurnScript {
  pieces: number | string[];
  bytes: number;
  ratePerSecond: number;
  tool: boolean;
}

export function parseScript(input: string): TurnScript {
  const number = (name: string) => {
    const match = new RegExp(`\\[\\[${name} (\\d+)\\]\\]`).exec(input);
    return match ? Number(match[1]) : undefined;
  };
  const events = number('events');
  const text = input.replace(/\[\[[^\]]*\]\]/g, '').trim();
  return {
    pieces: events ?? `Echo: ${text}`.split(/(?<= )/),
    bytes: number('bytes') ?? 16,
    ratePerSecond: number('rate') ?? 50,
    tool: input.includes('[[tool]]'),
  };
}
