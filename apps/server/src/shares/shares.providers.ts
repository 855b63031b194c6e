import type { Provider } from '@nestjs/common';
import type { JelmoreConfig } from '../config/jelmore.config';
import { ShareRecords } from './share-records';
import { SHARES_OPTIONS, type SharesOptions } from './shares.constants';
import { SharesService } from './shares.service';

export { SharedController } from './shared.controller';
export { SharesController } from './shares.controller';

/** Share links: their store and service; in the app module, beside SessionsService. */
export function shareProviders(config: JelmoreConfig): Provider[] {
  const options: SharesOptions = {
    ...config.shares,
    redactPatterns: config.middleware.redactor.patterns,
    workspaceRoot: config.workspaceRoot,
  };
  return [{ provide: SHARES_OPTIONS, useValue: options }, ShareRecords, SharesService];
}
