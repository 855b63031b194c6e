import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** The tenant of sessions created without API keys (a loopback-only server). */
export const LOCAL_TENANT = 'local';

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * One tenant's (API key id's) home for an agent: `<agentRoot>/tenants/<tenant>`, created if missing.
 * Its transcripts and state are shown to that tenant's sandboxed agents only; it lives under the data
 * dir, so a restarted server, or another node sharing the data dir, resumes from it.
 */
export function tenantHome(agentRoot: string, tenant: string | undefined): string {
  const home = join(agentRoot, 'tenants', tenantFolder(tenant ?? LOCAL_TENANT));
  mkdirSync(home, { recursive: true });
  return home;
}

/** A key id as a folder name: itself when plainly safe, else a digest (never `..`, `/` or a NUL). */
function tenantFolder(tenant: string): string {
  return SAFE_NAME.test(tenant) && !tenant.includes('..')
    ? tenant
    : `t-${createHash('sha256').update(tenant).digest('hex').slice(0, 24)}`;
}
