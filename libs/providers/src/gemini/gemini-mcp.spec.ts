import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { McpServerConfig } from '@jelmore/contracts';
import { removeGeminiMcpExtension, writeGeminiMcpExtension } from './gemini-mcp';

const JELMORE: McpServerConfig = {
  name: 'jelmore',
  url: 'http://127.0.0.1:3000/mcp',
  headers: { Authorization: 'Bearer jdt.secret' },
};

describe('writeGeminiMcpExtension', () => {
  let home: string;

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'jelmore-gemini-mcp-'));
  });

  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('gives a session`s servers as its own extension, its header values only as variables', () => {
    const launch = writeGeminiMcpExtension(home, 'S-1', [JELMORE], 'yolo');
    const dir = join(home, '.gemini', 'extensions', 'jelmore-session-s-1');
    expect(launch).toEqual({
      args: ['--extensions', 'jelmore-session-s-1'],
      env: { JELMORE_MCP_TOKEN_0_0: 'Bearer jdt.secret' },
      dir,
    });
    const file = join(dir, 'gemini-extension.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      name: 'jelmore-session-s-1',
      version: '1.0.0',
      mcpServers: {
        jelmore: {
          httpUrl: 'http://127.0.0.1:3000/mcp',
          headers: { Authorization: '${JELMORE_MCP_TOKEN_0_0}' },
          timeout: 3_660_000,
        },
      },
    });
    expect(readFileSync(file, 'utf8')).not.toContain('secret');
    expect(statSync(file).mode & 0o077).toBe(0);

    removeGeminiMcpExtension(launch);
    expect(existsSync(dir)).toBe(false);
  });

  it('lets the servers` tools run under auto_edit through a --policy rule', () => {
    const launch = writeGeminiMcpExtension(home, 's2', [JELMORE], 'auto_edit');
    const policy = join(launch.dir!, 'allow-mcp.toml');
    expect(launch.args).toEqual(['--extensions', 'jelmore-session-s2', '--policy', policy]);
    expect(readFileSync(policy, 'utf8')).toBe(
      '[[rule]]\nmcpName = "jelmore"\ntoolName = "*"\ndecision = "allow"\npriority = 500\n',
    );
  });

  it('turns extensions off for a session without servers, so others` are not loaded', () => {
    expect(writeGeminiMcpExtension(home, 's3', undefined, 'yolo')).toEqual({
      args: ['--extensions', 'none'],
      env: {},
    });
    expect(writeGeminiMcpExtension(home, 's3', [], 'auto_edit').args).toEqual([
      '--extensions',
      'none',
    ]);
    expect(existsSync(join(home, '.gemini', 'extensions'))).toBe(false);
  });
});
