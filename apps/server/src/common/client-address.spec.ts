import type { IncomingMessage } from 'node:http';
import { clientAddress, parseTrustProxy } from './client-address';

const request = (remoteAddress: string, forwarded?: string) =>
  ({
    socket: { remoteAddress },
    headers: forwarded ? { 'x-forwarded-for': forwarded } : {},
  }) as unknown as IncomingMessage;

describe('clientAddress', () => {
  const trustLoopback = (address: string) => address === '127.0.0.1';

  it('is the connection`s address when no proxy is trusted, whatever the header says', () => {
    expect(clientAddress(request('10.1.2.3', '203.0.113.7'), undefined)).toBe('10.1.2.3');
  });

  it('reads X-Forwarded-For from the right while the hops are trusted', () => {
    expect(clientAddress(request('127.0.0.1', '203.0.113.7'), trustLoopback)).toBe('203.0.113.7');
    // A client cannot hide behind an address it writes itself: the first untrusted hop counts.
    expect(clientAddress(request('127.0.0.1', '1.1.1.1, 203.0.113.7'), trustLoopback)).toBe(
      '203.0.113.7',
    );
    expect(clientAddress(request('10.1.2.3', '203.0.113.7'), trustLoopback)).toBe('10.1.2.3');
    expect(clientAddress(request('127.0.0.1'), trustLoopback)).toBe('127.0.0.1');
  });
});

describe('parseTrustProxy', () => {
  it('takes a hop count, addresses, CIDRs and Express`s keywords', () => {
    expect(parseTrustProxy('2')).toBe(2);
    expect(parseTrustProxy('loopback, 10.0.0.0/8,fd00::/8')).toEqual([
      'loopback',
      '10.0.0.0/8',
      'fd00::/8',
    ]);
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'everyone', '10.0.0.0/33', '10.0.0.1/8/2', 'true']) {
      expect(parseTrustProxy(bad)).toBeUndefined();
    }
  });
});
