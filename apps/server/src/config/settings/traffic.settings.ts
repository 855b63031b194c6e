import type { SettingsTable } from '@jelmore/contracts';

/** Traffic policies: loaded and checked by ../policies (their own parsers); rows here for the docs. */
export const TRAFFIC_SETTINGS: SettingsTable = {
  routing: {
    env: 'JELMORE_ROUTING',
    file: 'routing',
    custom: true,
    defaultText: 'none',
    description:
      'Routing by complexity, e.g. `{"complexity": {"tiers": {"simple": "haiku", "complex": "opus"}}}` (the variable: as JSON): see [Routing by complexity](selection.md#routing-by-complexity).',
  },
  experiments: {
    file: 'experiments',
    custom: true,
    defaultText: 'none',
    description:
      'A/B experiments by name, e.g. `{"ab": {"arms": [{"model": "sonnet", "weight": 4}, {"model": "opus", "weight": 1}]}}`: see [Experiments](selection.md#experiments).',
  },
};
