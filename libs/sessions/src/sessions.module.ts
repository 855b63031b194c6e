import { Module } from '@nestjs/common';
import { SessionCleanupJob } from './cleanup.job';
import { EventLog } from './events/event-log.service';
import { ConfigurableModuleClass } from './sessions.module-definition';
import { SessionsService } from './sessions.service';
import { SessionStore } from './store/session-store';

/** Session lifecycle, the store and the event log. Needs ProvidersModule and ScheduleModule in the app. */
@Module({
  providers: [SessionStore, EventLog, SessionsService, SessionCleanupJob],
  exports: [SessionsService, SessionStore, EventLog],
})
export class SessionsModule extends ConfigurableModuleClass {}
