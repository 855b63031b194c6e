import { codexMcpLaunch } from './codex-config';

describe('codexMcpLaunch', () => {
  it('gives each server as a -c override, its header values only as variables', () => {
    const launch = codexMcpLaunch([
      {
        name: 'jelmore',
        url: 'http://127.0.0.1:3000/mcp',
        headers: { Authorization: 'Bearer jdt.secret' },
      },
      { name: 'other', url: 'https://mcp.example/mcp', headers: {} },
    ]);
    expect(launch.args).toEqual([
      '-c',
      'mcp_servers.jelmore={url="http://127.0.0.1:3000/mcp",env_http_headers={"Authorization"="JELMORE_MCP_TOKEN_0_0"},default_tools_approval_mode="approve",tool_timeout_sec=3660}',
      '-c',
      'mcp_servers.other={url="https://mcp.example/mcp",env_http_headers={},default_tools_approval_mode="approve",tool_timeout_sec=3660}',
    ]);
    expect(launch.env).toEqual({ JELMORE_MCP_TOKEN_0_0: 'Bearer jdt.secret' });
    expect(launch.args.join(' ')).not.toContain('secret');
  });

  it('gives nothing without servers, and leaves out a name a -c path cannot carry', () => {
    expect(codexMcpLaunch(undefined)).toEqual({ args: [], env: {} });
    expect(codexMcpLaunch([{ name: 'a.b', url: 'http://x/mcp', headers: {} }])).toEqual({
      args: [],
      env: {},
    });
  });
});
