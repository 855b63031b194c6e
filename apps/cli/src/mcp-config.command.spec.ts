import type { OutputStream } from './event-printer';
import { buildProgram } from './program';

class Capture implements OutputStream {
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

describe('jelmore mcp-config', () => {
  /** Runs `jelmore <args>` with no environment of its own (commander reads JELMORE_* from it). */
  async function jelmore(...args: string[]) {
    const saved = { server: process.env.JELMORE_SERVER, key: process.env.JELMORE_API_KEY };
    delete process.env.JELMORE_SERVER;
    delete process.env.JELMORE_API_KEY;
    const out = new Capture();
    const err = new Capture();
    try {
      await buildProgram({ out, err }, {}).parseAsync(['node', 'jelmore', ...args]);
    } finally {
      if (saved.server !== undefined) process.env.JELMORE_SERVER = saved.server;
      if (saved.key !== undefined) process.env.JELMORE_API_KEY = saved.key;
    }
    return { out: out.text, err: err.text };
  }

  it("prints the client config for the CLI's server and key", async () => {
    const { out, err } = await jelmore(
      '--server',
      'https://jelmore.example.com/',
      '--key',
      'k-0123456789abcdef',
      'mcp-config',
    );
    expect(JSON.parse(out)).toEqual({
      mcpServers: {
        jelmore: {
          type: 'http',
          url: 'https://jelmore.example.com/mcp',
          headers: { Authorization: 'Bearer k-0123456789abcdef' },
        },
      },
    });
    expect(err).toBe('');
  });

  it('takes another name, and a server mounted under a path', async () => {
    const { out } = await jelmore(
      '-s',
      'http://10.0.0.5:8080/agents',
      '-k',
      'k1',
      'mcp-config',
      '--name',
      'agents',
    );
    expect(JSON.parse(out)).toEqual({
      mcpServers: {
        agents: {
          type: 'http',
          url: 'http://10.0.0.5:8080/agents/mcp',
          headers: { Authorization: 'Bearer k1' },
        },
      },
    });
  });

  it('leaves the header out without a key (a local server), and says so', async () => {
    const { out, err } = await jelmore('mcp-config');
    expect(JSON.parse(out)).toEqual({
      mcpServers: { jelmore: { type: 'http', url: 'http://127.0.0.1:3000/mcp' } },
    });
    expect(err).toMatch(/^No --key \(or JELMORE_API_KEY\)/);
  });

  it('refuses a server that is no http(s) URL', async () => {
    for (const server of ['localhost:3000', 'not a url']) {
      await expect(jelmore('-s', server, 'mcp-config')).rejects.toThrow(
        `--server must be an http(s) URL: got ${server}`,
      );
    }
  });
});
