import type { SettingsTable } from '@jelmore/contracts';
import { CACHE_SETTINGS } from './cache.settings';
import { CLUSTER_SETTINGS } from './cluster.settings';
import { MIDDLEWARE_SETTINGS } from './middleware.settings';
import { PROVIDER_SETTINGS } from './providers.settings';
import { PUSH_SETTINGS } from './push.settings';
import { SECURITY_SETTINGS } from './security.settings';
import { SHARE_SETTINGS } from './shares.settings';
import { SERVER_SETTINGS } from './server.settings';
import { TRAFFIC_SETTINGS } from './traffic.settings';
import { WEBHOOK_SETTINGS } from './webhooks.settings';

export { LOG_LEVELS } from './server.settings';

/** Every setting of the server, in the order docs/configuration.md lists them. */
export const JELMORE_SETTINGS: SettingsTable = {
  ...SECURITY_SETTINGS,
  ...SERVER_SETTINGS,
  ...PROVIDER_SETTINGS,
  ...TRAFFIC_SETTINGS,
  ...MIDDLEWARE_SETTINGS,
  ...CACHE_SETTINGS,
  ...WEBHOOK_SETTINGS,
  ...PUSH_SETTINGS,
  ...SHARE_SETTINGS,
  ...CLUSTER_SETTINGS,
};
