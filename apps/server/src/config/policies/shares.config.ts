import { SecretValues } from '@jelmore/sessions';
import { ConfigError } from '../config-error';
import { SHARE_SETTINGS } from '../settings/shares.settings';
import { apiKeyValues } from './middleware.config';
import { loadPolicySettings } from './policy-settings';

/** Share links (docs/shares.md): their lifetimes and the origin their URLs name. */
export interface SharesConfig {
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
  /** Without a trailing slash; unset: the creating request's origin. */
  publicUrl?: string;
  /** The server's API keys: a share view redacts them whether or not the redactor middleware is on. */
  secrets: SecretValues;
}

/** Env over the file's `shares` over defaults; one ConfigError line for the first bad value. */
export function loadShares(
  env: NodeJS.ProcessEnv,
  file: Record<string, unknown>,
  fileName = 'JELMORE_CONFIG',
): SharesConfig {
  const {
    values,
    where,
    positiveInt: int,
  } = loadPolicySettings(SHARE_SETTINGS, env, file, fileName);
  const defaultTtlSeconds = int('shareDefaultTtlSeconds');
  const maxTtlSeconds = int('shareMaxTtlSeconds');
  if (defaultTtlSeconds > maxTtlSeconds) {
    throw new ConfigError(
      `Invalid configuration: ${where.shareDefaultTtlSeconds} must not exceed ${where.shareMaxTtlSeconds} (${defaultTtlSeconds} > ${maxTtlSeconds})`,
    );
  }
  const publicUrl = values.sharePublicUrl as string | undefined;
  if (publicUrl !== undefined && !/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(publicUrl)) {
    throw new ConfigError(
      `Invalid configuration: ${where.sharePublicUrl} must be an http(s) URL without query (got ${JSON.stringify(publicUrl)})`,
    );
  }
  return {
    defaultTtlSeconds,
    maxTtlSeconds,
    ...(publicUrl ? { publicUrl: publicUrl.replace(/\/+$/, '') } : {}),
    secrets: new SecretValues(apiKeyValues(env)),
  };
}
