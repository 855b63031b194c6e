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
});
