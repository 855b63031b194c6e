import type { AgentProviderPort, ModelInfo } from '@jelmore/contracts';
import { ProviderRegistry, type ProvidersModuleOptions } from '@jelmore/providers';
import { loadConfig } from '../jelmore.config';
import { configError, expectOneLine, withConfigDir } from '../jelmore.config.spec-helpers';
import { checkTrafficModels } from './traffic.config';

describe('traffic policies in the config', () => {
  const configFile = withConfigDir();
  const load = (file: unknown, env: NodeJS.ProcessEnv = {}) =>
    loadConfig({ JELMORE_CONFIG: configFile(file), ...env }).traffic;
  const error = (file: unknown, env: NodeJS.ProcessEnv = {}) => {
    const { message } = configError({ JELMORE_CONFIG: configFile(file), ...env });
    expectOneLine(message);
    return message;
  };

  it('reads tiers as models or { provider, model }, and experiments with their defaults', () => {
    const traffic = load({
      routing: {
        complexity: {
          tiers: {
            simple: 'haiku',
            standard: 'sonnet',
            complex: { provider: 'claude', model: 'opus' },
          },
        },
      },
      experiments: {
        'ab-1': {
          arms: [
            { model: 'scripted', weight: 3 },
            { provider: 'scripted', model: 'scripted-process', weight: 1, name: 'process' },
          ],
          sticky: 'session',
          filter: { owners: ['alice'], query: 'refactor' },
        },
        plain: { arms: [{ provider: 'claude', weight: 1 }, { weight: 1 }] },
      },
    });
    expect(traffic.routing).toEqual({
      tiers: {
        simple: { model: 'haiku' },
        standard: { model: 'sonnet' },
        complex: { provider: 'claude', model: 'opus' },
      },
    });
    const [ab, plain] = traffic.experiments;
    expect(ab).toMatchObject({
      name: 'ab-1',
      sticky: 'session',
      arms: [
        { name: 'scripted', model: 'scripted', weight: 3 },
        { name: 'process', provider: 'scripted', model: 'scripted-process', weight: 1 },
      ],
      filter: { owners: ['alice'] },
    });
    expect(ab.filter?.query?.test('Please REFACTOR it')).toBe(true);
    // Sticky by owner unless said; an arm is named by its model, else its provider, else its place.
    expect(plain).toEqual({
      name: 'plain',
      sticky: 'owner',
      arms: [
        { name: 'claude', provider: 'claude', weight: 1 },
        { name: 'arm-1', weight: 1 },
      ],
    });
    expect(load({})).toEqual({ experiments: [], where: expect.any(Object) });
  });

  it('takes JELMORE_ROUTING (JSON) over the file', () => {
    const traffic = load(
      { routing: { complexity: { tiers: { simple: 'haiku' } } } },
      { JELMORE_ROUTING: '{"complexity":{"tiers":{"complex":"opus"}}}' },
    );
    expect(traffic.routing).toEqual({ tiers: { complex: { model: 'opus' } } });
    expect(traffic.where.routing).toBe('JELMORE_ROUTING');
    expect(configError({ JELMORE_ROUTING: '{tiers' }).message).toBe(
      'Invalid configuration: JELMORE_ROUTING must be JSON, e.g. {"complexity":{"tiers":{"simple":"haiku"}}}',
    );
  });

  it('refuses bad routing with one line naming the key', () => {
    expect(error({ routing: { complexity: { tiers: {} } } })).toMatch(
      /: routing\.complexity\.tiers must name at least one tier/,
    );
    expect(error({ routing: { complexity: { tiers: { simple: 5 } } } })).toMatch(
      /: routing\.complexity\.tiers\.simple must be an object \(got 5\)$/,
    );
    expect(error({ routing: { complexity: { tiers: { default: 'haiku' } } } })).toMatch(
      /: routing\.complexity\.tiers\.default is not a tier name/,
    );
    expect(
      error({ routing: { complexity: { tiers: { simple: { provider: 'claude' } } } } }),
    ).toMatch(
      /: routing\.complexity\.tiers\.simple\.model must be a model id or alias \(got undefined\)$/,
    );
    expect(error({ routing: { complexity: { levels: {} } } })).toMatch(
      /: routing\.complexity\.levels is not one of tiers$/,
    );
  });

  it('refuses bad experiments with one line naming the key', () => {
    const arms = (...list: unknown[]) => ({ experiments: { ab: { arms: list } } });
    expect(error(arms({ model: 'a', weight: 0 }, { model: 'b', weight: 0 }))).toMatch(
      /: experiments\.ab\.arms weights must sum to a positive number \(got 0\)$/,
    );
    expect(error(arms({ model: 'a', weight: -1 }, { model: 'b', weight: 2 }))).toMatch(
      /: experiments\.ab\.arms\[0\]\.weight must be a non-negative number \(got -1\)$/,
    );
    expect(error(arms({ model: 'a' }))).toMatch(/: experiments\.ab\.arms\[0\]\.weight must be/);
    expect(error(arms())).toMatch(/: experiments\.ab\.arms must be a list of arms/);
    expect(error(arms({ model: 'a', weight: 1 }, { model: 'a', weight: 1 }))).toMatch(
      /: experiments\.ab\.arms name the arm 'a' twice/,
    );
    expect(error({ experiments: { ab: { arms: [{ weight: 1 }], sticky: 'key' } } })).toMatch(
      /: experiments\.ab\.sticky must be owner or session \(got "key"\)$/,
    );
    expect(
      error({ experiments: { ab: { arms: [{ weight: 1 }], filter: { query: '(' } } } }),
    ).toMatch(/: experiments\.ab\.filter\.query is not a regular expression/);
    expect(
      error({ experiments: { ab: { arms: [{ weight: 1 }], filter: { team: 'x' } } } }),
    ).toMatch(/: experiments\.ab\.filter\.team is not one of owners, query$/);
    expect(error({ experiments: { 'a b': { arms: [{ weight: 1 }] } } })).toMatch(
      /: experiments\.a b is not an experiment name/,
    );
  });

  describe('models, once the providers are known', () => {
    const served = (name: string, ...ids: string[]): AgentProviderPort =>
      ({
        name,
        resolveModel: (model?: string) =>
          ids.includes(model ?? '') ? ({ id: model } as ModelInfo) : undefined,
      }) as AgentProviderPort;
    const registry = new ProviderRegistry({} as ProvidersModuleOptions);
    registry.register('claude', () => served('claude', 'opus', 'haiku'));
    registry.register('scripted', () => served('scripted', 'scripted'));
    const check = (file: unknown) => () => checkTrafficModels(load(file), registry);

    it('pass when a provider (the one named, if any) serves each', () => {
      expect(
        check({
          routing: {
            complexity: {
              tiers: { simple: 'haiku', complex: { provider: 'claude', model: 'opus' } },
            },
          },
          experiments: {
            ab: {
              arms: [
                { provider: 'scripted', weight: 1 },
                { model: 'scripted', weight: 1, name: 'b' },
              ],
            },
          },
        }),
      ).not.toThrow();
    });

    it('refuse a tier or an arm naming an unknown model or provider, naming the key', () => {
      expect(check({ routing: { complexity: { tiers: { simple: 'gpt-9' } } } })).toThrow(
        /^Invalid configuration: .*: routing\.complexity\.tiers\.simple names model 'gpt-9', which no provider serves$/,
      );
      expect(
        check({
          routing: { complexity: { tiers: { simple: { provider: 'scripted', model: 'opus' } } } },
        }),
      ).toThrow(/tiers\.simple names model 'opus', which scripted does not serve$/);
      expect(check({ experiments: { ab: { arms: [{ provider: 'codex', weight: 1 }] } } })).toThrow(
        /: experiments\.ab\.arms\[0\] names provider 'codex', which is not one of claude, scripted$/,
      );
    });
  });
});
