import { Kysely, PostgresAdapter, sql } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely/migration';

const migrations: Record<string, Migration> = {
  '0001_sessions_and_events': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text')
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('cwd', 'text', (c) => c.notNull())
        .addColumn('provider_ref', 'text')
        .addColumn('suspended_state', 'text')
        // bigint: PostgreSQL's integer is 32 bits and a long session's tokens can pass 2^31. SQLite
        // stores both as the same 64-bit INTEGER, so files created with `integer` here read the same.
        .addColumn('input_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('output_tokens', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('cost_usd', 'double precision', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text')
        .addColumn('agent_pid', 'integer')
        .addColumn('max_budget_usd', 'double precision')
        .execute();
      await db.schema.createIndex('sessions_state').on('sessions').column('state').execute();
      // Append-only table with a unique (session_id, seq) index: the cheapest layout that still
      // rejects a duplicate seq (TOOLCHAIN.md measured the alternatives).
      await db.schema
        .createTable('events')
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('ts', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('events_session_seq')
        .unique()
        .on('events')
        .columns(['session_id', 'seq'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('events').execute();
      await db.schema.dropTable('sessions').execute();
      await sql`select 1`.execute(db);
    },
  },
  '0002_permission_requests': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('sessions').addColumn('permissions', 'text').execute();
      // One row per tool permission request: pending until a client, a timeout or the session's end
      // settles it. Kept so that a request outlives the process that saw it (restart, other nodes).
      await db.schema
        .createTable('permission_requests')
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('tool', 'text', (c) => c.notNull())
        .addColumn('input', 'text', (c) => c.notNull())
        .addColumn('tool_use_id', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('resolved_at', 'text')
        .addColumn('resolved_by', 'text')
        .addColumn('reason', 'text')
        .addPrimaryKeyConstraint('permission_requests_pk', ['session_id', 'request_id'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('permission_requests').execute();
      await db.schema.alterTable('sessions').dropColumn('permissions').execute();
    },
  },
  '0003_attachments': {
    async up(db: Kysely<unknown>) {
      const bytes = db.getExecutor().adapter instanceof PostgresAdapter ? 'bytea' : 'blob';
      await db.schema.alterTable('sessions').addColumn('title', 'text').execute();
      // Content-addressed: the same bytes are kept once, whoever uploaded them how often. Used on
      // PostgreSQL; a SQLite node keeps them as files (blob-store.ts).
      await db.schema
        .createTable('attachment_blobs')
        .addColumn('sha256', 'text', (c) => c.primaryKey())
        .addColumn('data', sql.raw(bytes), (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('attachments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text')
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('attachments_sha256')
        .on('attachments')
        .column('sha256')
        .execute();
      // Which sessions used an attachment: it is kept while their events are.
      await db.schema
        .createTable('session_attachments')
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('attachment_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('session_attachments_pk', ['session_id', 'attachment_id'])
        .execute();
      await db.schema
        .createIndex('session_attachments_attachment')
        .on('session_attachments')
        .column('attachment_id')
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('session_attachments').execute();
      await db.schema.dropTable('attachments').execute();
      await db.schema.dropTable('attachment_blobs').execute();
      await db.schema.alterTable('sessions').dropColumn('title').execute();
    },
  },
  '0004_checkpoints': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('sessions').addColumn('isolation', 'text').execute();
      // JSON: the repository of the session's checkpoints and its worktree (SessionGit).
      await db.schema.alterTable('sessions').addColumn('git', 'text').execute();
      await db.schema.alterTable('sessions').addColumn('parent_id', 'text').execute();
      await db.schema.alterTable('sessions').addColumn('forked_from_turn', 'integer').execute();
      await db.schema
        .alterTable('sessions')
        .addColumn('turns', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // One row per recorded turn; the commits themselves are in the checkpoint store (git).
      await db.schema
        .createTable('checkpoints')
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('turn', 'integer', (c) => c.notNull())
        .addColumn('commit_sha', 'text', (c) => c.notNull())
        .addColumn('files_changed', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('checkpoints_pk', ['session_id', 'turn'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('checkpoints').execute();
      for (const column of ['turns', 'forked_from_turn', 'parent_id', 'git', 'isolation']) {
        await db.schema.alterTable('sessions').dropColumn(column).execute();
      }
    },
  },
  '0005_delegation': {
    async up(db: Kysely<unknown>) {
      // 1: its agent gets Jelmore's MCP server; null: not.
      await db.schema.alterTable('sessions').addColumn('delegation', 'integer').execute();
      // How many delegations deep it was started (0: by a client).
      await db.schema
        .alterTable('sessions')
        .addColumn('depth', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('sessions_parent').on('sessions').column('parent_id').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('sessions_parent').execute();
      await db.schema.alterTable('sessions').dropColumn('depth').execute();
      await db.schema.alterTable('sessions').dropColumn('delegation').execute();
    },
  },
  '0006_traffic_policies': {
    async up(db: Kysely<unknown>) {
      // JSON SessionRouting: the tier routing by complexity chose, its score and reason.
      await db.schema.alterTable('sessions').addColumn('routing', 'text').execute();
      await db.schema.alterTable('sessions').addColumn('experiment', 'text').execute();
      await db.schema.alterTable('sessions').addColumn('experiment_arm', 'text').execute();
      // GET /v1/experiments/:name reads an experiment's sessions, whatever their number in all.
      await db.schema
        .createIndex('sessions_experiment')
        .on('sessions')
        .column('experiment')
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('sessions_experiment').execute();
      for (const column of ['experiment_arm', 'experiment', 'routing']) {
        await db.schema.alterTable('sessions').dropColumn(column).execute();
      }
    },
  },
  '0007_response_cache': {
    async up(db: Kysely<unknown>) {
      // 1: its turns are looked up in (and recorded to) the response cache.
      await db.schema.alterTable('sessions').addColumn('cache', 'integer').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('sessions').dropColumn('cache').execute();
    },
  },
  '0008_webhooks': {
    async up(db: Kysely<unknown>) {
      // Per-key webhooks (the operator's are in the config file and never stored).
      await db.schema
        .createTable('webhooks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text')
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      // The outbox: a row per event and webhook, so a delivery outlives the process that saw the event.
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('webhook_id', 'text', (c) => c.notNull())
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'text', (c) => c.notNull())
        .addColumn('claimed_by', 'text')
        .addColumn('lease_until', 'text')
        .addColumn('last_status', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      // One delivery per event and webhook, whoever inserts it.
      await db.schema
        .createIndex('webhook_deliveries_event')
        .unique()
        .on('webhook_deliveries')
        .columns(['webhook_id', 'session_id', 'seq'])
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_due')
        .on('webhook_deliveries')
        .columns(['state', 'next_attempt_at'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('webhook_deliveries').execute();
      await db.schema.dropTable('webhooks').execute();
    },
  },
  '0009_push': {
    async up(db: Kysely<unknown>) {
      // Web Push subscriptions per key; an endpoint is one browser's, so it belongs to one key at a time.
      await db.schema
        .createTable('push_subscriptions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text')
        .addColumn('endpoint', 'text', (c) => c.notNull().unique())
        .addColumn('p256dh', 'text', (c) => c.notNull())
        .addColumn('auth', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      // Single-use answers to one permission request, sent in a notification; only their hash is kept.
      await db.schema
        .createTable('push_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('owner', 'text')
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('push_tokens_expiry')
        .on('push_tokens')
        .column('expires_at')
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('push_tokens').execute();
      await db.schema.dropTable('push_subscriptions').execute();
    },
  },
  '0010_shares': {
    async up(db: Kysely<unknown>) {
      // Read-only share links of a session; only the token's hash is kept, so a read of the store opens none.
      await db.schema
        .createTable('shares')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('owner', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createIndex('shares_session').on('shares').column('session_id').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('shares').execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
