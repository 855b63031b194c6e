import { Injectable, Module } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AgentProviderPort,
  AgentSession,
  ErrorCode,
  ModelInfo,
  ModelNotSupportedError,
  ProviderCapabilities,
  ProviderHealth,
  ProviderMetrics,
  ProviderNotFoundError,
  ProviderUnavailableError,
} from '@jelmore/contracts';
import { AgentProvider } from './agent-provider.decorator';
import { ClaudeCodeProvider } from './claude/claude.provider';
import { DEFAULT_CLAUDE_OPTIONS } from './claude/claude.options';
import { DEFAULT_OPENCODE_OPTIONS } from './opencode/opencode.options';
import { DEFAULT_CIRCUIT_OPTIONS } from './selection/circuit-breaker';
import { ProviderSelector } from './selection/provider-selector.service';
import { builtInProviderNames } from './provider-folders';
import { ProviderRegistry } from './provider-registry.service';
import { providerToken } from './providers.constants';
import { ProvidersModule } from './providers.module';

const MISSING_BIN = '/nonexistent/claude';

/** The providers of this library's folders (claude, opencode, scripted, and any added since) plus `extra`. */
/** The folders' providers and ACP presets (built in), plus `extra`. */
function withFolders(...extra: string[]): string[] {
  return [...builtInProviderNames(), ...extra].sort();
}

const FAKE_MODEL: ModelInfo = {
  id: 'fake-1',
  aliases: ['fake'],
  provider: 'fake',
  contextWindow: 1000,
  inputPricePerMTok: 0,
  outputPricePerMTok: 0,
};

@AgentProvider('fake')
@Injectable()
class FakeProvider implements AgentProviderPort {
  readonly name = 'fake';
  readonly capabilities: ProviderCapabilities = {
    streaming: true,
    tools: false,
    fileOperations: false,
    codeExecution: false,
    multimodal: false,
    documents: false,
    continuation: false,
    interrupt: false,
    steer: false,
    warmStart: false,
    directoryTracking: false,
    fork: false,
    rewind: false,
    maxConcurrentSessions: 1,
    maxContextTokens: 1000,
  };

  models(): ModelInfo[] {
    return [FAKE_MODEL];
  }

  resolveModel(model?: string): ModelInfo | undefined {
    return model === undefined || model === 'fake-1' || model === 'fake' ? FAKE_MODEL : undefined;
  }

  createSession(): AgentSession {
    throw new Error('not used in these tests');
  }

  async healthCheck(): Promise<ProviderHealth> {
    return { healthy: true, checkedAt: new Date().toISOString() };
  }

  metrics(): ProviderMetrics {
    return { activeSessions: 0, totalSessions: 0, failedSessions: 0 };
  }
}

/** Declares the fake in a module of its own: the registry must find it by discovery alone. */
@Module({ providers: [FakeProvider] })
class FakeProviderModule {}

describe('ProviderRegistry in ProvidersModule', () => {
  let dataDir: string;
  let module: TestingModule | undefined;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'jelmore-providers-'));
  });

  afterEach(async () => {
    await module?.close();
    module = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  function forRoot(extra: { providers?: (typeof FakeProvider)[] } = {}) {
    return ProvidersModule.forRoot({
      defaultProvider: 'fake',
      dataDir,
      claude: { ...DEFAULT_CLAUDE_OPTIONS, bin: MISSING_BIN },
      opencode: DEFAULT_OPENCODE_OPTIONS,
      scripted: { enabled: false, maxConcurrentSessions: 1 },
      loadBalancing: false,
      costOptimization: false,
      circuit: DEFAULT_CIRCUIT_OPTIONS,
      ...extra,
    });
  }

  async function boot(imports: Parameters<typeof Test.createTestingModule>[0]['imports']) {
    module = await Test.createTestingModule({ imports }).compile();
    module.useLogger(false);
    await module.init();
    return module;
  }

  describe('with a fake provider declared in another module', () => {
    let registry: ProviderRegistry;

    beforeEach(async () => {
      const app = await boot([forRoot(), FakeProviderModule]);
      registry = app.get(ProviderRegistry);
    });

    it('lists the built-in claude provider and the discovered fake', () => {
      expect(registry.list().sort()).toEqual(withFolders('fake'));
      expect(registry.list()).toEqual(expect.arrayContaining(['claude', 'opencode', 'scripted']));
      expect(registry.has('fake')).toBe(true);
    });

    it('returns the decorated instance for its name', () => {
      const fake = registry.get('fake');
      expect(fake).toBeInstanceOf(FakeProvider);
      expect(fake).toBe(module!.get(FakeProvider));
    });

    it('injects the built-in provider by providerToken("claude")', () => {
      const byToken = module!.get<ClaudeCodeProvider>(providerToken('claude'));
      expect(byToken).toBeInstanceOf(ClaudeCodeProvider);
      expect(byToken).toBe(registry.get('claude'));
      expect(byToken).toBe(module!.get(ClaudeCodeProvider));
    });

    it('registers a provider at run time and builds it once, on first use', () => {
      const late = new FakeProvider();
      const factory = jest.fn(() => late);

      registry.register('late', factory);
      expect(registry.list()).toContain('late');
      expect(factory).not.toHaveBeenCalled();

      expect(registry.get('late')).toBe(late);
      expect(registry.get('late')).toBe(late);
      expect(factory).toHaveBeenCalledTimes(1);
    });

    it('refuses a name registered twice', () => {
      expect(() => registry.register('claude', () => new FakeProvider())).toThrow(
        /'claude' is registered twice/,
      );
      registry.register('late', () => new FakeProvider());
      expect(() => registry.register('late', () => new FakeProvider())).toThrow();
      // The first registration stays.
      expect(registry.get('claude')).toBeInstanceOf(ClaudeCodeProvider);
    });

    it('throws ProviderNotFoundError (PROVIDER_NOT_FOUND) for an unknown name', () => {
      let caught: unknown;
      try {
        registry.get('nope');
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ProviderNotFoundError);
      expect(caught).toMatchObject({ code: ErrorCode.ProviderNotFound });
      expect(ErrorCode.ProviderNotFound).toBe('PROVIDER_NOT_FOUND');
      expect((caught as Error).message).toMatch(/'nope'.*claude/);
    });

    it('selects by model alias, and skips claude while its binary is missing', () => {
      const selector = module!.get(ProviderSelector);
      expect(selector.candidates({ model: 'fake-1' })[0].provider).toBe(registry.get('fake'));
      // opus is claude's alone, and claude is unhealthy: nothing can serve it, and the error says why.
      expect(() => selector.candidates({ model: 'opus' })).toThrow(
        expect.objectContaining({
          code: 'PROVIDER_UNAVAILABLE',
          message: expect.stringContaining(MISSING_BIN),
        }),
      );
      const byDefault = selector.candidates({})[0];
      expect(byDefault.provider).toBe(registry.get('fake'));
      expect(byDefault.model).toBe(FAKE_MODEL);
    });

    it('uses the claude default model when only the provider is named', () => {
      const selector = module!.get(ProviderSelector);
      expect(selector.candidates({ provider: 'claude' })[0].model.id).toBe('claude-sonnet-5-5');
      expect(selector.candidates({ provider: 'claude', model: 'opus' })[0].model.id).toBe(
        'claude-opus-5-5',
      );
    });

    it('rejects a model the named provider does not serve with MODEL_NOT_SUPPORTED', () => {
      const selector = module!.get(ProviderSelector);
      expect(() => selector.candidates({ provider: 'claude', model: 'gpt-4' })).toThrow(
        ModelNotSupportedError,
      );
      expect(() => selector.candidates({ provider: 'claude', model: 'gpt-4' })).toThrow(
        expect.objectContaining({ code: 'MODEL_NOT_SUPPORTED', model: 'gpt-4' }),
      );
      expect(() => selector.candidates({ model: 'gpt-4' })).toThrow(ModelNotSupportedError);
      expect(() => selector.candidates({ provider: 'nope', model: 'opus' })).toThrow(
        ProviderNotFoundError,
      );
    });

    it('passes a dated claude model id through', () => {
      const choice = module!
        .get(ProviderSelector)
        .candidates({ provider: 'claude', model: 'claude-3-5-sonnet-20241022' })[0];
      expect(choice.provider).toBe(registry.get('claude'));
      expect(choice.model.id).toBe('claude-3-5-sonnet-20241022');
    });

    it('reports claude unhealthy with the missing path, and the fake healthy', async () => {
      const health = await registry.healthCheckAll();

      expect(Object.keys(health).sort()).toEqual(withFolders('fake'));
      expect(health.fake.healthy).toBe(true);
      expect(health.claude.healthy).toBe(false);
      expect(health.claude.reason).toContain(MISSING_BIN);
      // No model endpoint configured: opencode says so instead of starting a server.
      expect(health.opencode).toMatchObject({ healthy: false });
      expect(health.opencode.reason).toContain('JELMORE_OPENCODE_BASE_URL');
      expect(Number.isNaN(Date.parse(health.claude.checkedAt))).toBe(false);
    });

    it('reports a provider whose health check throws as unhealthy instead of failing', async () => {
      const broken = new FakeProvider();
      broken.healthCheck = () => Promise.reject(new Error('socket hang up'));
      registry.register('broken', () => broken);

      const health = await registry.healthCheckAll();
      expect(health.broken).toMatchObject({ healthy: false, reason: 'socket hang up' });
      expect(health.fake.healthy).toBe(true);
    });

    it('refuses claude sessions with ProviderUnavailableError while the binary is missing', () => {
      const claude = registry.get('claude');
      let caught: unknown;
      try {
        claude.createSession({ sessionId: 's1', cwd: dataDir });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ProviderUnavailableError);
      expect(caught).toMatchObject({ code: ErrorCode.ProviderUnavailable });
      expect((caught as Error).message).toContain(MISSING_BIN);
      expect(claude.metrics()).toEqual({ activeSessions: 0, totalSessions: 0, failedSessions: 0 });
    });
  });

  it('declares the by-name token for classes given in forRoot({ providers })', async () => {
    const app = await boot([forRoot({ providers: [FakeProvider] })]);
    const registry = app.get(ProviderRegistry);

    const byToken = app.get<FakeProvider>(providerToken('fake'));
    expect(byToken).toBeInstanceOf(FakeProvider);
    expect(byToken).toBe(app.get(FakeProvider));
    expect(registry.get('fake')).toBe(byToken);
    // The useExisting alias carries the decorator metadata too; it must not register 'fake' twice.
    expect(registry.list().sort()).toEqual(withFolders('fake'));
  });

  it('fails at init when two classes claim the same provider name', async () => {
    @AgentProvider('fake')
    @Injectable()
    class OtherFake extends FakeProvider {}

    @Module({ providers: [OtherFake] })
    class OtherFakeModule {}

    await expect(boot([forRoot(), FakeProviderModule, OtherFakeModule])).rejects.toThrow(
      /'fake' is registered twice/,
    );
  });
});
