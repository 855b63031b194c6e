import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyDigest, loadConfig } from './jelmore.config';
import { configError, expectOneLine, withConfigDir } from './jelmore.config.spec-helpers';

// Rate limits, failed-auth limit, trusted proxies, API keys and the agent sandbox.
describe('loadConfig', () => {
  const configFile = withConfigDir();

  describe('rate limits', () => {
    it('defaults: 600 per key per 60 s window, no provider limited', () => {
      expect(loadConfig({})).toMatchObject({
        rateLimitPerMinute: 600,
        rateLimitWindowSeconds: 60,
        providerRateLimits: {},
      });
    });

    it('takes per-provider session rates from JELMORE_PROVIDER_RATE_LIMITS, and the window', () => {
      expect(
        loadConfig({
          JELMORE_PROVIDER_RATE_LIMITS: 'claude:30, opencode:60',
          JELMORE_RATE_LIMIT_WINDOW_SECONDS: '2',
        }),
      ).toMatchObject({
        providerRateLimits: { claude: 30, opencode: 60 },
        rateLimitWindowSeconds: 2,
      });
    });

    it('reads providers.<name>.sessions_per_minute from the file; the variable replaces them all', () => {
      const file = configFile({
        rate_limit_window_seconds: 30,
        providers: {
          claude: { sessions_per_minute: 5 },
          opencode: {},
          echo: { sessions_per_minute: 1 },
        },
      });
      expect(loadConfig({ JELMORE_CONFIG: file })).toMatchObject({
        providerRateLimits: { claude: 5, echo: 1 },
        rateLimitWindowSeconds: 30,
      });
      expect(
        loadConfig({ JELMORE_CONFIG: file, JELMORE_PROVIDER_RATE_LIMITS: 'opencode:9' })
          .providerRateLimits,
      ).toEqual({ opencode: 9 });
    });

    it.each(['claude', 'claude:', 'claude:-1', 'claude:1.5', ':3', 'claude:3:x'])(
      'rejects the entry %j, naming the variable and the form',
      (entry) => {
        const { message } = configError({ JELMORE_PROVIDER_RATE_LIMITS: entry });
        expect(message).toContain(`JELMORE_PROVIDER_RATE_LIMITS entry '${entry}'`);
        expect(message).toContain('<provider>:<sessions per minute>');
        expectOneLine(message);
      },
    );

    it('rejects a zero rate, and a bad one in the file, naming where it is', () => {
      expect(configError({ JELMORE_PROVIDER_RATE_LIMITS: 'claude:0' }).message).toContain(
        "JELMORE_PROVIDER_RATE_LIMITS entry 'claude:0' must be a whole number of sessions per minute, at least 1 (got 0)",
      );
      const file = configFile({ providers: { claude: { sessions_per_minute: '30' } } });
      const { message } = configError({ JELMORE_CONFIG: file });
      expect(message).toBe(
        `Invalid configuration: ${file}: providers.claude.sessions_per_minute must be a whole number of sessions per minute, at least 1 (got "30")`,
      );
    });

    it('rejects a window below one second', () => {
      expect(configError({ JELMORE_RATE_LIMIT_WINDOW_SECONDS: '0' }).message).toContain(
        'JELMORE_RATE_LIMIT_WINDOW_SECONDS',
      );
    });

    it('allows 20 failed authentications per address per window, or JELMORE_AUTH_FAILURE_LIMIT', () => {
      expect(loadConfig({}).authFailureLimit).toBe(20);
      expect(loadConfig({ JELMORE_AUTH_FAILURE_LIMIT: '5' }).authFailureLimit).toBe(5);
      expect(loadConfig({ JELMORE_CONFIG: configFile({ auth_failure_limit: 7 }) })).toMatchObject({
        authFailureLimit: 7,
      });
      expect(configError({ JELMORE_AUTH_FAILURE_LIMIT: '0' }).message).toContain(
        'JELMORE_AUTH_FAILURE_LIMIT',
      );
    });

    it('trusts no proxy by default; JELMORE_TRUST_PROXY or trust_proxy name them, checked', () => {
      expect(loadConfig({}).trustProxy).toBeUndefined();
      expect(loadConfig({ JELMORE_TRUST_PROXY: '1' }).trustProxy).toBe(1);
      expect(loadConfig({ JELMORE_TRUST_PROXY: 'loopback,10.0.0.0/8' }).trustProxy).toEqual([
        'loopback',
        '10.0.0.0/8',
      ]);
      expect(
        loadConfig({ JELMORE_CONFIG: configFile({ trust_proxy: ['uniquelocal'] }) }).trustProxy,
      ).toEqual(['uniquelocal']);
      expect(configError({ JELMORE_TRUST_PROXY: 'everyone' }).message).toBe(
        'Invalid configuration: JELMORE_TRUST_PROXY must be a hop count or comma-separated addresses, CIDRs or loopback, linklocal, uniquelocal (got "everyone")',
      );
    });

    it('keeps API keys as digests, also from an owner-only JELMORE_API_KEYS_FILE', () => {
      const dir = mkdtempSync(join(tmpdir(), 'jelmore-keys-'));
      try {
        const file = join(dir, 'keys');
        writeFileSync(
          file,
          '# tenants\nalice:alice-key-0123456789\nops:ops-key-0123456789:admin\n',
          {
            mode: 0o600,
          },
        );
        const config = loadConfig({
          JELMORE_API_KEYS: 'bob:bob-key-0123456789ab',
          JELMORE_API_KEYS_FILE: file,
        });
        expect(config.apiKeys.map((k) => [k.id, k.admin])).toEqual([
          ['bob', false],
          ['alice', false],
          ['ops', true],
        ]);
        expect(JSON.stringify(config)).not.toContain('alice-key-0123456789');
        expect(config.apiKeys[1].digest).toBe(keyDigest('alice-key-0123456789'));
        // Hidden from agents' sandboxes, like the config file.
        expect(config.secretFiles).toContain(file);
        chmodSync(file, 0o644);
        expect(configError({ JELMORE_API_KEYS_FILE: file }).message).toBe(
          `Invalid configuration: JELMORE_API_KEYS_FILE ${file} must be readable by its owner only (chmod 600; it is 644)`,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("rejects a key with a share token's prefix: it would be refused at every use", () => {
      const message = configError({
        JELMORE_API_KEYS: 'alice:alice-key-0123456789,ops:jls_ops-key-0123456789:admin',
      }).message;
      expectOneLine(message);
      expect(message).toBe(
        "Invalid configuration: JELMORE_API_KEYS entry 2 ('ops') starts with jls_, the prefix of share link tokens: choose another key",
      );
      // Elsewhere in a key the letters are no prefix.
      expect(loadConfig({ JELMORE_API_KEYS: 'bob:bob-jls_-key-0123456789' }).apiKeys).toHaveLength(
        1,
      );
    });

    it('sandboxes agents with bubblewrap and the host network unless told otherwise', () => {
      expect(loadConfig({})).toMatchObject({ agentSandbox: 'bwrap', agentNetwork: 'host' });
      expect(
        loadConfig({ JELMORE_AGENT_SANDBOX: 'off', JELMORE_AGENT_NETWORK: 'none' }),
      ).toMatchObject({ agentSandbox: 'off', agentNetwork: 'none' });
      expect(configError({ JELMORE_AGENT_SANDBOX: 'docker' }).message).toContain(
        'JELMORE_AGENT_SANDBOX',
      );
    });
  });
});
