import type { AgentProviderPort, ModelInfo, ProviderCapabilities } from '@jelmore/contracts';
import {
  ProviderRegistry,
  ProviderSelector,
  type ProvidersModuleOptions,
} from '@jelmore/providers';
import { selectFor } from './provider-candidates';

/** A provider serving `models`, taking images and PDFs as `takes` says. */
function provider(
  name: string,
  models: string[],
  takes: Partial<ProviderCapabilities>,
  autoSelect = true,
): AgentProviderPort {
  const served: ModelInfo[] = models.map((id) => ({
    id,
    aliases: [],
    provider: name,
    contextWindow: 100_000,
    inputPricePerMTok: 1,
    outputPricePerMTok: 1,
  }));
  return {
    name,
    autoSelect,
    capabilities: {
      streaming: true,
      tools: true,
      fileOperations: true,
      codeExecution: true,
      multimodal: false,
      documents: false,
      continuation: true,
      interrupt: true,
      steer: false,
      fork: false,
      rewind: false,
      warmStart: false,
      directoryTracking: false,
      maxConcurrentSessions: 5,
      maxContextTokens: 100_000,
      ...takes,
    },
    models: () => served,
    resolveModel: (id) => served.find((m) => m.id === (id ?? served[0].id)),
    createSession: () => {
      throw new Error('not used');
    },
    healthCheck: async () => ({ healthy: true, checkedAt: new Date(0).toISOString() }),
    metrics: () => ({ activeSessions: 0, totalSessions: 0, failedSessions: 0 }),
  };
}

function selection() {
  const options = {
    defaultProvider: 'text',
    loadBalancing: false,
    costOptimization: false,
    circuit: { failureThreshold: 3, cooldownMs: 1000 },
  } as ProvidersModuleOptions;
  const registry = new ProviderRegistry(options);
  const providers = [
    provider('text', ['shared', 'text-only'], {}),
    provider('eyes', ['eyes-1'], { multimodal: true }),
    // Chosen only when named, by itself or by a model it serves (like the ACP presets).
    provider('shared-acp', ['shared'], { multimodal: true, documents: true }, false),
  ];
  for (const p of providers) registry.register(p.name, () => p);
  const selector = new ProviderSelector(registry, options);
  return (input: { provider?: string; model?: string }, needs: Array<'multimodal' | 'documents'>) =>
    selectFor(selector, registry, { query: 'q', ...input }, needs);
}

const names = (s: { candidates: Array<{ provider: { name: string } }> }) =>
  s.candidates.map((c) => c.provider.name);

describe('selectFor: the providers a first turn with images or PDFs can go to', () => {
  it('without images, any provider in the usual order', () => {
    expect(names(selection()({}, []))).toEqual(['text', 'eyes']);
  });

  it('with images, only those taking them; with a PDF, only those taking PDFs too', () => {
    const select = selection();
    expect(names(select({}, ['multimodal']))).toEqual(['eyes']);
    expect(names(select({ model: 'shared' }, ['multimodal', 'documents']))).toEqual(['shared-acp']);
  });

  it('a model two providers serve goes to the one that takes the images', () => {
    expect(names(selection()({ model: 'shared' }, ['multimodal']))).toEqual(['shared-acp']);
  });

  it('naming a provider, or a model only such providers serve, that cannot take them is a 400', () => {
    const select = selection();
    expect(() => select({ provider: 'text' }, ['multimodal'])).toThrow(
      expect.objectContaining({
        code: 'MULTIMODAL_UNSUPPORTED',
        details: { provider: 'text', capabilities: ['multimodal'] },
      }),
    );
    expect(() => select({ provider: 'eyes' }, ['multimodal', 'documents'])).toThrow(
      expect.objectContaining({ details: { provider: 'eyes', capabilities: ['documents'] } }),
    );
    expect(() => select({ model: 'text-only' }, ['multimodal'])).toThrow(
      expect.objectContaining({ code: 'MULTIMODAL_UNSUPPORTED' }),
    );
  });
});
