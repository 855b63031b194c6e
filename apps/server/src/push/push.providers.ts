import type { Provider } from '@nestjs/common';
import type { JelmoreConfig } from '../config/jelmore.config';
import { adminOwners } from '../auth/api-keys.service';
import { PushActions } from './push-actions';
import { PushKeys } from './push-keys';
import { PushRecords } from './push-records';
import { PushSender } from './push-sender';
import { PUSH_OPTIONS, type PushOptions } from './push.constants';
import { PushService } from './push.service';

export { PushController } from './push.controller';

/** Web Push fed by committed events; in the app module, beside SessionsService. */
export function pushProviders(config: JelmoreConfig): Provider[] {
  const options: PushOptions = {
    ...config.push,
    dataDir: config.dataDir,
    clustered: !!config.redisUrl,
    allowPrivateNetworks: config.allowPrivateNetworks,
    adminOwners: adminOwners(config),
  };
  return [
    { provide: PUSH_OPTIONS, useValue: options },
    PushKeys,
    PushRecords,
    PushSender,
    PushActions,
    PushService,
  ];
}
