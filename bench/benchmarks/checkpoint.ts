import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as StoreModule from '../../libs/sessions/src/git/checkpoint-store';
import type * as RunnerModule from '../../libs/sessions/src/git/git-runner';
import type * as RepositoryModule from '../../libs/sessions/src/git/repository';
import type { BenchContext } from '../support/context';
import { Measured, metric } from '../support/results';
import { median, percentile, spread } from '../support/stats';

const TARGET_MS = 200;

const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;

async function timed(body: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await body();
  return ms(t0);
}

/** The git layer as built (dist/ resolves the @jelmore/* imports; the bench's tsc output does not). */
async function load(ctx: BenchContext) {
  const root = join(dirname(ctx.build.main), '..', '..', '..', 'libs', 'sessions', 'src', 'git');
  const [store, runner, repository] = await Promise.all([
    import(join(root, 'checkpoint-store.js')) as Promise<typeof StoreModule>,
    import(join(root, 'git-runner.js')) as Promise<typeof RunnerModule>,
    import(join(root, 'repository.js')) as Promise<typeof RepositoryModule>,
  ]);
  return { ...store, ...runner, ...repository };
}

/** `count` files of ~1 KB in nested folders, committed; the index refreshed after the racy second. */
async function makeRepository(dir: string, count: number): Promise<string[]> {
  const paths: string[] = [];
  const line = 'checkpoint benchmark filler text, one line of about sixty-four bytes\n';
  for (let i = 0; i < count; i++) {
    const path = join(`d${i % 20}`, `e${Math.floor(i / 20) % 10}`, `f${i}.txt`);
    mkdirSync(join(dir, dirname(path)), { recursive: true });
    writeFileSync(join(dir, path), `${i}\n${line.repeat(16)}`);
    paths.push(path);
  }
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@localhost', ...args], {
      cwd: dir,
      stdio: 'ignore',
    });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'files');
  // Files written in the index's own second are "racily clean" and hashed again by every command.
  await sleep(1100);
  git('update-index', '--refresh');
  return paths;
}

/**
 * Checkpoints (P13): CheckpointStore.record on a committed repository of 5,000 files of ~1 KB, with
 * nothing changed, with one file changed, and a session's first record (its index seeded from the
 * repository's), against one `git status --porcelain` of the same repository (and the bare cost of
 * spawning git). Rounds alternate between the two sides.
 */
export async function checkpoint(ctx: BenchContext): Promise<Measured> {
  const files = ctx.quick ? 500 : 5000;
  const rounds = ctx.quick ? 3 : 20;
  const { CheckpointStore, GitRunner, findRepository } = await load(ctx);
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'jelmore-bench-checkpoint-')));
  try {
    const work = join(dir, 'repo');
    mkdirSync(work);
    const paths = await makeRepository(work, files);
    const git = new GitRunner();
    const repo = (await findRepository(git, work))!;
    const store = new CheckpointStore(git, join(dir, 'checkpoints'));
    const session = randomUUID();
    let parent = (await store.record(repo, session, 0)).commit; // makes the store, seeds the index
    let turn = 1;
    const record = async () => {
      parent = (await store.record(repo, session, turn++, parent)).commit;
    };

    const status: number[] = [];
    const version: number[] = [];
    const unchanged: number[] = [];
    const oneChanged: number[] = [];
    const first: number[] = [];
    for (let i = 0; i < 2; i++) {
      await git.run(['status', '--porcelain'], { cwd: work }); // warm-up: JIT, page cache
      await record();
    }
    for (let i = 0; i < rounds; i++) {
      const pair = [
        async () => {
          status.push(await timed(() => git.run(['status', '--porcelain'], { cwd: work })));
          version.push(await timed(() => git.run(['--version'])));
        },
        async () => {
          unchanged.push(await timed(record));
          writeFileSync(join(work, paths[(i * 37) % paths.length]), `changed in round ${i}\n`);
          oneChanged.push(await timed(record));
          first.push(await timed(() => store.record(repo, randomUUID(), 0)));
        },
      ];
      if (i % 2) pair.reverse();
      for (const run of pair) await run();
    }
    const p50 = (values: number[]) => percentile(values, 50);
    ctx.log(
      `  ${files} files: git status p50 ${p50(status).toFixed(1)} ms; record p50: unchanged ${p50(unchanged).toFixed(1)} ms, one file changed ${p50(oneChanged).toFixed(1)} ms, first ${p50(first).toFixed(1)} ms`,
    );
    const target = { text: `≤ ${TARGET_MS} ms`, meets: p50(oneChanged) <= TARGET_MS };
    return {
      metrics: [
        metric(
          'record, one file changed, p50 (baseline: git status)',
          'ms',
          p50(status),
          p50(oneChanged),
          target,
        ),
        metric('record, nothing changed, p50', 'ms', p50(status), p50(unchanged), {
          text: `≤ ${TARGET_MS} ms`,
          meets: p50(unchanged) <= TARGET_MS,
        }),
        metric('first record of a session (index seeded), p50', 'ms', p50(status), p50(first)),
        metric(
          'record, one file changed, p90',
          'ms',
          percentile(status, 90),
          percentile(oneChanged, 90),
        ),
        metric('spawn git --version, p50 (baseline) / git status', 'ms', p50(version), p50(status)),
      ],
      runs: { baseline: status, jelmore: oneChanged },
      noise: { baseline: spread(status), jelmore: spread(oneChanged) },
      details: {
        files,
        fileBytes: 16 * 69 + 5,
        rounds,
        gitVersion: (await git.text(['--version'])).trim(),
        medianMs: {
          gitStatus: median(status),
          gitVersion: median(version),
          recordUnchanged: median(unchanged),
          recordOneChanged: median(oneChanged),
          recordFirst: median(first),
        },
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
