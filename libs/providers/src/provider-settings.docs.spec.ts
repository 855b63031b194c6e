import { settingsMarkdown } from '@jelmore/contracts';
import { expectGeneratedSection } from '../../../test/support/generated-docs';
import { ACP_SETTINGS } from './acp/acp.options';
import { CODEX_SETTINGS } from './codex/codex.settings';
import { GEMINI_SETTINGS } from './gemini/gemini.options';

describe('generated docs: provider pages', () => {
  it.each([
    ['codex', CODEX_SETTINGS],
    ['gemini', GEMINI_SETTINGS],
  ] as const)('docs/providers/%s.md lists the settings its folder declares', (name, table) => {
    expectGeneratedSection(
      `docs/providers/${name}.md`,
      'settings',
      settingsMarkdown(table, `providers.${name}.`),
    );
  });

  it('docs/providers/acp.md lists the keys of an ACP entry', () => {
    expectGeneratedSection(
      'docs/providers/acp.md',
      'acp-settings',
      settingsMarkdown(ACP_SETTINGS, 'providers.<name>.'),
    );
  });
});
