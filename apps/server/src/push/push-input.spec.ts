import { createECDH, randomBytes } from 'node:crypto';
import { checkAction, checkSubscription } from './push-input';

const ecdh = createECDH('prime256v1');
ecdh.generateKeys();
const good = {
  endpoint: 'https://push.example.com/send/abc',
  expirationTime: null,
  keys: {
    p256dh: ecdh.getPublicKey().toString('base64url'),
    auth: randomBytes(16).toString('base64url'),
  },
};

describe('checkSubscription', () => {
  it('takes what PushSubscription.toJSON() gives', () => {
    expect(checkSubscription(good)).toEqual({ endpoint: good.endpoint, keys: good.keys });
  });

  it.each([
    [null, 'subscription must be an object'],
    [{ ...good, endpoint: 'http://push.example.com/x' }, 'endpoint must be an https URL'],
    [{ ...good, endpoint: `https://x/${'a'.repeat(2100)}` }, 'endpoint must be an https URL'],
    [{ ...good, keys: undefined }, 'keys must be an object'],
    [{ ...good, keys: { ...good.keys, p256dh: 'AAAA' } }, 'keys.p256dh must be'],
    [{ ...good, keys: { ...good.keys, p256dh: 'not base64!' } }, 'keys.p256dh must be'],
    [{ ...good, keys: { ...good.keys, auth: 'AAAA' } }, 'keys.auth must be'],
    [{ ...good, extra: 1 }, 'extra is not one of'],
  ])('refuses %j', (raw, message) => {
    expect(() => checkSubscription(raw)).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
    expect(() => checkSubscription(raw)).toThrow(message);
  });
});

describe('checkAction', () => {
  it('takes allow with the ids the notification named', () => {
    expect(checkAction({ allow: false, sessionId: 's', requestId: 'r' })).toEqual({
      allow: false,
      sessionId: 's',
      requestId: 'r',
    });
    expect(checkAction({ allow: true })).toEqual({ allow: true });
  });

  it.each([[{}], [{ allow: 'yes' }], [{ allow: true, sessionId: 1 }], [{ allow: true, key: 'x' }]])(
    'refuses %j',
    (raw) => {
      expect(() => checkAction(raw)).toThrow(
        expect.objectContaining({ code: 'VALIDATION_FAILED' }),
      );
    },
  );
});
