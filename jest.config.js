/** Unit tests: *.spec.ts beside the code. swc transforms TS and the ESM-only Nest packages (see TOOLCHAIN.md). */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];

module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs'],
  testRegex: '\\.spec\\.ts$',
  // Specs that start real agent CLIs share the two cores with a second worker (npm run test:unit): 5 s
  // is too tight for a start on a busy machine, and a hang still fails.
  testTimeout: 20_000,
  transform: { '^.+\\.(t|j)s$': swc },
  transformIgnorePatterns: [
    '/node_modules/(?!(@agentclientprotocol|zod|@nestjs|kysely|file-type|@standard-schema|uid|load-esm|strtok3|token-types|@tokenizer|@borewit|uint8array-extras)/)',
  ],
  moduleNameMapper: {
    '^@jelmore/(client|contracts|providers|sessions)$': '<rootDir>/libs/$1/src',
    '^@jelmore/(client|contracts|providers|sessions)/(.*)$': '<rootDir>/libs/$1/src/$2',
  },
};
