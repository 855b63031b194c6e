import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, FileChange, NotFoundError } from '@jelmore/contracts';
import { indexOf, openStore, refsOf, turnRef, workEnv } from './checkpoint-layout';
import { GitRunner } from './git-runner';
import type { Repository } from './repository';
import { countPaths, DIFF_TREE, parseRawNumstat, PATCH, RAW_NUMSTAT } from './tree-diff';

const AUTHOR = {
  GIT_AUTHOR_NAME: 'Jelmore',
  GIT_AUTHOR_EMAIL: 'jelmore@localhost',
  GIT_COMMITTER_NAME: 'Jelmore',
  GIT_COMMITTER_EMAIL: 'jelmore@localhost',
};

type Repo = Pick<Repository, 'topLevel' | 'commonDir' | 'gitDir'>;

/**
 * Checkpoints of sessions' files as commits in a private bare repository per user repository,
 * `<storeRoot>/<hash of its git dir>.git`, borrowing the user's objects (alternates) so unchanged files
 * cost nothing. The user's repository is only read: its HEAD, index, refs and config are untouched (no
 * config of its runs anything), and agents, who may see its .git, see no checkpoint of another session.
 * Each session snapshots through an index file of its own; refs are `refs/jelmore/<id>/turn-<n>`.
 */
export class CheckpointStore {
  private readonly stores = new Map<string, Promise<string>>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Each session's latest checkpoint (by index file), to spare looking its tree up again. */
  private readonly last = new Map<string, { commit: string; tree: string }>();

  constructor(
    private readonly git: GitRunner,
    private readonly storeRoot: string,
  ) {}

  /** The tree of the repository's files now: tracked and untracked, not ignored. */
  async snapshot(repo: Repo, sessionId: string): Promise<string> {
    const store = await this.storeOf(repo);
    const index = indexOf(store, sessionId);
    return this.serial(index, () => this.writeTree(store, repo, index));
  }

  /**
   * Records the files now as turn `turn`'s checkpoint; `filesChanged` counts from `parent`'s. Files
   * unchanged since `parent`: the turn's checkpoint is `parent` itself (half the git commands).
   */
  async record(
    repo: Repo,
    sessionId: string,
    turn: number,
    parent?: string,
  ): Promise<{ commit: string; filesChanged: number }> {
    const store = await this.storeOf(repo);
    const index = indexOf(store, sessionId);
    const last = this.last.get(index);
    const [tree, parentTree] = await Promise.all([
      this.snapshot(repo, sessionId),
      parent === undefined || parent === last?.commit ? last?.tree : this.treeOf(store, parent),
    ]);
    let commit = parent ?? '';
    let filesChanged = 0;
    if (parent === undefined || tree !== parentTree) {
      [commit, filesChanged] = await Promise.all([
        this.commit(store, tree, `turn ${turn}`, parent),
        parent === undefined || parentTree === undefined
          ? 0
          : this.changedPaths(store, parentTree, tree),
      ]);
    }
    await this.inStore(store, ['update-ref', turnRef(sessionId, turn), commit]);
    this.last.set(index, { commit, tree });
    return { commit, filesChanged };
  }

  /** What changed from `from` (a checkpoint's commit or tree) to `to`; `'worktree'`: the files now. */
  async diff(
    repo: Repo,
    sessionId: string,
    from: string,
    to: string,
  ): Promise<{ files: FileChange[]; patch: string }> {
    const store = await this.storeOf(repo);
    const end = to === 'worktree' ? await this.snapshot(repo, sessionId) : to;
    const [raw, patch] = await Promise.all([
      this.inStore(store, [...RAW_NUMSTAT, '--end-of-options', from, end]),
      this.inStore(store, [...PATCH, '--end-of-options', from, end]),
    ]);
    return { files: parseRawNumstat(raw.stdout), patch: patch.stdout.toString('utf8') };
  }

  /**
   * Makes the files equal to checkpoint `commit`'s: those that differ are rewritten, those made since
   * are deleted, ignored ones stay. The files as they were are kept as `refs/jelmore/<id>/pre-rewind`.
   */
  async restore(repo: Repo, sessionId: string, commit: string): Promise<{ filesChanged: number }> {
    const store = await this.storeOf(repo);
    const index = indexOf(store, sessionId);
    return this.serial(index, async () => {
      const target = await this.checkpointTree(store, commit);
      const current = await this.writeTree(store, repo, index);
      const kept = await this.commit(store, current, 'before rewind');
      await this.inStore(store, ['update-ref', `${refsOf(sessionId)}pre-rewind`, kept]);
      return { filesChanged: await this.checkout(store, repo, index, current, target) };
    });
  }

  /**
   * Writes checkpoint `commit` (of a session of `from`) into the working tree of `into`, another
   * worktree of the same repository (a fork's, fresh from the parent's base commit).
   */
  async materialize(from: Repo, commit: string, into: Repo): Promise<{ filesChanged: number }> {
    const store = await this.storeOf(from);
    if ((await this.storeOf(into)) !== store) {
      throw new Error(`${into.topLevel} is no worktree of the repository of ${from.topLevel}`);
    }
    const target = await this.checkpointTree(store, commit);
    const index = join(store, 'jelmore', `materialize-${randomUUID()}.index`);
    try {
      const current = await this.writeTree(store, into, index);
      return { filesChanged: await this.checkout(store, into, index, current, target) };
    } finally {
      rmSync(index, { force: true });
    }
  }

  /** The session's checkpoints, turn by turn. */
  async refs(repo: Repo, sessionId: string): Promise<{ turn: number; commit: string }[]> {
    const store = await this.storeOf(repo);
    const out = await this.inStore(store, [
      'for-each-ref',
      '--format=%(refname) %(objectname)',
      refsOf(sessionId),
    ]);
    return out.stdout
      .toString('utf8')
      .split('\n')
      .map((line) => /\/turn-(\d+) ([0-9a-f]+)$/.exec(line))
      .filter((match) => match !== null)
      .map((match) => ({ turn: Number(match[1]), commit: match[2] }))
      .sort((a, b) => a.turn - b.turn);
  }

  /** Forgets the checkpoints after `turn` (a rewind to it). */
  async dropAfter(repo: Repo, sessionId: string, turn: number): Promise<void> {
    const later = (await this.refs(repo, sessionId)).filter((ref) => ref.turn > turn);
    await this.deleteRefs(
      await this.storeOf(repo),
      later.map((ref) => turnRef(sessionId, ref.turn)),
    );
  }

  /** Forgets all of the session: its refs and its index (the objects go with a later gc). */
  async removeSession(repo: Repo, sessionId: string): Promise<void> {
    const store = await this.storeOf(repo);
    const index = indexOf(store, sessionId);
    await this.serial(index, async () => {
      const out = await this.inStore(store, [
        'for-each-ref',
        '--format=%(refname)',
        refsOf(sessionId),
      ]);
      await this.deleteRefs(store, out.stdout.toString('utf8').split('\n').filter(Boolean));
      rmSync(index, { force: true });
      this.last.delete(index);
    });
  }

  /** The store of the repository, made on first use. */
  storeOf(repo: Pick<Repository, 'commonDir'>): Promise<string> {
    let made = this.stores.get(repo.commonDir);
    if (!made) {
      made = openStore(this.git, this.storeRoot, repo.commonDir);
      this.stores.set(repo.commonDir, made);
      made.catch(() => this.stores.delete(repo.commonDir));
    }
    return made;
  }

  /**
   * `add -A` then `write-tree` through `index`. A new index starts as a copy of the working tree's
   * own: its stat data spares hashing every file, and tracked files that are ignored stay in.
   */
  private async writeTree(store: string, repo: Repo, index: string): Promise<string> {
    const env = workEnv(store, repo, index);
    const add = ['add', '-A', '--ignore-errors'];
    const seeded = !existsSync(index) && existsSync(join(repo.gitDir, 'index'));
    if (seeded) copyFileSync(join(repo.gitDir, 'index'), index);
    try {
      await this.git.run(add, { ...env, okCodes: [0, 1] });
    } catch (err) {
      if (!seeded) throw err;
      // An index git cannot read away from its repository (e.g. a split index): start afresh.
      rmSync(index, { force: true });
      await this.git.run(add, { ...env, okCodes: [0, 1] });
    }
    return (await this.git.text(['write-tree'], env)).trim();
  }

  /** `read-tree -m -u current target`: only the paths that differ change. How many did. */
  private async checkout(
    store: string,
    repo: Repo,
    index: string,
    current: string,
    target: string,
  ): Promise<number> {
    if (current === target) return 0;
    const changed = await this.changedPaths(store, current, target);
    await this.git.run(['read-tree', '-m', '-u', current, target], workEnv(store, repo, index));
    return changed;
  }

  private async commit(store: string, tree: string, message: string, parent?: string) {
    const args = ['commit-tree', '-m', message, ...(parent ? ['-p', parent] : []), tree];
    return (await this.git.text(args, { cwd: store, env: { GIT_DIR: store, ...AUTHOR } })).trim();
  }

  private async changedPaths(store: string, from: string, to: string): Promise<number> {
    if (from === to) return 0;
    const out = await this.inStore(store, [...DIFF_TREE, '--name-only', '-z', from, to]);
    return countPaths(out.stdout);
  }

  private async treeOf(store: string, commit: string): Promise<string | undefined> {
    const out = await this.inStore(
      store,
      ['rev-parse', '-q', '--verify', '--end-of-options', `${commit}^{tree}`],
      [0, 1, 128],
    );
    return out.stdout.toString().trim() || undefined;
  }

  private async checkpointTree(store: string, commit: string): Promise<string> {
    const tree = commit.startsWith('-') ? undefined : await this.treeOf(store, commit);
    if (!tree) {
      throw new NotFoundError(`No checkpoint ${commit}`, ErrorCode.CheckpointNotFound);
    }
    return tree;
  }

  private async deleteRefs(store: string, refs: string[]): Promise<void> {
    if (!refs.length) return;
    const input = refs.map((ref) => `delete ${ref}\n`).join('');
    await this.git.run(['update-ref', '--stdin'], { cwd: store, env: { GIT_DIR: store }, input });
  }

  private inStore(store: string, args: string[], okCodes?: number[]) {
    return this.git.run(args, { cwd: store, env: { GIT_DIR: store }, okCodes });
  }

  /** Runs `body` after the previous call on `key` (one session's index) has settled. */
  private serial<T>(key: string, body: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(key) ?? Promise.resolve()).then(body, body);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return run;
  }
}
