#!/usr/bin/env node
'use strict';
// The `jelmore` bin of the root package.json. It runs the compiled CLI, which `npm run build` (and
// `npm test`) produce, so that the CLI needs no TypeScript runtime.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..', '..', '..');
const main = join(root, 'dist', 'apps', 'cli', 'src', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`jelmore: the CLI is not built yet: run \`npm run build\` in ${root}\n`);
  process.exit(1);
}
require(main);
