import { loadShares } from './shares.config';

describe('loadShares', () => {
  it('defaults: a day, at most 30 days, the request origin; the API keys kept hidden', () => {
    const config = loadShares({ JELMORE_API_KEYS: 'alice:alice-key-0123456789' }, {});
    expect(config).toMatchObject({ defaultTtlSeconds: 86_400, maxTtlSeconds: 2_592_000 });
    expect(config.publicUrl).toBeUndefined();
    expect(config.secrets.values).toEqual(['alice-key-0123456789']);
    expect(JSON.stringify(config)).not.toContain('alice-key');
  });

  it('takes env over the file and trims the public URL', () => {
    const config = loadShares(
      { JELMORE_SHARE_DEFAULT_TTL_SECONDS: '60', JELMORE_PUBLIC_URL: 'https://j.example.com/' },
      { shares: { max_ttl_seconds: 3600 } },
    );
    expect(config).toMatchObject({
      defaultTtlSeconds: 60,
      maxTtlSeconds: 3600,
      publicUrl: 'https://j.example.com',
    });
  });

  it('refuses bad values with one line naming the key', () => {
    expect(() => loadShares({ JELMORE_SHARE_MAX_TTL_SECONDS: '0' }, {})).toThrow(
      /JELMORE_SHARE_MAX_TTL_SECONDS must be a positive integer/,
    );
    expect(() =>
      loadShares(
        { JELMORE_SHARE_DEFAULT_TTL_SECONDS: '100', JELMORE_SHARE_MAX_TTL_SECONDS: '10' },
        {},
      ),
    ).toThrow(/must not exceed/);
    expect(() => loadShares({ JELMORE_PUBLIC_URL: 'ftp://x' }, {})).toThrow(/JELMORE_PUBLIC_URL/);
  });
});
