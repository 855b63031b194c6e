import { claudeMcpLaunch } from './claude.session';

describe('claudeMcpLaunch', () => {
  it('gives no MCP arguments to a session without servers', () => {
    expect(claudeMcpLaunch(undefined)).toEqual({ args: [], env: {} });
    expect(claudeMcpLaunch([])).toEqual({ args: [], env: {} });
  });

  it('keeps the headers (the delegation token) off the command line, in the environment', () => {
    const token = 'Bearer jdt.secret-token';
    const { args, env } = claudeMcpLaunch([
      { name: 'jelmore', url: 'http://127.0.0.1:3000/mcp', headers: { Authorization: token } },
    ]);
    expect(args.join(' ')).not.toContain('secret-token');
    expect(args[0]).toBe('--mcp-config');
    expect(args[2]).toBe('--strict-mcp-config');
    const config = JSON.parse(args[1]) as {
      mcpServers: Record<string, { type: string; url: string; headers: Record<string, string> }>;
    };
    const [variable] = Object.keys(env);
    expect(config.mcpServers.jelmore).toEqual({
      type: 'http',
      url: 'http://127.0.0.1:3000/mcp',
      headers: { Authorization: `\${${variable}}` },
    });
    expect(env[variable]).toBe(token);
  });
});
