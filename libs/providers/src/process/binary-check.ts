import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';

export interface BinaryCheck {
  ok: boolean;
  version?: string;
  reason?: string;
}

/**
 * Checks that an agent's CLI exists, may run, and answers `--version`. Never throws. `label` names the
 * CLI in the reasons (e.g. "Claude Code CLI"), `notFound` says what to do when there is no path at all.
 * A `nodeScript` is read, not executed: it runs with the server's own node.
 */
export async function checkBinary(
  bin: string | undefined,
  {
    label,
    notFound,
    env,
    nodeScript = false,
  }: {
    label: string;
    notFound: string;
    env?: NodeJS.ProcessEnv;
    nodeScript?: boolean;
  },
): Promise<BinaryCheck> {
  if (!bin) return { ok: false, reason: notFound };
  try {
    await access(bin, nodeScript ? constants.R_OK : constants.X_OK);
  } catch {
    return { ok: false, reason: `${label} at ${bin} is missing or not executable` };
  }
  const [file, args] = nodeScript ? [process.execPath, [bin, '--version']] : [bin, ['--version']];
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 15_000, ...(env ? { env } : {}) }, (err, stdout) => {
      if (err) {
        resolve({
          ok: false,
          reason: `${label} at ${bin} did not run: ${err.message.split('\n')[0]}`,
        });
      } else {
        resolve({ ok: true, version: stdout.trim() });
      }
    });
  });
}

/**
 * A binary check shared by its callers and reused while fresh: probes and /v1/providers ask often, and
 * each `--version` is a process start. A check under way is shared, not started again.
 */
export class CachedBinaryCheck {
  /** The last answer (a failing one until the first check ends). */
  last: BinaryCheck = { ok: false, reason: 'not checked yet' };
  private probe?: Promise<BinaryCheck>;
  private startedAt = 0;

  constructor(
    private readonly run: () => Promise<BinaryCheck>,
    private readonly ttlMs = 30_000,
  ) {}

  async check(): Promise<BinaryCheck> {
    if (!this.probe || Date.now() - this.startedAt > this.ttlMs) {
      this.startedAt = Date.now();
      this.probe = this.run();
    }
    this.last = await this.probe;
    return this.last;
  }

  /** When the answer in use was asked for. */
  get checkedAt(): string {
    return new Date(this.startedAt).toISOString();
  }
}
