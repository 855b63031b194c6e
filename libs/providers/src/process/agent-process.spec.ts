import { readdirSync, readFileSync } from 'node:fs';
import { AgentProcess, descendantGroups, killGroup } from './agent-process';

/** Pids of live processes whose command line is exactly `argv` (NUL-joined in /proc). */
function pidsRunning(...argv: string[]): number[] {
  const wanted = `${argv.join('\0')}\0`;
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8') === wanted;
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return check();
}

/** An agent whose "tool" runs in a session of its own, as the Gemini CLI's shell tool does. */
function agentWithDetachedTool(seconds: string, stopDescendantGroups: boolean) {
  const lines: string[] = [];
  const agent = new AgentProcess({
    bin: 'sh',
    args: ['-c', `setsid sleep ${seconds} & echo ready; wait`],
    cwd: process.cwd(),
    env: { PATH: process.env.PATH },
    stopDescendantGroups,
    onLine: (line) => lines.push(line),
    onExit: () => undefined,
  });
  return { agent, lines };
}

describe('AgentProcess', () => {
  it('with stopDescendantGroups, stop() also ends a tool that left the agent`s process group', async () => {
    const { agent, lines } = agentWithDetachedTool('61.25', true);
    expect(
      await until(() => lines.includes('ready') && pidsRunning('sleep', '61.25').length > 0),
    ).toBe(true);
    const [tool] = pidsRunning('sleep', '61.25');
    expect(descendantGroups(agent.pid)).toEqual([tool]);
    await agent.stop();
    expect(await until(() => pidsRunning('sleep', '61.25').length === 0)).toBe(true);
  });

  it('without it, such a tool outlives stop() (what the option is for)', async () => {
    const { agent, lines } = agentWithDetachedTool('61.5', false);
    expect(
      await until(() => lines.includes('ready') && pidsRunning('sleep', '61.5').length > 0),
    ).toBe(true);
    await agent.stop();
    const left = pidsRunning('sleep', '61.5');
    left.forEach((pid) => killGroup(pid, 'SIGKILL'));
    expect(left).toHaveLength(1);
  });

  it('with drainOutput, reports the exit after the last line, even one written after the exit', async () => {
    // The agent exits at once; a child it left writes the last line 300 ms later on the same pipe.
    const run = (drainOutput: boolean) =>
      new Promise<string[]>((resolve) => {
        const lines: string[] = [];
        new AgentProcess({
          bin: 'sh',
          args: ['-c', 'echo first; (sleep 0.3; echo last) & exit 0'],
          cwd: process.cwd(),
          env: { PATH: process.env.PATH },
          drainOutput,
          onLine: (line) => lines.push(line),
          onExit: () => resolve([...lines]),
        });
      });
    expect(await run(true)).toEqual(['first', 'last']);
    expect(await run(false)).toEqual(['first']);
  });
});
