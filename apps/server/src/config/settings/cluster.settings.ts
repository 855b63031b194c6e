import { hostname } from 'node:os';
import { IsInt, IsOptional, Matches, Min } from 'class-validator';
import { parseSetting, type SettingsTable } from '@jelmore/contracts';
import { DEFAULT_NATS_MAX_PENDING, DEFAULT_NATS_STREAM } from '../../nats/nats.constants';

const NATS_URL =
  /^nats:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$/;

/** Cluster mode (Redis), this node's identity and shutdown, and the NATS event stream. */
export const CLUSTER_SETTINGS: SettingsTable = {
  redisUrl: {
    env: 'JELMORE_REDIS_URL',
    file: 'redis_url',
    rules: [
      IsOptional(),
      Matches(/^rediss?:\/\/\S+$/, { message: '$property must look like redis://host:port' }),
    ],
    description:
      'Cluster mode: with it, nodes share sessions through Redis (and need a PostgreSQL store); see [Cluster](cluster.md).',
  },
  nodeId: {
    env: 'JELMORE_NODE_ID',
    file: 'node_id',
    // Host and port tell apart nodes on one machine, and stay the same when a node restarts.
    default: (values: Record<string, unknown>) => `${hostname()}-${String(values.port)}`,
    defaultText: '`<host>-<port>`',
    rules: [
      Matches(/^[A-Za-z0-9_.:-]{1,128}$/, {
        message: '$property must be letters, digits, and _ . : - (at most 128)',
      }),
    ],
    description:
      "This node's id in the store and in Redis: unique per node, stable across its restarts.",
  },
  nodeLeaseSeconds: {
    env: 'JELMORE_NODE_LEASE_SECONDS',
    file: 'node_lease_seconds',
    parse: parseSetting.int,
    default: 15,
    rules: [IsInt(), Min(3)],
    description:
      "A node's lease in Redis (`jelmore:node:<id>`), renewed every third of it; past it its sessions are taken as lost.",
  },
  shutdownGraceSeconds: {
    env: 'JELMORE_SHUTDOWN_GRACE_SECONDS',
    file: 'shutdown_grace_seconds',
    parse: parseSetting.int,
    default: 25,
    rules: [IsInt(), Min(1)],
    description:
      'On SIGTERM, the longest the node takes to suspend its sessions and close before it exits.',
  },
  natsUrl: {
    env: 'JELMORE_NATS_URL',
    file: 'nats_url',
    rules: [
      IsOptional(),
      Matches(NATS_URL, { message: '$property must look like nats://host:port' }),
    ],
    description:
      '`nats://host:port` of a JetStream-enabled server: every committed event is also published there; unset, nothing is. See [NATS](cluster.md#nats).',
  },
  natsStream: {
    env: 'JELMORE_NATS_STREAM',
    file: 'nats_stream',
    default: DEFAULT_NATS_STREAM,
    rules: [
      Matches(/^[A-Za-z0-9_-]{1,64}$/, {
        message: '$property must be a JetStream stream name (letters, digits, _ and -)',
      }),
    ],
    description: 'The stream that holds `jelmore.sessions.>`.',
  },
  natsMaxPending: {
    env: 'JELMORE_NATS_MAX_PENDING',
    file: 'nats_max_pending',
    parse: parseSetting.int,
    default: DEFAULT_NATS_MAX_PENDING,
    rules: [IsInt(), Min(1)],
    description: 'Events kept while NATS is slow or down; past it new events are dropped.',
  },
};
