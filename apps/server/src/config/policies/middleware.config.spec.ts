import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { loadConfig } from '../jelmore.config';
import { configError, expectOneLine, withConfigDir } from '../jelmore.config.spec-helpers';

describe('middleware in the config', () => {
  let dir = '';
  const configFile = withConfigDir((d) => (dir = d));
  const load = (file: unknown, env: NodeJS.ProcessEnv = {}) =>
    loadConfig({ JELMORE_CONFIG: configFile(file), ...env }).middleware;
  const error = (file: unknown, env: NodeJS.ProcessEnv = {}) => {
    const { message } = configError({ JELMORE_CONFIG: configFile(file), ...env });
    expectOneLine(message);
    return message;
  };

  it('has the redactor on and no prompt prefix or suffix by default', () => {
    const { redactor, prompt } = loadConfig({}).middleware;
    expect({ ...redactor, secrets: redactor.secrets.values }).toEqual({
      enabled: true,
      patterns: [],
      secrets: [],
    });
    expect(prompt).toEqual({ prefix: undefined, suffix: undefined });
  });

  it('reads the file, with the variables over it', () => {
    const file = {
      middleware: {
        redactor: { enabled: false, patterns: ['corp-[0-9]{6}'] },
        prompt: { prefix: 'Answer briefly.', suffix: 'No secrets.' },
      },
    };
    expect(load(file)).toMatchObject({
      redactor: { enabled: false, patterns: ['corp-[0-9]{6}'] },
      prompt: { prefix: 'Answer briefly.', suffix: 'No secrets.' },
    });
    expect(
      load(file, { JELMORE_REDACT_SECRETS: 'on', JELMORE_PROMPT_PREFIX: 'From env.' }),
    ).toMatchObject({ redactor: { enabled: true }, prompt: { prefix: 'From env.' } });
  });

  it("gives the redactor the server's API keys, from the variable and the key file", () => {
    const keys = join(dir, 'keys');
    writeFileSync(keys, '# ops\nbob:bob-key-0123456789abcdef\n', { mode: 0o600 });
    const env = {
      JELMORE_API_KEYS: 'alice:alice-key-0123456789abcdef:admin',
      JELMORE_API_KEYS_FILE: keys,
    };
    const config = loadConfig({ JELMORE_CONFIG: configFile({}), ...env });
    expect(config.middleware.redactor.secrets.values).toEqual([
      'alice-key-0123456789abcdef',
      'bob-key-0123456789abcdef',
    ]);
    // Never where the config is serialized or inspected (logs, dumps).
    for (const shown of [JSON.stringify(config), inspect(config, { depth: 10 })]) {
      expect(shown).not.toContain('key-0123456789abcdef');
    }
  });

  it('refuses a bad value with one line naming the key, never echoing a key', () => {
    const at = (key: string) => expect.stringContaining(`jelmore.json: middleware.${key}`);
    expect(error({ middleware: { redactor: { enabled: 'yes' } } })).toEqual(at('redactor.enabled'));
    expect(error({ middleware: { redactor: { patterns: 'sk-.*' } } })).toEqual(
      at('redactor.patterns must be a list of regular expressions'),
    );
    expect(error({ middleware: { redactor: { patterns: ['ok', '(unclosed'] } } })).toEqual(
      at('redactor.patterns[1] is not a regular expression'),
    );
    expect(error({ middleware: { redactor: { patterns: ['a*'] } } })).toEqual(
      at('redactor.patterns[0] matches empty text'),
    );
    expect(error({ middleware: { redactor: { patterns: ['(?<custom>x)'] } } })).toEqual(
      at('redactor.patterns cannot be joined'),
    );
    expect(error({ middleware: { redacter: {} } })).toEqual(
      at('redacter is not one of redactor, prompt'),
    );
    expect(error({ middleware: { prompt: { prefix: 42 } } })).toEqual(at('prompt.prefix'));
    expect(
      error({}, { JELMORE_REDACT_SECRETS: 'maybe', JELMORE_API_KEYS: 'a:a-very-secret-key-1234' }),
    ).toBe('Invalid configuration: JELMORE_REDACT_SECRETS must be true or false (got "maybe")');
  });
});
