import { tmpdir } from 'node:os';
import { expectGeneratedSection } from '../../../test/support/generated-docs';
import { capabilityMatrix } from './capability-matrix';
import { DEFAULT_CLAUDE_OPTIONS } from './claude/claude.options';
import { DEFAULT_OPENCODE_OPTIONS } from './opencode/opencode.options';
import { acpPresets, providerFolderClasses } from './provider-folders';
import { sharedSandbox } from './process/agent-sandbox';
import type { ProvidersModuleOptions } from './providers.options';
import { DEFAULT_CIRCUIT_OPTIONS } from './selection/circuit-breaker';

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

/** The folders' providers, then the built-in ACP routes (as GET /v1/providers lists them). */
const builtIn = () => [
  ...providerFolderClasses().map((Provider) => new Provider(options)),
  ...acpPresets().map((preset) =>
    preset.create(options, sharedSandbox({ mode: 'off', network: 'host' })),
  ),
];

/** The matrix as rows of cells by column name, keyed by provider name. */
function parse(matrix: string): Map<string, Record<string, string>> {
  const [header, , ...rows] = matrix.split('\n').map((line) =>
    line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim()),
  );
  return new Map(
    rows.map((cells) => {
      expect(cells).toHaveLength(header.length);
      return [cells[0].replace(/`/g, ''), Object.fromEntries(header.map((h, i) => [h, cells[i]]))];
    }),
  );
}

describe('generated docs: the capability matrix', () => {
  it('in the README is what the built-in providers declare', () => {
    const matrix = capabilityMatrix(builtIn());
    expect(matrix).toContain('`claude`');
    expect(matrix).toContain('`opencode-acp`');
    expectGeneratedSection('README.md', 'capabilities', matrix);
  });
});

describe('the capability matrix', () => {
  it('has a column for each flag, with what each provider declares', () => {
    const rows = parse(capabilityMatrix(builtIn()));
    const claude = rows.get('claude')!;
    expect(claude).toMatchObject({
      Interrupt: 'yes',
      Steer: '—',
      Resume: 'yes',
      'Warm start': 'yes',
      'Directory tracking': 'yes',
      Fork: 'yes',
      Rewind: 'yes',
      'Permission policies': 'bypass, ask, deny-writes',
    });
    for (const provider of builtIn()) {
      const row = rows.get(provider.name)!;
      const c = provider.capabilities;
      const cells = [c.interrupt, c.steer, c.continuation, c.warmStart, c.fork, c.rewind];
      expect([
        row.Interrupt,
        row.Steer,
        row.Resume,
        row['Warm start'],
        row.Fork,
        row.Rewind,
      ]).toEqual(cells.map((flag) => (flag ? 'yes' : '—')));
    }
    // No built-in provider takes input mid-turn: input mode steer is refused on each.
    expect([...rows.values()].map((row) => row.Steer)).toEqual([...rows.keys()].map(() => '—'));
  });
});
