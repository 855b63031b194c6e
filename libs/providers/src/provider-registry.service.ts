import { Inject, Injectable, Logger } from '@nestjs/common';
import { AgentProviderPort, ProviderHealth, ProviderNotFoundError } from '@jelmore/contracts';
import { PROVIDERS_MODULE_OPTIONS } from './providers.module-definition';
import type { ProvidersModuleOptions } from './providers.options';

export type ProviderFactory = () => AgentProviderPort;

interface Entry {
  factory: ProviderFactory;
  instance?: AgentProviderPort;
}

/** Every agent provider by name: discovered at boot, or registered at run time. */
@Injectable()
export class ProviderRegistry {
  private readonly logger = new Logger(ProviderRegistry.name);
  private readonly entries = new Map<string, Entry>();

  constructor(@Inject(PROVIDERS_MODULE_OPTIONS) private readonly options: ProvidersModuleOptions) {}

  /** Adds a provider; its factory runs on first use. A name can be registered once. */
  register(name: string, factory: ProviderFactory): void {
    if (this.entries.has(name)) throw new Error(`Agent provider '${name}' is registered twice`);
    this.entries.set(name, { factory });
    this.logger.log(`Registered agent provider '${name}'`);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The provider's instance; throws ProviderNotFoundError for an unknown name. */
  get(name: string): AgentProviderPort {
    return this.getOrCreate(name);
  }

  getOrCreate(name: string): AgentProviderPort {
    const entry = this.entries.get(name);
    if (!entry) throw new ProviderNotFoundError(name, this.list());
    entry.instance ??= entry.factory();
    return entry.instance;
  }

  list(): string[] {
    return [...this.entries.keys()];
  }

  get defaultProvider(): string {
    return this.options.defaultProvider;
  }

  async healthCheckAll(): Promise<Record<string, ProviderHealth>> {
    const names = this.list();
    const results = await Promise.all(
      names.map(async (name) => {
        try {
          return await this.get(name).healthCheck();
        } catch (err) {
          return {
            healthy: false,
            reason: err instanceof Error ? err.message : String(err),
            checkedAt: new Date().toISOString(),
          };
        }
      }),
    );
    return Object.fromEntries(names.map((name, i) => [name, results[i]]));
  }
}
