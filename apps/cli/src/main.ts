import { buildProgram } from './program';

// The `jelmore` bin (apps/cli/bin/jelmore.js) loads this file from the build.
buildProgram({ out: process.stdout, err: process.stderr }, process.env)
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(`jelmore: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
