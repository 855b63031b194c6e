import type { Type } from '@nestjs/common';
import { readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { AgentProviderPort } from '@jelmore/contracts';
import type { AcpPreset } from './acp/acp-preset';
import { AgentProvider } from './agent-provider.decorator';

/** `<name>.provider.ts` from sources (jest, swc), `<name>.provider.js` from the tsc build; never a spec or a map. */
const PROVIDER_FILE = /^[\w-]+\.provider\.(ts|js)$/;
/** `<name>.acp-preset.ts`: a folder's agent as a built-in ACP provider (see AcpPreset). */
const PRESET_FILE = /^[\w-]+\.acp-preset\.(ts|js)$/;

/**
 * The `@AgentProvider` classes exported by the `*.provider.ts` file of each folder under `root` (this
 * library's own source or build folder), sorted by folder name so the order does not depend on the disk.
 * Adding a provider is adding a folder: nothing else names it. Needs the folder layout at run time (the
 * tsc build keeps it; a single-file bundle would not).
 */
export function providerFolderClasses(root: string = __dirname): Type<AgentProviderPort>[] {
  // Under jest both .ts sources exist and nothing else; in dist only .js. Load the kind this file is.
  const ext = extname(__filename) === '.ts' ? '.ts' : '.js';
  const classes: Type<AgentProviderPort>[] = [];
  for (const folder of folderNames(root)) {
    const files = readdirSync(join(root, folder))
      .filter((file) => PROVIDER_FILE.test(file) && extname(file) === ext)
      .sort();
    for (const file of files) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- discovery loads what is on disk.
      const exported = require(join(root, folder, file)) as Record<string, unknown>;
      const found = Object.values(exported).filter(isAgentProviderClass);
      if (found.length === 0) {
        throw new Error(
          `${folder}/${file} exports no class decorated with @AgentProvider('name'): a *.provider file must`,
        );
      }
      classes.push(...found);
    }
  }
  return classes;
}

function folderNames(root: string): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('_'))
    .map((entry) => entry.name)
    .sort();
}

function isAgentProviderClass(value: unknown): value is Type<AgentProviderPort> {
  return typeof value === 'function' && Reflect.getMetadata(AgentProvider.KEY, value) !== undefined;
}

/** The names of the providers of this library's folders: built in, needing no config entry. */
export function builtInProviderNames(): string[] {
  return [
    ...providerFolderClasses().map((cls) => Reflect.getMetadata(AgentProvider.KEY, cls) as string),
    ...acpPresets().map((preset) => preset.name),
  ];
}

/** The built-in ACP agents: the `acpPreset` export of each folder's `*.acp-preset.ts`, by folder name. */
export function acpPresets(root: string = __dirname): AcpPreset[] {
  const ext = extname(__filename) === '.ts' ? '.ts' : '.js';
  const presets: AcpPreset[] = [];
  for (const folder of folderNames(root)) {
    for (const file of readdirSync(join(root, folder)).sort()) {
      if (!PRESET_FILE.test(file) || extname(file) !== ext) continue;
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- discovery loads what is on disk.
      const { acpPreset } = require(join(root, folder, file)) as { acpPreset?: AcpPreset };
      if (!acpPreset) throw new Error(`${folder}/${file} exports no acpPreset`);
      presets.push(acpPreset);
    }
  }
  return presets;
}
