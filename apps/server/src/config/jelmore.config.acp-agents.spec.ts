import { builtInProviderNames } from '@jelmore/providers';
import { loadConfig } from './jelmore.config';
import { configError, expectOneLine, withConfigDir } from './jelmore.config.spec-helpers';

// ACP agents the file adds (`providers.<name>` with `"type": "acp"`), loaded and checked at boot.
describe('loadConfig', () => {
  const configFile = withConfigDir();

  describe('ACP agents in providers', () => {
    const goose = {
      type: 'acp',
      command: '/bin/true',
      args: ['acp'],
      env: { K: '${SOME_VAR}' },
    };

    /** The one-line message loadConfig stops the boot with for these providers, SOME_VAR unset. */
    function bootError(providers: Record<string, unknown>): { message: string; path: string } {
      const path = configFile({ providers });
      const { message } = configError({ JELMORE_CONFIG: path });
      expectOneLine(message);
      return { message, path };
    }

    it('loads a typed entry into acpAgents, its env resolved from the environment', () => {
      const config = loadConfig({
        JELMORE_CONFIG: configFile({ providers: { goose } }),
        SOME_VAR: 'from-the-server',
      });
      expect(config.acpAgents).toHaveLength(1);
      const [agent] = config.acpAgents;
      expect(agent.name).toBe('goose');
      expect(agent.options).toMatchObject({
        type: 'acp',
        command: '/bin/true',
        args: ['acp'],
        env: { K: 'from-the-server' },
      });
      expect(agent.models).toEqual([
        {
          id: 'goose',
          aliases: [],
          provider: 'goose',
          contextWindow: 128_000,
          inputPricePerMTok: 0,
          outputPricePerMTok: 0,
        },
      ]);
    });

    it('has none when the file adds none', () => {
      expect(loadConfig({}).acpAgents).toEqual([]);
    });

    describe('errors: a ConfigError of one line naming the key', () => {
      it('an unknown type names providers.goose.type', () => {
        const { message, path } = bootError({ goose: { ...goose, type: 'grpc' } });
        expect(message).toBe(
          `Invalid configuration: ${path}: providers.goose.type must be "acp", the one provider type a config entry can add (got "grpc")`,
        );
      });

      it('a missing command names providers.goose.command', () => {
        const { message, path } = bootError({ goose: { type: 'acp', args: ['acp'] } });
        expect(message).toBe(
          `Invalid configuration: ${path}: providers.goose.command is missing: the agent's executable`,
        );
      });

      it.each([{ name: 'gemini-acp' }, { name: 'claude' }])(
        'an ACP entry named like the built-in $name names providers.$name',
        ({ name }) => {
          const { message, path } = bootError({ [name]: { type: 'acp', command: '/bin/true' } });
          expect(message).toBe(
            `Invalid configuration: ${path}: providers.${name} is an ACP agent named like the built-in provider '${name}': give it another name`,
          );
        },
      );

      it('an untyped entry of an unknown name names providers.goose', () => {
        const { message, path } = bootError({ goose: { command: '/bin/true' } });
        expect(message).toBe(
          `Invalid configuration: ${path}: providers.goose names no built-in provider (${builtInProviderNames().join(', ')}): give it "type": "acp" and a "command" to add an ACP agent`,
        );
      });

      it('an env reference to an unset variable names providers.goose.env.K and the variable', () => {
        const { message, path } = bootError({ goose });
        expect(message).toBe(
          `Invalid configuration: ${path}: providers.goose.env.K references \${SOME_VAR}, which is not set in the server's environment`,
        );
      });
    });
  });
});
