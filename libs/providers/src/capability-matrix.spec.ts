import { tmpdir } from 'node:os';
import { expectGeneratedSection } from '../../../test/support/generated-docs';
import { capabilityMatrix } from './capability-matrix';
import { DEFAULT_CLAUDE_OPTIONS } from './claude/claude.options';
import { DEFAULT_OPENCODE_OPTIONS } from './opencode/opencode.options';
import { providerFolderClasses } from './provider-folders';
import type { ProvidersModuleOptions } from './providers.options';
import { DEFAULT_CIRCUIT_OPTIONS } from './selection/circuit-breaker';

describe('generated docs: the capability matrix', () => {
  it('in the README is what the built-in providers declare', () => {
    const options: ProvidersModuleOptions = {
      defaultProvider: 'claude',
      loadBalancing: false,
      costOptimization: false,
      circuit: DEFAULT_CIRCUIT_OPTIONS,
      dataDir: tmpdir(),
      claude: DEFAULT_CLAUDE_OPTIONS,
      opencode: DEFAULT_OPENCODE_OPTIONS,
      scripted: { enabled: true, maxConcurrentSessions: 100 },
      env: {},
    };
    const providers = providerFolderClasses().map((Provider) => new Provider(options));
    const matrix = capabilityMatrix(providers);
    expect(matrix).toContain('`claude`');
    expectGeneratedSection('README.md', 'capabilities', matrix);
  });
});
