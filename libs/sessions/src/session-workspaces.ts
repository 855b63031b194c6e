import { Logger } from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SessionsModuleOptions } from './sessions.options';
import type { SessionStore } from './store/session-store';
import {
  CwdAccess,
  isWithin,
  mayUseFolder,
  realPathOf,
  removeSessionFolder,
  resolveSessionCwd,
  sessionFolderIds,
} from './workspace';

/** Ids per store query: well below the bound parameters SQLite and PostgreSQL take. */
const IDS_PER_QUERY = 500;

/**
 * The sessions' folders in the workspace: where each owner's sessions may work, and the removal of the
 * folders made for sessions that ended.
 */
export class SessionWorkspaces {
  private readonly logger = new Logger(SessionWorkspaces.name);
  /** The shared workspace, absolute; a relative setting is taken against the root. */
  private readonly shared?: string;
  private sharedMade = false;

  constructor(
    private readonly options: Pick<
      SessionsModuleOptions,
      'workspaceRoot' | 'sharedWorkspace' | 'adminOwners'
    >,
    private readonly store: SessionStore,
  ) {
    if (options.sharedWorkspace !== undefined) {
      this.shared = resolve(options.workspaceRoot, options.sharedWorkspace);
    }
  }

  /** The session's working directory (see resolveSessionCwd), confined to what its owner may use. */
  resolve(
    sessionId: string,
    requested: string | undefined,
    owner: string | null | undefined,
  ): Promise<string> {
    // Made for every caller, so that admins (who are not confined) find it there too.
    this.sharedRoot();
    return resolveSessionCwd(this.options.workspaceRoot, sessionId, requested, this.access(owner));
  }

  /** Whether a session of `owner` may work in `path` (e.g. where its agent changed directory to). */
  mayUse(owner: string | null, path: string): Promise<boolean> {
    return mayUseFolder(this.options.workspaceRoot, path, this.access(owner));
  }

  /**
   * Removes `<root>/<sessionId>` of each session that ended before `cutoff`: the folders made for
   * sessions created without a cwd. A folder that a session not yet past retention still works in,
   * or that holds the shared workspace, stays. Returns how many were removed.
   */
  async removeEnded(cutoff: string): Promise<number> {
    const root = realPathOf(this.options.workspaceRoot);
    if (root === undefined) return 0;
    const folders = sessionFolderIds(root);
    const ended: string[] = [];
    for (let i = 0; i < folders.length; i += IDS_PER_QUERY) {
      ended.push(
        ...(await this.store.endedSessionIds(folders.slice(i, i + IDS_PER_QUERY), cutoff)),
      );
    }
    if (ended.length === 0) return 0;
    const kept = (await this.store.cwdsInUse(cutoff)).map((cwd) => realPathOf(cwd) ?? cwd);
    const shared = this.sharedRoot();
    if (shared !== undefined) kept.push(realPathOf(shared) ?? shared);
    let removed = 0;
    for (const id of ended) {
      const dir = join(root, id);
      if (kept.some((path) => isWithin(dir, path))) continue;
      try {
        if (removeSessionFolder(root, id)) removed++;
      } catch (err) {
        this.logger.warn(`workspace of session ${id} could not be removed: ${String(err)}`);
      }
    }
    return removed;
  }

  /** Undefined (anywhere in the root) for admin keys, the local mode and callers without an owner. */
  private access(owner: string | null | undefined): CwdAccess | undefined {
    if (!owner || this.options.adminOwners.includes(owner)) return undefined;
    return {
      sharedRoot: this.sharedRoot(),
      ownsSession: async (id) => (await this.store.getSession(id))?.owner === owner,
    };
  }

  /** The configured shared workspace, made on first use so tenants find it there. */
  private sharedRoot(): string | undefined {
    if (this.shared !== undefined && !this.sharedMade) {
      mkdirSync(this.shared, { recursive: true });
      this.sharedMade = true;
    }
    return this.shared;
  }
}
