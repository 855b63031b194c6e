import { parseSetting, type SettingsTable } from '@jelmore/contracts';

/** Read-only share links of a session (docs/shares.md). Loaded and checked by loadShares. */
export const SHARE_SETTINGS: SettingsTable = {
  shareDefaultTtlSeconds: {
    env: 'JELMORE_SHARE_DEFAULT_TTL_SECONDS',
    file: 'shares.default_ttl_seconds',
    custom: true,
    parse: parseSetting.int,
    default: 86_400,
    description:
      'How long a share link works when `POST /v1/sessions/{id}/shares` names no `expiresInSeconds`. See [Share links](shares.md).',
  },
  shareMaxTtlSeconds: {
    env: 'JELMORE_SHARE_MAX_TTL_SECONDS',
    file: 'shares.max_ttl_seconds',
    custom: true,
    parse: parseSetting.int,
    default: 2_592_000,
    description:
      'The longest `expiresInSeconds` a share link may ask for (default 30 days); longer is refused with 400.',
  },
  sharePublicUrl: {
    env: 'JELMORE_PUBLIC_URL',
    file: 'shares.public_url',
    custom: true,
    defaultText: 'the request’s own origin',
    description:
      'The origin share links are made with (e.g. `https://jelmore.example.com` behind a proxy); unset, the origin the creating request came to.',
  },
};
