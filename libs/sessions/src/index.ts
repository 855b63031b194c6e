export * from './attachments/attachments.service';
export * from './cleanup.job';
export * from './cache/response-cache';
export { SessionCache } from './cache/session-cache.service';
export * from './cluster/sessions-cluster';
export * from './events/encoded-event';
export * from './events/event-log.service';
export * from './events/lagged.error';
export * from './events/log-subscription';
export * from './events/session-stream';
export { checkpointsDir } from './git/session-checkpoints';
export * from './launch/routing/complexity-router';
export * from './launch/routing/complexity-scorer';
export * from './launch/routing/experiment-reports';
export * from './launch/routing/routing.constants';
export * from './launch/routing/traffic-policies';
export * from './middleware';
export * from './sessions.constants';
export * from './sessions.module';
export * from './sessions.module-definition';
export * from './sessions.options';
export * from './sessions.service';
export * from './sessions.types';
export * from './store/session-record';
// Rows of the tables the server's own records (webhooks, push, shares) read and write.
export type {
  PushSubscriptionsTable,
  PushTokensTable,
  SharesTable,
  WebhookDeliveriesTable,
  WebhooksTable,
} from './store/schema';
export * from './store/session-store';
export * from './store/store-connection';
export * from './workspace';
