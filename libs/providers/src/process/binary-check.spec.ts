import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BinaryCheck, CachedBinaryCheck, checkBinary } from './binary-check';

describe('checkBinary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-bin-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const names = { label: 'Tool CLI', notFound: 'Tool CLI not found: set JELMORE_TOOL_BIN' };

  it('answers with the version a runnable binary prints', async () => {
    const bin = join(dir, 'ok');
    writeFileSync(bin, '#!/bin/sh\necho "1.2.3 (Tool)"\n');
    chmodSync(bin, 0o755);
    expect(await checkBinary(bin, names)).toEqual({ ok: true, version: '1.2.3 (Tool)' });
  });

  it('names the reason: no path, not executable, does not run', async () => {
    expect(await checkBinary(undefined, names)).toEqual({ ok: false, reason: names.notFound });
    const plain = join(dir, 'plain');
    writeFileSync(plain, 'not a program');
    expect((await checkBinary(plain, names)).reason).toBe(
      `Tool CLI at ${plain} is missing or not executable`,
    );
    expect((await checkBinary('/bin/false', names)).reason).toMatch(
      /^Tool CLI at \/bin\/false did not run: /,
    );
  });

  it('runs a node script with the server’s node, reading it rather than executing it', async () => {
    const script = join(dir, 'cli.js');
    writeFileSync(script, 'console.log(process.argv.slice(2).join(" "))');
    expect(await checkBinary(script, { ...names, nodeScript: true })).toEqual({
      ok: true,
      version: '--version',
    });
  });
});

describe('CachedBinaryCheck', () => {
  it('shares a check under way, reuses a fresh answer, and asks again once it is stale', async () => {
    let now = 1_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    let runs = 0;
    const cached = new CachedBinaryCheck(async (): Promise<BinaryCheck> => {
      runs++;
      return { ok: true, version: `v${runs}` };
    }, 30_000);
    expect(cached.last).toEqual({ ok: false, reason: 'not checked yet' });
    const [a, b] = await Promise.all([cached.check(), cached.check()]);
    expect([a.version, b.version, runs]).toEqual(['v1', 'v1', 1]);
    now += 30_000;
    expect((await cached.check()).version).toBe('v1');
    now += 1;
    expect((await cached.check()).version).toBe('v2');
    expect(cached.last.version).toBe('v2');
    expect(cached.checkedAt).toBe(new Date(31_001).toISOString());
    jest.restoreAllMocks();
  });
});
