import { settingsMarkdown, type SettingsTable } from '@jelmore/contracts';
import { expectGeneratedSection } from '../../../../test/support/generated-docs';
import { CLUSTER_SETTINGS } from '../config/settings/cluster.settings';

/** The rows of CLUSTER_SETTINGS whose field passes `keep`, in the table's order. */
const rows = (keep: (field: string) => boolean): SettingsTable =>
  Object.fromEntries(Object.entries(CLUSTER_SETTINGS).filter(([field]) => keep(field)));
const isNats = (field: string) => field.startsWith('nats');

describe('generated docs: cluster', () => {
  it('docs/cluster.md lists the cluster and the NATS settings the server declares', () => {
    expectGeneratedSection(
      'docs/cluster.md',
      'cluster-settings',
      settingsMarkdown(rows((field) => !isNats(field))),
    );
    expectGeneratedSection('docs/cluster.md', 'nats-settings', settingsMarkdown(rows(isNats)));
  });
});
