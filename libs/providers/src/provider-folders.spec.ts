import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentProvider } from './agent-provider.decorator';
import { ClaudeCodeProvider } from './claude/claude.provider';
import { OpencodeProvider } from './opencode/opencode.provider';
import { providerFolderClasses } from './provider-folders';
import { ScriptedProvider } from './scripted/scripted.provider';

const DECORATOR = require.resolve('./agent-provider.decorator');

describe('providerFolderClasses', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'jelmore-folders-'));
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** A provider folder written as a plain module, as a new provider's folder would be. */
  function folder(name: string, files: Record<string, string>): void {
    mkdirSync(join(root, name));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(root, name, file), text);
  }

  const providerSource = (name: string) => `
    const { AgentProvider } = require(${JSON.stringify(DECORATOR)});
    class Provider {}
    AgentProvider(${JSON.stringify(name)})(Provider);
    exports.Provider = Provider;
    exports.helper = () => 1;
    exports.NAME = ${JSON.stringify(name)};
  `;

  it('finds the built-in providers in this library through their folders', () => {
    const classes = providerFolderClasses();
    expect(classes).toEqual(
      expect.arrayContaining([ClaudeCodeProvider, OpencodeProvider, ScriptedProvider]),
    );
    const names = classes.map((cls) => Reflect.getMetadata(AgentProvider.KEY, cls) as string);
    expect(new Set(names).size).toBe(names.length);
  });

  it('loads each folder`s *.provider file by name order, ignoring other files and folders', () => {
    folder('zeta', { 'zeta.provider.ts': providerSource('zeta') });
    folder('alpha', {
      'alpha.provider.ts': providerSource('alpha'),
      // Specs, maps, the other build's files and files of other kinds are not providers.
      'alpha.provider.spec.ts': 'throw new Error("a spec must not load");',
      'alpha.provider.js': 'throw new Error("the .js twin must not load from sources");',
      'alpha.session.ts': 'throw new Error("only *.provider files load");',
    });
    folder('process', { 'agent-process.ts': 'throw new Error("not a provider folder");' });
    folder('__fixtures__', { 'x.provider.ts': 'throw new Error("fixtures are not providers");' });
    writeFileSync(join(root, 'loose.provider.ts'), 'throw new Error("only folders are scanned");');

    const names = providerFolderClasses(root).map(
      (cls) => Reflect.getMetadata(AgentProvider.KEY, cls) as string,
    );

    expect(names).toEqual(['alpha', 'zeta']);
  });

  it('fails loudly for a *.provider file without a decorated class', () => {
    folder('broken', { 'broken.provider.ts': 'exports.NotAProvider = class {};' });

    expect(() => providerFolderClasses(root)).toThrow(
      /broken\/broken\.provider\.ts exports no class decorated with @AgentProvider/,
    );
  });
});
