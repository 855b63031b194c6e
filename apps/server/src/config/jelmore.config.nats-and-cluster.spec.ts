import { hostname } from 'node:os';
import { loadConfig } from './jelmore.config';
import { configError, expectOneLine, withConfigDir } from './jelmore.config.spec-helpers';

// Publishing to NATS, and cluster mode (Redis, node id, lease, shutdown grace).
describe('loadConfig', () => {
  const configFile = withConfigDir();

  describe('nats', () => {
    it('is off by default, with the default stream and queue bound', () => {
      const config = loadConfig({});
      expect(config.natsUrl).toBeUndefined();
      expect(config.natsStream).toBe('JELMORE_SESSIONS');
      expect(config.natsMaxPending).toBe(50_000);
    });

    it('takes the URL, stream and bound from the environment, or the file', () => {
      expect(
        loadConfig({
          JELMORE_NATS_URL: 'nats://nats.default.svc:4222',
          JELMORE_NATS_STREAM: 'EVENTS-2',
          JELMORE_NATS_MAX_PENDING: '10',
        }),
      ).toMatchObject({
        natsUrl: 'nats://nats.default.svc:4222',
        natsStream: 'EVENTS-2',
        natsMaxPending: 10,
      });
      const file = configFile({
        nats_url: 'nats://[::1]:4222',
        nats_stream: 'S',
        nats_max_pending: 5,
      });
      expect(loadConfig({ JELMORE_CONFIG: file })).toMatchObject({
        natsUrl: 'nats://[::1]:4222',
        natsStream: 'S',
        natsMaxPending: 5,
      });
    });

    it.each([
      ['no port', 'nats://127.0.0.1'],
      ['another scheme', 'http://127.0.0.1:4222'],
      ['a port out of range', 'nats://127.0.0.1:65536'],
      ['a path', 'nats://127.0.0.1:4222/x'],
      ['no scheme', '127.0.0.1:4222'],
    ])('rejects a URL with %s, naming JELMORE_NATS_URL', (_name, url) => {
      const { message } = configError({ JELMORE_NATS_URL: url });
      expect(message).toContain('JELMORE_NATS_URL must look like nats://host:port');
      expectOneLine(message);
    });

    it('rejects a stream name NATS would refuse and a bound below 1', () => {
      expect(configError({ JELMORE_NATS_STREAM: 'a.b' }).message).toContain('JELMORE_NATS_STREAM');
      expect(configError({ JELMORE_NATS_MAX_PENDING: '0' }).message).toContain(
        'JELMORE_NATS_MAX_PENDING',
      );
    });
  });

  describe('cluster', () => {
    it('is single-node by default, with a node id from the host and port, a lease and a grace period', () => {
      const config = loadConfig({ JELMORE_PORT: '4010' });
      expect(config.redisUrl).toBeUndefined();
      expect(config.nodeId).toBe(`${hostname()}-4010`);
      expect(config.nodeLeaseSeconds).toBe(15);
      expect(config.shutdownGraceSeconds).toBe(25);
    });

    it('takes the Redis URL, node id, lease and grace from the environment', () => {
      const config = loadConfig({
        JELMORE_REDIS_URL: 'redis://127.0.0.1:6379/2',
        JELMORE_NODE_ID: 'pod-a.1',
        JELMORE_NODE_LEASE_SECONDS: '5',
        JELMORE_SHUTDOWN_GRACE_SECONDS: '40',
      });
      expect(config).toMatchObject({
        redisUrl: 'redis://127.0.0.1:6379/2',
        nodeId: 'pod-a.1',
        nodeLeaseSeconds: 5,
        shutdownGraceSeconds: 40,
      });
    });

    it.each([
      ['JELMORE_REDIS_URL', 'http://127.0.0.1:6379', 'must look like redis://host:port'],
      ['JELMORE_NODE_ID', 'a node', 'must be letters, digits'],
      ['JELMORE_NODE_LEASE_SECONDS', '2', 'JELMORE_NODE_LEASE_SECONDS'],
      ['JELMORE_SHUTDOWN_GRACE_SECONDS', '0', 'JELMORE_SHUTDOWN_GRACE_SECONDS'],
    ])('rejects a bad %s in one line naming it', (key, value, expected) => {
      const { message } = configError({ [key]: value });
      expect(message).toContain(key);
      expect(message).toContain(expected);
      expectOneLine(message);
    });
  });
});
