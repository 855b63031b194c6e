import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'jelmore:public';

/** Routes anyone may call without a key: the Kubernetes probes. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

export const ACCEPTS_DELEGATION = 'jelmore:accepts-delegation';

/**
 * Routes a delegating session's agent may call with its token (DelegationTokens) instead of an API key:
 * the MCP server. Everywhere else such a token is refused like a wrong key.
 */
export const AcceptsDelegationTokens = () => SetMetadata(ACCEPTS_DELEGATION, true);
