import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateVAPIDKeys } from 'web-push';
import { ConfigError } from '../config/config-error';
import { PushKeys } from './push-keys';
import type { PushOptions } from './push.constants';

describe('PushKeys', () => {
  let dir: string;
  const options = (more: Partial<PushOptions> = {}): PushOptions => ({
    subject: 'mailto:ops@example.com',
    tokenTtlSeconds: 60,
    timeoutMs: 1000,
    dataDir: join(dir, 'data'),
    clustered: false,
    adminOwners: [],
    allowPrivateNetworks: false,
    ...more,
  });

  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'jelmore-push-keys-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('generates a pair at first boot into the data dir (0600) and keeps it', () => {
    const first = new PushKeys(options());
    first.onModuleInit();
    const file = join(dir, 'data', 'vapid.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(first.pair);
    const again = new PushKeys(options());
    again.onModuleInit();
    expect(again.publicKey).toBe(first.publicKey);
  });

  it("uses the operator's pair when set", () => {
    const vapid = generateVAPIDKeys();
    const keys = new PushKeys(options({ vapid }));
    keys.onModuleInit();
    expect(keys.pair).toEqual(vapid);
  });

  it('stops the boot with one line on a bad key file, never quoting the private key', () => {
    const keys = new PushKeys(options());
    keys.onModuleInit();
    const file = join(dir, 'data', 'vapid.json');
    const other = generateVAPIDKeys();
    writeFileSync(file, JSON.stringify({ ...keys.pair, privateKey: other.privateKey }));
    const broken = new PushKeys(options());
    expect(() => broken.onModuleInit()).toThrow(ConfigError);
    expect(() => broken.onModuleInit()).toThrow(
      `Invalid configuration: ${file}: privateKey is not the private key of ${file}: publicKey`,
    );
    writeFileSync(file, '{');
    expect(() => broken.onModuleInit()).toThrow(`${file} is not JSON`);
  });
});
