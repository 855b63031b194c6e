import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode } from '@jelmore/contracts';
import {
  checkPublicUrl,
  isPrivateAddress,
  postOutbound,
  privateAddressOf,
  refusePrivateLiteral,
} from './outbound-network';

describe('outbound network guard', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.31.255.255',
    '192.168.0.10',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.251',
    '::1',
    '::',
    'fd12:3456::1',
    'fe80::1',
    '::ffff:127.0.0.1',
    '::ffff:a9fe:a9fe',
  ])('%s is private', (address) => expect(isPrivateAddress(address)).toBe(true));

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111', 'example.com'])(
    '%s is not',
    (address) => expect(isPrivateAddress(address)).toBe(false),
  );

  it('finds the private address a URL names or resolves to', async () => {
    expect(await privateAddressOf(new URL('http://127.0.0.1:8080/hook'))).toBe('127.0.0.1');
    expect(await privateAddressOf(new URL('http://[::1]/hook'))).toBe('::1');
    expect(await privateAddressOf(new URL('http://localhost/hook'))).toMatch(
      /^(127\.0\.0\.1|::1)$/,
    );
    expect(await privateAddressOf(new URL('http://203.0.113.9/hook'))).toBeUndefined();
    // A name that resolves to nothing is not refused here: its deliveries fail and retry.
    expect(await privateAddressOf(new URL('http://no-such-host.invalid/hook'))).toBeUndefined();
  });

  it('refuses a registered URL that reaches a private address, with its field, unless allowed', async () => {
    await expect(checkPublicUrl('https://[::1]:9/push', 'endpoint', false)).rejects.toMatchObject({
      code: ErrorCode.PrivateAddress,
      message:
        'endpoint reaches ::1, a loopback, private or link-local address (the operator may allow these: JELMORE_ALLOW_PRIVATE_NETWORKS)',
      details: { field: 'endpoint' },
    });
    await expect(checkPublicUrl('http://localhost/hook', 'url', false)).rejects.toMatchObject({
      code: ErrorCode.PrivateAddress,
      details: { field: 'url' },
    });
    await checkPublicUrl('http://localhost/hook', 'url', true);
    await checkPublicUrl('https://203.0.113.9/hook', 'url', false);
  });

  it('refuses a private address literal before any send; a name waits for its lookup', () => {
    for (const url of [
      'http://10.0.0.7/x',
      'https://[fe80::1]:8443/x',
      'http://[::ffff:127.0.0.1]/',
    ]) {
      expect(() => refusePrivateLiteral(new URL(url))).toThrow(/ is a private address$/);
    }
    expect(() => refusePrivateLiteral(new URL('https://[::1]/x'))).toThrow(
      '::1 is a private address',
    );
    for (const url of [
      'https://203.0.113.9/x',
      'https://[2606:4700::1111]/x',
      'http://localhost/x',
    ]) {
      expect(() => refusePrivateLiteral(new URL(url))).not.toThrow();
    }
  });

  describe('postOutbound', () => {
    let server: Server;
    let port = 0;
    const hits: string[] = [];

    beforeAll(async () => {
      server = createServer((req, res) => {
        hits.push(req.url ?? '');
        res.writeHead(204).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const post = (url: string, publicOnly: boolean) =>
      postOutbound(new URL(url), {
        headers: { 'content-type': 'application/json' },
        body: '{}',
        signal: AbortSignal.timeout(5_000),
        publicOnly,
      });

    it('reaches a private address only when allowed', async () => {
      await expect(post(`http://127.0.0.1:${port}/literal`, true)).rejects.toThrow(
        '127.0.0.1 is a private address',
      );
      // Checked when the socket connects, whatever the name resolved to before.
      await expect(post(`http://localhost:${port}/named`, true)).rejects.toThrow(
        /localhost resolves to (127\.0\.0\.1|::1), a private address/,
      );
      expect(await post(`http://127.0.0.1:${port}/allowed`, false)).toBe(204);
      expect(hits).toEqual(['/allowed']);
    });
  });
});
