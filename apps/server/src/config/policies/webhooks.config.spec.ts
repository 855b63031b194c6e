import { ConfigError } from '../config-error';
import { configError } from '../jelmore.config.spec-helpers';
import { loadWebhooks } from './webhooks.config';

describe('loadWebhooks', () => {
  const settings = {
    webhookRetryBaseMs: 10_000,
    webhookMaxAttempts: 3,
    webhookTimeoutMs: 10_000,
    allowPrivateNetworks: false,
  };
  const hook = {
    url: 'https://example.com/hook',
    events: ['result', 'failed'],
    secret: 'x'.repeat(16),
  };

  it('reads the file, with the delivery settings', () => {
    expect(loadWebhooks(settings, { webhooks: [hook] })).toEqual({
      targets: [hook],
      retryBaseMs: 10_000,
      maxAttempts: 3,
      timeoutMs: 10_000,
      allowPrivateNetworks: false,
    });
    expect(loadWebhooks(settings, {}).targets).toEqual([]);
  });

  it.each([
    [{ webhooks: {} }, 'webhooks must be a list'],
    [
      { webhooks: [{ ...hook, url: 'ftp://example.com' }] },
      'webhooks[0].url must be an http or https URL',
    ],
    [{ webhooks: [{ ...hook, events: ['nope'] }] }, 'webhooks[0].events must be a non-empty list'],
    [{ webhooks: [{ ...hook, secret: 'short' }] }, 'webhooks[0].secret must be a string of 16'],
    [
      { webhooks: [{ ...hook, headers: {} }] },
      'webhooks[0].headers is not one of url, events, secret',
    ],
  ])('refuses %j in one line', (file, message) => {
    expect(() => loadWebhooks(settings, file, 'jelmore.json')).toThrow(ConfigError);
    expect(() => loadWebhooks(settings, file, 'jelmore.json')).toThrow(message);
  });

  it('refuses a delivery setting that is not a positive integer, in one line', () => {
    expect(configError({ JELMORE_WEBHOOK_TIMEOUT_MS: '0' }).message).toContain(
      'JELMORE_WEBHOOK_TIMEOUT_MS',
    );
  });
});
