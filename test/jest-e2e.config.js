/** End-to-end tests: the real app and the real agent CLIs against fake model servers in test/fixtures. */
const base = require('../jest.config.js');

module.exports = {
  ...base,
  rootDir: `${__dirname}/..`,
  roots: ['<rootDir>/test'],
  testRegex: '\\.e2e-spec\\.ts$',
  testTimeout: 60_000,
};
