import { Global, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AgentProviderPort, ModelInfo, ProviderCapabilities } from '@jelmore/contracts';
import {
  ProviderRegistry,
  ProviderSelector,
  type ProvidersModuleOptions,
} from '@jelmore/providers';
import { SESSIONS_MODULE_OPTIONS } from '../../sessions.module-definition';
import type { SessionsModuleOptions } from '../../sessions.options';
import type { CreateSessionInput } from '../../sessions.types';
import { ComplexityRouter } from './complexity-router';
import { CLASSIFIER_TIMEOUT_MS, COMPLEXITY_CLASSIFIER } from './routing.constants';
import { SessionTraffic } from './session-traffic';
import type { ComplexityClassifier, TrafficPolicies } from './traffic-policies';

const SIMPLE = 'What is a closure?';
const COMPLEX =
  'Refactor the store across src/a.ts, src/b.ts and src/c.ts, then migrate every caller';

function provider(
  name: string,
  models: string[],
  caps: Partial<ProviderCapabilities> = {},
  autoSelect = true,
): AgentProviderPort {
  const served: ModelInfo[] = models.map((id) => ({
    id: `${id}-1`,
    aliases: [id],
    provider: name,
    contextWindow: 100_000,
    inputPricePerMTok: 1,
    outputPricePerMTok: 1,
  }));
  return {
    name,
    autoSelect,
    capabilities: { streaming: true, maxConcurrentSessions: 5, maxContextTokens: 100_000, ...caps },
    models: () => served,
    resolveModel: (id) => served.find((m) => m.id === id || m.aliases.includes(id ?? models[0])),
    createSession: () => {
      throw new Error('not used');
    },
    healthCheck: async () => ({ healthy: true, checkedAt: new Date(0).toISOString() }),
    metrics: () => ({ activeSessions: 0, totalSessions: 0, failedSessions: 0 }),
  } as AgentProviderPort;
}

const TRAFFIC: TrafficPolicies = {
  routing: {
    tiers: { simple: { model: 'haiku' }, complex: { provider: 'claude', model: 'opus' } },
  },
  experiments: [
    {
      name: 'models',
      sticky: 'owner',
      arms: [
        { name: 'a', provider: 'scripted', model: 'scripted', weight: 1 },
        { name: 'b', provider: 'scripted', model: 'scripted-process', weight: 1 },
      ],
    },
    {
      name: 'refactors',
      sticky: 'session',
      arms: [{ name: 'local', provider: 'local', weight: 1 }],
      filter: { query: /refactor/i },
    },
  ],
};

async function traffic(classifier?: ComplexityClassifier, policies = TRAFFIC) {
  const providerOptions = {
    defaultProvider: 'claude',
    loadBalancing: false,
    costOptimization: false,
    circuit: { failureThreshold: 3, cooldownMs: 1000 },
  } as ProvidersModuleOptions;
  const registry = new ProviderRegistry(providerOptions);
  for (const p of [
    provider('claude', ['sonnet', 'haiku', 'opus']),
    provider('local', ['qwen'], { multimodal: true }),
    provider('scripted', ['scripted', 'scripted-process'], {}, false),
  ]) {
    registry.register(p.name, () => p);
  }
  const moduleRef = await Test.createTestingModule({
    providers: [
      { provide: SESSIONS_MODULE_OPTIONS, useValue: { traffic: policies } },
      ...(classifier ? [{ provide: COMPLEXITY_CLASSIFIER, useValue: classifier }] : []),
      { provide: ProviderRegistry, useValue: registry },
      { provide: ProviderSelector, useValue: new ProviderSelector(registry, providerOptions) },
      ComplexityRouter,
      SessionTraffic,
    ],
  }).compile();
  const select = moduleRef.get(SessionTraffic);
  return async (
    input: Partial<CreateSessionInput>,
    id = 'session-1',
    needs: 'multimodal'[] = [],
  ) => {
    const choice = await select.select({ query: SIMPLE, ...input }, needs, id);
    const [first] = choice.selection.candidates;
    return { ...choice, to: `${first.provider.name}/${first.model.id}` };
  };
}

describe('SessionTraffic', () => {
  describe('routing by complexity', () => {
    it('gives a session that names no model its tier model: haiku for a question, opus for a refactor', async () => {
      const select = await traffic();
      expect(await select({ query: SIMPLE })).toMatchObject({
        to: 'claude/haiku-1',
        routing: { tier: 'simple', score: -2, reason: 'a question (-2)' },
      });
      // The filter of `refactors` takes sessions that leave the choice to the server: named, it does not.
      expect(await select({ query: COMPLEX, provider: 'claude' })).toMatchObject({
        to: 'claude/opus-1',
        routing: { tier: 'complex' },
      });
    });

    it('a tier left out keeps the default model; a named model is never routed', async () => {
      const select = await traffic();
      const standard = await select({ query: 'Write a parser' });
      expect(standard).toMatchObject({
        to: 'claude/sonnet-1',
        routing: {
          tier: 'standard',
          reason: 'asks to write (+1); no model for tier standard: the default model',
        },
      });
      expect(await select({ query: COMPLEX, model: 'sonnet' })).toEqual({
        to: 'claude/sonnet-1',
        selection: expect.any(Object),
        keepsId: false,
      });
    });

    it('a named provider keeps its default model when it does not serve the tier model', async () => {
      const select = await traffic();
      const local = await select({ provider: 'local' });
      expect(local.to).toBe('local/qwen-1');
      expect(local.routing?.reason).toBe(
        'a question (-2); local does not serve haiku: its default model',
      );
    });

    it('a tier model that cannot take the session (images) leaves the choice to the server, and says so', async () => {
      const select = await traffic();
      const eyes = await select({}, 'session-1', ['multimodal']);
      expect(eyes.to).toBe('local/qwen-1');
      expect(eyes.routing?.reason).toMatch(/; haiku cannot take it \(.*\): the server's choice$/);
    });
  });

  describe("an operator's classifier (COMPLEXITY_CLASSIFIER)", () => {
    it('chooses the tier instead of the scorer, with its own score and reason', async () => {
      const seen: unknown[] = [];
      const select = await traffic((request) => {
        seen.push(request);
        return { tier: 'complex', score: 0.93, reason: 'looks hard' };
      });
      expect(await select({ query: SIMPLE, owner: 'alice' })).toMatchObject({
        to: 'claude/opus-1',
        routing: { tier: 'complex', score: 0.93, reason: 'looks hard' },
      });
      expect(seen).toEqual([
        { text: SIMPLE, attachments: 0, owner: 'alice', tiers: ['simple', 'complex'] },
      ]);
    });

    it.each<[string, ComplexityClassifier, RegExp]>([
      [
        'throws',
        () => {
          throw new Error('model down');
        },
        /^the classifier failed; the default model$/,
      ],
      [
        'rejects',
        () => Promise.reject(new Error('503')),
        /^the classifier failed; the default model$/,
      ],
      [
        'answers an unknown tier',
        () => ({ tier: 'huge' }),
        /^the classifier answered tier "huge", not one of simple, complex; /,
      ],
      [
        'answers no object',
        () => 'complex' as never,
        /^the classifier answered "complex", not \{ tier, score\?, reason\? \}; /,
      ],
      [
        'answers a bad score',
        () => ({ tier: 'simple', score: 'high' }) as never,
        /answered score "high", not a number/,
      ],
    ])('that %s gives the default model, and the session starts', async (_, classifier, reason) => {
      const select = await traffic(classifier);
      const choice = await select({ query: COMPLEX, provider: 'claude' });
      expect(choice.to).toBe('claude/sonnet-1');
      expect(choice.routing).toEqual({ tier: 'default', reason: expect.stringMatching(reason) });
    });

    it('that does not answer in time gives the default model', async () => {
      jest.useFakeTimers();
      try {
        const select = await traffic(() => new Promise(() => undefined));
        const choice = select({ provider: 'claude' });
        await jest.advanceTimersByTimeAsync(CLASSIFIER_TIMEOUT_MS);
        expect((await choice).routing?.reason).toBe(
          'the classifier did not answer in time; the default model',
        );
      } finally {
        jest.useRealTimers();
      }
    });

    it('reaches the router from a global module, as an app provides it', async () => {
      @Global()
      @Module({
        providers: [{ provide: COMPLEXITY_CLASSIFIER, useValue: () => ({ tier: 'complex' }) }],
        exports: [COMPLEXITY_CLASSIFIER],
      })
      class ClassifierModule {}
      @Module({
        providers: [
          { provide: SESSIONS_MODULE_OPTIONS, useValue: { traffic: TRAFFIC } },
          ComplexityRouter,
        ],
        exports: [ComplexityRouter],
      })
      class RouterModule {}
      const moduleRef = await Test.createTestingModule({
        imports: [ClassifierModule, RouterModule],
      }).compile();
      const routed = await moduleRef.get(ComplexityRouter).route(SIMPLE, undefined, 's');
      expect(routed?.target).toEqual({ provider: 'claude', model: 'opus' });
    });

    it('can be replaced at run time with setClassifier, and removed', async () => {
      const moduleRef = await Test.createTestingModule({
        providers: [
          {
            provide: SESSIONS_MODULE_OPTIONS,
            useValue: { traffic: TRAFFIC } as Partial<SessionsModuleOptions>,
          },
          ComplexityRouter,
        ],
      }).compile();
      const router = moduleRef.get(ComplexityRouter);
      router.setClassifier(() => ({ tier: 'complex' }));
      expect((await router.route(SIMPLE, undefined, 's'))?.routing.tier).toBe('complex');
      router.setClassifier(null);
      expect((await router.route(SIMPLE, undefined, 's'))?.routing.tier).toBe('simple');
    });
  });

  describe('experiments', () => {
    it('a named experiment: its arm replaces the provider and model, the same for all of an owner’s sessions', async () => {
      const select = await traffic();
      const arms = new Set<string>();
      for (const id of ['s1', 's2', 's3']) {
        const choice = await select({ experiment: 'models', owner: 'alice', model: 'opus' }, id);
        expect(choice.routing).toBeUndefined();
        expect(choice.keepsId).toBe(false);
        arms.add(`${choice.experiment?.arm} ${choice.to}`);
      }
      expect(arms.size).toBe(1);
      expect([...arms][0]).toMatch(/^a scripted\/scripted-1$|^b scripted\/scripted-process-1$/);
    });

    it('an unknown one is EXPERIMENT_NOT_FOUND', async () => {
      const select = await traffic();
      await expect(select({ experiment: 'nope' })).rejects.toMatchObject({
        code: 'EXPERIMENT_NOT_FOUND',
        message: "No experiment 'nope' is configured",
      });
    });

    it('a filter takes sessions that name nothing; an arm without a model is routed; sticky by session keeps the id', async () => {
      const select = await traffic();
      const taken = await select({ query: COMPLEX, owner: 'bob' }, 'id-7');
      expect(taken).toMatchObject({
        experiment: { name: 'refactors', arm: 'local' },
        keepsId: true,
        to: 'local/qwen-1',
        routing: { tier: 'complex', reason: expect.stringMatching(/local does not serve opus/) },
      });
      expect((await select({ query: COMPLEX, model: 'sonnet' })).experiment).toBeUndefined();
      expect((await select({ query: SIMPLE })).experiment).toBeUndefined();
    });
  });
});
