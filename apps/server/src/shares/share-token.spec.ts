import { redactUrl } from '../common/request-logging';
import {
  hashShareToken,
  isShareToken,
  isWellFormedShareToken,
  mintShareToken,
} from './share-token';

describe('share tokens', () => {
  it('are 32 random bytes, base64url, with a prefix that tells them from keys', () => {
    const tokens = new Set(Array.from({ length: 100 }, mintShareToken));
    expect(tokens.size).toBe(100);
    for (const token of tokens) {
      expect(isWellFormedShareToken(token)).toBe(true);
      expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32);
    }
    expect(isShareToken('jls_anything')).toBe(true);
    expect(isShareToken('alice-key-0123456789')).toBe(false);
    expect(isShareToken(undefined)).toBe(false);
    expect(isWellFormedShareToken('jls_short')).toBe(false);
  });

  it('are stored as their SHA-256 only', () => {
    const token = mintShareToken();
    expect(hashShareToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashShareToken(token)).not.toContain(token.slice(4));
  });
});

describe('the request log', () => {
  it('never holds a share token of a path', () => {
    const token = mintShareToken();
    expect(redactUrl(`/share/${token}`)).toBe('/share/jls_[Redacted]');
    expect(redactUrl(`/v1/shared/${token}/events?after=3`)).toBe(
      '/v1/shared/jls_[Redacted]/events?after=3',
    );
  });
});
