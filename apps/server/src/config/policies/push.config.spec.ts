import { generateVAPIDKeys } from 'web-push';
import { ConfigError } from '../config-error';
import { loadPush } from './push.config';

describe('loadPush', () => {
  const vapid = generateVAPIDKeys();
  const env = {
    JELMORE_VAPID_PUBLIC_KEY: vapid.publicKey,
    JELMORE_VAPID_PRIVATE_KEY: vapid.privateKey,
  };

  it('has defaults, and no keys (PushKeys makes them)', () => {
    expect(loadPush({}, {})).toEqual({
      subject: 'mailto:jelmore@localhost',
      tokenTtlSeconds: 600,
      timeoutMs: 10_000,
    });
  });

  it('takes a pair from env and the rest from the file', () => {
    expect(
      loadPush(env, { push: { vapid_subject: 'https://ops.example.com', token_ttl_seconds: 30 } }),
    ).toEqual({
      vapid,
      subject: 'https://ops.example.com',
      tokenTtlSeconds: 30,
      timeoutMs: 10_000,
    });
  });

  it.each([
    [{ JELMORE_VAPID_PUBLIC_KEY: vapid.publicKey }, 'set both JELMORE_VAPID_PUBLIC_KEY and'],
    [{ ...env, JELMORE_VAPID_PUBLIC_KEY: 'abc' }, 'JELMORE_VAPID_PUBLIC_KEY must be a base64url'],
    [{ ...env, JELMORE_VAPID_PRIVATE_KEY: 'abc' }, 'JELMORE_VAPID_PRIVATE_KEY must be a base64url'],
    [
      { ...env, JELMORE_VAPID_PRIVATE_KEY: generateVAPIDKeys().privateKey },
      'JELMORE_VAPID_PRIVATE_KEY is not the private key of JELMORE_VAPID_PUBLIC_KEY',
    ],
    [{ JELMORE_VAPID_SUBJECT: 'ops@example.com' }, 'JELMORE_VAPID_SUBJECT must be a mailto:'],
    [{ JELMORE_PUSH_TOKEN_TTL_SECONDS: '0' }, 'JELMORE_PUSH_TOKEN_TTL_SECONDS must be a positive'],
    [{ JELMORE_PUSH_TIMEOUT_MS: 'soon' }, 'JELMORE_PUSH_TIMEOUT_MS must be a positive'],
  ] as Array<[Record<string, string>, string]>)(
    'stops the boot with one line for %j',
    (bad, message) => {
      let error: unknown;
      try {
        loadPush(bad, {});
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const text = (error as Error).message;
      expect(text).toContain(message);
      expect(text).not.toContain('\n');
      expect(text).not.toContain(bad.JELMORE_VAPID_PRIVATE_KEY ?? '(none)');
    },
  );
});
