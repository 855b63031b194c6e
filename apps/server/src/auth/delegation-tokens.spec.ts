import { DelegationTokens } from './delegation-tokens';

describe('DelegationTokens', () => {
  const session = { id: 'parent-1', owner: 'alice', depth: 0 };

  it("acts as the session's owner, never an admin, on that session's children", () => {
    const tokens = new DelegationTokens();
    const token = tokens.mint(session);
    expect(tokens.isDelegationToken(token)).toBe(true);
    expect(tokens.verify(token)).toEqual({ id: 'alice', admin: false, delegatedBy: 'parent-1' });
  });

  it('refuses a token once it expired, one signed by another process, and a tampered one', () => {
    let now = Date.parse('2026-12-04T00:00:00Z');
    const tokens = new DelegationTokens(() => now);
    const token = tokens.mint(session);
    now += 24 * 3600 * 1000 - 1;
    expect(tokens.verify(token)).toBeDefined();
    now += 1;
    expect(tokens.verify(token)).toBeUndefined();

    const fresh = tokens.mint(session);
    expect(new DelegationTokens(() => now).verify(fresh)).toBeUndefined();
    const [body, signature] = fresh.slice('jdt.'.length).split('.');
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as { o: string };
    const forged = Buffer.from(JSON.stringify({ ...claims, o: 'admin' })).toString('base64url');
    expect(tokens.verify(`jdt.${forged}.${signature}`)).toBeUndefined();
    expect(tokens.verify('jdt.e30')).toBeUndefined();
    expect(tokens.verify('jdt.')).toBeUndefined();
  });

  it('tells its tokens from API keys by their prefix only', () => {
    const tokens = new DelegationTokens();
    expect(tokens.isDelegationToken('jdt.anything')).toBe(true);
    expect(tokens.isDelegationToken('alice-key-0123456789')).toBe(false);
    expect(tokens.isDelegationToken(undefined)).toBe(false);
  });
});
