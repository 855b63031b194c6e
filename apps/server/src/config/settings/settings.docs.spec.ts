import { settingsMarkdown } from '@jelmore/contracts';
import { CODEX_SETTINGS, GEMINI_SETTINGS } from '@jelmore/providers';
import { expectGeneratedSection } from '../../../../../test/support/generated-docs';
import { JELMORE_SETTINGS } from '.';

describe('generated docs: configuration', () => {
  it('docs/configuration.md lists every setting of the server and of the providers', () => {
    const providers = [
      ['codex', CODEX_SETTINGS],
      ['gemini', GEMINI_SETTINGS],
    ] as const;
    const content = [
      settingsMarkdown(JELMORE_SETTINGS),
      ...providers.flatMap(([name, table]) => [
        `### ${name}\n\nRead by the provider's folder (libs/providers/src/${name}), from \`JELMORE_${name.toUpperCase()}_*\` and \`providers.${name}\` of the file; see [${name}](providers/${name}.md).`,
        settingsMarkdown(table, `providers.${name}.`),
      ]),
    ].join('\n\n');
    expectGeneratedSection('docs/configuration.md', 'settings', content);
  });

  it('every setting has a meaning, and a secret is never read from the file', () => {
    for (const table of [JELMORE_SETTINGS, CODEX_SETTINGS, GEMINI_SETTINGS]) {
      for (const [field, setting] of Object.entries(table)) {
        expect({ field, description: !!setting.description }).toEqual({ field, description: true });
        if (setting.secret)
          expect({ field, file: setting.file }).toEqual({ field, file: undefined });
      }
    }
  });
});
