/** End-to-end tests: the real app and the real agent CLIs against fake model servers in test/fixtures. */
const base = require('../jest.config.js');

module.exports = {
  ...base,
  rootDir: `${__dirname}/..`,
  roots: ['<rootDir>/test'],
  testRegex: '\\.e2e-spec\\.ts$',
  // Suites that start OpenCode servers run one at a time; the rest beside them (npm run test:e2e).
  testSequencer: '<rootDir>/test/e2e-sequencer.js',
  setupFilesAfterEnv: ['<rootDir>/test/support/one-opencode-at-a-time.js'],
  // Two suites run at once (npm run test:e2e): a test that starts several real agents (OpenCode's take
  // 10-20 s each on a busy 2-core machine) gets room; a hang still fails.
  testTimeout: 120_000,
};
