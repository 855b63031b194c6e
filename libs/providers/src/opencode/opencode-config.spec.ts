import { opencodeConfig } from './opencode-config';
import { opencodeModels } from './opencode.models';

describe('opencodeConfig', () => {
  const options = { baseUrl: 'http://127.0.0.1:9/v1' };
  const models = opencodeModels({});

  it('gives the session`s MCP servers as remote ones, with their headers and no OAuth', () => {
    const config = opencodeConfig(options, models, undefined, [
      {
        name: 'jelmore',
        url: 'http://127.0.0.1:3000/mcp',
        headers: { authorization: 'Bearer t0k' },
      },
      { name: 'other', url: 'https://mcp.example/mcp', headers: {} },
    ]);
    expect(config.mcp).toEqual({
      jelmore: {
        type: 'remote',
        url: 'http://127.0.0.1:3000/mcp',
        headers: { authorization: 'Bearer t0k' },
        enabled: true,
        oauth: false,
      },
      other: {
        type: 'remote',
        url: 'https://mcp.example/mcp',
        headers: {},
        enabled: true,
        oauth: false,
      },
    });
  });

  it('has no mcp key without servers', () => {
    expect(opencodeConfig(options, models)).not.toHaveProperty('mcp');
    expect(opencodeConfig(options, models, undefined, [])).not.toHaveProperty('mcp');
  });

  it('gives each model its display name and output limit, else its id and 8192', () => {
    const local = {
      id: 'qwen2.5-coder:7b',
      aliases: [],
      provider: 'opencode',
      contextWindow: 32_768,
      inputPricePerMTok: 0,
      outputPricePerMTok: 0,
    };
    const config = opencodeConfig(options, [
      { ...local, name: 'Qwen 2.5 Coder 7B', maxOutputTokens: 4096 },
      { ...local, id: 'llama3.1:8b' },
    ]);
    expect(config.model).toBe('jelmore/qwen2.5-coder:7b');
    const provider = (config.provider as Record<string, { models: Record<string, unknown> }>)
      .jelmore;
    expect(provider.models['qwen2.5-coder:7b']).toMatchObject({
      name: 'Qwen 2.5 Coder 7B',
      limit: { context: 32_768, output: 4096 },
      cost: { input: 0, output: 0 },
    });
    expect(provider.models['llama3.1:8b']).toMatchObject({
      name: 'llama3.1:8b',
      limit: { context: 32_768, output: 8192 },
    });
  });
});
