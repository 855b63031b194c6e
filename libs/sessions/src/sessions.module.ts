import { Module, Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AttachmentStore } from './attachments/attachment-store';
import { Attachments } from './attachments/attachments.service';
import { SessionBudgets } from './budgets/session-budgets.service';
import { SessionCleanupJob } from './cleanup.job';
import { ClusterRouting } from './cluster/cluster-routing.service';
import { EventLog } from './events/event-log.service';
import { GitRunner } from './git/git-runner';
import { SessionCache } from './cache/session-cache.service';
import { SessionCheckpoints } from './git/session-checkpoints';
import { SessionRepositories } from './git/session-repositories';
import { AgentConfigs } from './launch/agent-configs';
import { SessionDelegation } from './launch/session-delegation';
import { SessionHistory } from './launch/session-history.service';
import { SessionLauncher } from './launch/session-launcher.service';
import { SessionPlanner } from './launch/session-planner';
import { ComplexityRouter } from './launch/routing/complexity-router';
import { ExperimentReports } from './launch/routing/experiment-reports';
import { SessionTraffic } from './launch/routing/session-traffic';
import { SessionMiddlewares } from './middleware/session-middlewares.service';
import { PromptMiddleware } from './middleware/prompt/prompt.middleware';
import { RedactorMiddleware } from './middleware/redactor/redactor.middleware';
import { SessionPermissions } from './permissions/session-permissions';
import { BootRecovery } from './recovery/boot-recovery.service';
import { AgentEventPump } from './runtime/agent-event-pump.service';
import { SessionControl } from './runtime/session-control.service';
import { SessionRuntimes } from './runtime/session-runtimes.service';
import { SessionTransitions } from './runtime/session-transitions.service';
import { SessionTurns } from './runtime/session-turns.service';
import { SessionWorkspaces } from './session-workspaces';
import { ConfigurableModuleClass, SESSIONS_MODULE_OPTIONS } from './sessions.module-definition';
import type { SessionsModuleOptions } from './sessions.options';
import { SessionsService } from './sessions.service';
import { CheckpointRecords } from './store/checkpoint-records';
import { EventStore } from './store/event-store';
import { ExperimentRecords } from './store/experiment-records';
import { PermissionRequestStore } from './store/permission-request-store';
import { SessionStore } from './store/session-store';
import { StoreConnection } from './store/store-connection';

/** Plain classes (their specs build them by hand), made from the options here. */
const HELPERS: Provider[] = [
  {
    provide: SessionPermissions,
    inject: [PermissionRequestStore, EventLog, SessionDelegation, SESSIONS_MODULE_OPTIONS],
    useFactory: (
      store: PermissionRequestStore,
      log: EventLog,
      delegation: SessionDelegation,
      options: SessionsModuleOptions,
    ) =>
      new SessionPermissions(
        store,
        options.permissionTimeoutSeconds * 1000,
        async (record, draft) => {
          await log.append(record.id, draft);
        },
        (record, event) => delegation.relayPermission(record, event),
      ),
  },
  { provide: GitRunner, useFactory: () => new GitRunner() },
  {
    provide: SessionRepositories,
    inject: [SESSIONS_MODULE_OPTIONS, SessionStore, GitRunner],
    useFactory: (options: SessionsModuleOptions, store: SessionStore, git: GitRunner) =>
      new SessionRepositories(options, store, git),
  },
  {
    provide: SessionCheckpoints,
    inject: [SESSIONS_MODULE_OPTIONS, GitRunner, CheckpointRecords, SessionStore, EventLog],
    useFactory: (
      options: SessionsModuleOptions,
      git: GitRunner,
      records: CheckpointRecords,
      store: SessionStore,
      log: EventLog,
    ) => new SessionCheckpoints(options, git, records, store, log),
  },
  {
    provide: SessionWorkspaces,
    inject: [SESSIONS_MODULE_OPTIONS, SessionStore],
    useFactory: (options: SessionsModuleOptions, store: SessionStore) =>
      new SessionWorkspaces(options, store),
  },
];

/**
 * Session lifecycle, the store and the event log. Needs ProvidersModule and ScheduleModule in the app;
 * in cluster mode, a SESSIONS_CLUSTER provider visible to it (e.g. from a global module).
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    StoreConnection,
    SessionStore,
    EventStore,
    PermissionRequestStore,
    AttachmentStore,
    Attachments,
    CheckpointRecords,
    ExperimentRecords,
    EventLog,
    ...HELPERS,
    SessionRuntimes,
    SessionTransitions,
    SessionTurns,
    SessionMiddlewares,
    RedactorMiddleware,
    PromptMiddleware,
    SessionBudgets,
    AgentEventPump,
    SessionLauncher,
    SessionPlanner,
    SessionTraffic,
    ComplexityRouter,
    ExperimentReports,
    SessionControl,
    SessionHistory,
    SessionDelegation,
    AgentConfigs,
    SessionCache,
    ClusterRouting,
    BootRecovery,
    SessionsService,
    SessionCleanupJob,
  ],
  exports: [
    SessionsService,
    SessionCache,
    Attachments,
    StoreConnection,
    EventLog,
    ComplexityRouter,
    ExperimentReports,
  ],
})
export class SessionsModule extends ConfigurableModuleClass {}
