import { ProviderSettingsError } from '../provider-settings';
import { loadAcpAgents } from './acp-config';

const FILE = '/path/cfg.json';
const BUILT_IN = ['claude', 'codex', 'gemini', 'opencode'];

function load(providers: unknown, env: NodeJS.ProcessEnv = {}) {
  return loadAcpAgents(providers, FILE, BUILT_IN, env);
}

/** The message loadAcpAgents stops the boot with (it must throw ProviderSettingsError). */
function bootError(providers: unknown, env: NodeJS.ProcessEnv = {}): string {
  try {
    load(providers, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderSettingsError);
    return (err as Error).message;
  }
  throw new Error('loadAcpAgents accepted the entry');
}

describe('loadAcpAgents', () => {
  it('reads a full entry: snake_case models become ModelInfo, defaults fill the rest', () => {
    const [goose, ...rest] = load({
      claude: { default_permissions: 'ask' },
      goose: {
        type: 'acp',
        command: 'goose',
        args: ['acp'],
        models: [
          {
            id: 'goose-large',
            aliases: ['gl'],
            context_window: 200_000,
            input_price_per_mtok: 3,
            output_price_per_mtok: 15,
          },
          { id: 'goose-small' },
        ],
        default_model: 'gl',
        default_permissions: 'deny-writes',
      },
    });
    expect(rest).toEqual([]);
    expect(goose.name).toBe('goose');
    expect(goose.models).toEqual([
      {
        id: 'goose-large',
        aliases: ['gl'],
        provider: 'goose',
        contextWindow: 200_000,
        inputPricePerMTok: 3,
        outputPricePerMTok: 15,
      },
      {
        id: 'goose-small',
        aliases: [],
        provider: 'goose',
        contextWindow: 128_000,
        inputPricePerMTok: 0,
        outputPricePerMTok: 0,
      },
    ]);
    expect({ ...goose.options }).toEqual({
      type: 'acp',
      command: 'goose',
      args: ['acp'],
      env: {},
      models: [
        {
          id: 'goose-large',
          aliases: ['gl'],
          context_window: 200_000,
          input_price_per_mtok: 3,
          output_price_per_mtok: 15,
        },
        { id: 'goose-small' },
      ],
      defaultModel: 'gl',
      maxConcurrentSessions: 5,
      enabled: true,
      defaultPermissions: 'deny-writes',
      startTimeoutSeconds: 30,
      autoSelect: true,
      input: [],
    });
  });

  it('reads what the model takes besides text: images and PDFs', () => {
    const [agent] = load({ seer: { type: 'acp', command: 'seer', input: ['image', 'pdf'] } });
    expect(agent.options.input).toEqual(['image', 'pdf']);
  });

  // The shape of providers.opencode.models: a local server's list fits either.
  it('takes the model list shape opencode takes, listing the models without name and max_output', () => {
    const [agent] = load({
      local: {
        type: 'acp',
        command: 'agent',
        models: [{ id: 'qwen2.5-coder:7b', name: 'Qwen', max_output: 4096 }],
      },
    });
    expect(agent.models).toEqual([
      {
        id: 'qwen2.5-coder:7b',
        aliases: [],
        provider: 'local',
        contextWindow: 128_000,
        inputPricePerMTok: 0,
        outputPricePerMTok: 0,
      },
    ]);
  });

  it('gives an entry without models one model named after the provider', () => {
    const [agent] = load({ kiro: { type: 'acp', command: '/opt/kiro/bin/kiro' } });
    expect(agent.models).toEqual([
      {
        id: 'kiro',
        aliases: [],
        provider: 'kiro',
        contextWindow: 128_000,
        inputPricePerMTok: 0,
        outputPricePerMTok: 0,
      },
    ]);
    expect(agent.options.args).toEqual([]);
    expect(agent.options.defaultModel).toBeUndefined();
    expect(agent.options.defaultPermissions).toBe('bypass');
  });

  it('no providers: no agents; built-in entries and lone rate limits without a type are skipped', () => {
    expect(load(undefined)).toEqual([]);
    expect(
      load({ claude: {}, opencode: { enabled: false }, later: { sessions_per_minute: 3 } }),
    ).toEqual([]);
  });

  it('substitutes ${NAME} in env values from the env argument', () => {
    const [agent] = load(
      {
        goose: {
          type: 'acp',
          command: 'goose',
          env: { GOOSE_KEY: '${SECRET}', URL: 'http://${HOST}:${PORT}/v1', PLAIN: 'x' },
        },
      },
      { SECRET: 's3cr3t', HOST: 'models.local', PORT: '8080' },
    );
    expect(agent.options.env).toEqual({
      GOOSE_KEY: 's3cr3t',
      URL: 'http://models.local:8080/v1',
      PLAIN: 'x',
    });
  });

  it('stops on ${NAME} unset in the environment, naming the variable and the key', () => {
    expect(
      bootError(
        { goose: { type: 'acp', command: 'goose', env: { GOOSE_KEY: '${MISSING_KEY}' } } },
        { OTHER: '1' },
      ),
    ).toBe(
      "Invalid configuration: /path/cfg.json: providers.goose.env.GOOSE_KEY references ${MISSING_KEY}, which is not set in the server's environment",
    );
  });

  describe('boot errors: one line naming the key', () => {
    it.each<[string, unknown, string]>([
      [
        'unknown type',
        { goose: { type: 'mcp', command: 'goose' } },
        '/path/cfg.json: providers.goose.type must be "acp", the one provider type a config entry can add (got "mcp")',
      ],
      [
        'missing command',
        { goose: { type: 'acp', args: ['acp'] } },
        "/path/cfg.json: providers.goose.command is missing: the agent's executable",
      ],
      [
        'clash with a built-in name',
        { gemini: { type: 'acp', command: 'gemini' } },
        "/path/cfg.json: providers.gemini is an ACP agent named like the built-in provider 'gemini': give it another name",
      ],
      [
        'untyped unknown name',
        { goose: { command: 'goose' } },
        '/path/cfg.json: providers.goose names no built-in provider (claude, codex, gemini, opencode): give it "type": "acp" and a "command" to add an ACP agent',
      ],
      [
        'unknown key',
        { goose: { type: 'acp', command: 'goose', cmd_args: [] } },
        '/path/cfg.json: providers.goose.cmd_args is not a key of an ACP agent (type, command, args, env, models, default_model, max_concurrent_sessions, enabled, default_permissions, start_timeout_seconds, auto_select, input, sessions_per_minute)',
      ],
      [
        'bad name',
        { Goose_Agent: { type: 'acp', command: 'goose' } },
        "/path/cfg.json: providers.Goose_Agent: an ACP provider's name must be lowercase letters, digits and dashes, starting with a letter",
      ],
      [
        'bad model field',
        { goose: { type: 'acp', command: 'goose', models: [{ id: 'g', context_window: 1.5 }] } },
        '/path/cfg.json: providers.goose.models[0].context_window must be a whole number of tokens (got 1.5)',
      ],
      [
        'model without an id',
        { goose: { type: 'acp', command: 'goose', models: [{ aliases: ['g'] }] } },
        '/path/cfg.json: providers.goose.models[0].id must be a non-empty string',
      ],
      [
        'two models with one id',
        { goose: { type: 'acp', command: 'goose', models: [{ id: 'g' }, { id: 'g' }] } },
        "/path/cfg.json: providers.goose.models[1]: 'g' names two models",
      ],
      [
        'negative model price',
        {
          goose: {
            type: 'acp',
            command: 'goose',
            models: [{ id: 'a' }, { id: 'b', output_price_per_mtok: -1 }],
          },
        },
        '/path/cfg.json: providers.goose.models[1].output_price_per_mtok must be a price in USD, 0 or more (got -1)',
      ],
      [
        'default_model not among the models',
        {
          goose: {
            type: 'acp',
            command: 'goose',
            models: [{ id: 'goose-large', aliases: ['gl'] }],
            default_model: 'goose-small',
          },
        },
        '/path/cfg.json: providers.goose.default_model must be one of goose-large, gl (got "goose-small")',
      ],
      [
        'max_concurrent_sessions 0',
        { goose: { type: 'acp', command: 'goose', max_concurrent_sessions: 0 } },
        '/path/cfg.json: providers.goose.max_concurrent_sessions must not be less than 1 (got 0)',
      ],
      [
        'max_concurrent_sessions not a number: the type is named, not the range',
        { goose: { type: 'acp', command: 'goose', max_concurrent_sessions: 'x' } },
        '/path/cfg.json: providers.goose.max_concurrent_sessions must be an integer number (got "x")',
      ],
      [
        'start_timeout_seconds a fraction',
        { goose: { type: 'acp', command: 'goose', start_timeout_seconds: 0.5 } },
        '/path/cfg.json: providers.goose.start_timeout_seconds must be an integer number (got 0.5)',
      ],
      [
        'input naming a kind it cannot take',
        { goose: { type: 'acp', command: 'goose', input: ['image', 'audio'] } },
        '/path/cfg.json: providers.goose.input must list only image and pdf (got ["image","audio"])',
      ],
      [
        'input not a list',
        { goose: { type: 'acp', command: 'goose', input: 'image' } },
        '/path/cfg.json: providers.goose.input must be an array (got "image")',
      ],
      [
        'a rate limit alone does not make an untyped name an agent when other keys are there',
        { goose: { sessions_per_minute: 2, command: 'goose' } },
        '/path/cfg.json: providers.goose names no built-in provider (claude, codex, gemini, opencode): give it "type": "acp" and a "command" to add an ACP agent',
      ],
    ])('%s', (_, providers, message) => {
      const error = bootError(providers);
      expect(error).toBe(`Invalid configuration: ${message}`);
      expect(error).not.toContain('\n');
    });
  });
});
