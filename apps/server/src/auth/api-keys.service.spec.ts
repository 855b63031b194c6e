import { ErrorCode } from '@jelmore/contracts';
import { loadConfig } from '../config/jelmore.config';
import {
  adminOwners,
  ApiKeysService,
  LOCAL_PRINCIPAL,
  shareTokenRefusal,
} from './api-keys.service';

const SHARE_TOKEN = `jls_${'A'.repeat(43)}`;

describe('API keys', () => {
  const keyed = loadConfig({
    JELMORE_API_KEYS:
      'alice:alice-key-0123456789,ops:ops-key-0123456789:admin,root:root-key-0123456789:admin',
  });
  const keyless = loadConfig({});

  it('names the admin keys as the owners who see every session; without keys, the local admin', () => {
    expect(adminOwners(keyed)).toEqual(['ops', 'root']);
    expect(adminOwners(loadConfig({ JELMORE_API_KEYS: 'alice:alice-key-0123456789' }))).toEqual([]);
    expect(adminOwners(keyless)).toEqual([LOCAL_PRINCIPAL.id]);
    // The same principals the keys authenticate as.
    const keys = new ApiKeysService(keyed);
    expect(keys.authenticate('ops-key-0123456789')).toEqual({ id: 'ops', admin: true });
    expect(keys.authenticate('alice-key-0123456789')).toEqual({ id: 'alice', admin: false });
    expect(new ApiKeysService(keyless).authenticate(undefined)).toBe(LOCAL_PRINCIPAL);
  });

  it("refuses a share link's token by name wherever it stands, and never takes it for a key", () => {
    expect(shareTokenRefusal(undefined, 'alice-key-0123456789')).toBeUndefined();
    for (const presented of [[SHARE_TOKEN], [undefined, SHARE_TOKEN], ['jls_short']]) {
      expect(shareTokenRefusal(...presented)).toMatchObject({
        code: ErrorCode.ShareTokenReadOnly,
        message: expect.stringContaining('GET /v1/shared/{token}'),
      });
    }
    expect(new ApiKeysService(keyless).authenticate(SHARE_TOKEN)).toBeUndefined();
  });
});
