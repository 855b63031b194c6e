import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './jelmore.config';

/** The ConfigError loadConfig throws for env, with its message. */
export function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('loadConfig did not throw');
}

export function expectOneLine(message: string): void {
  expect(message).not.toMatch(/[\r\n]/);
  expect(message.length).toBeGreaterThan(0);
}

/**
 * A fresh temporary folder for each test of the enclosing describe, removed after it; `onCreate` is
 * told each one. Returns the writer of a config file (JSON, or the string as it is) in the folder.
 */
export function withConfigDir(
  onCreate: (dir: string) => void = () => {},
): (content: unknown, name?: string) => string {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jelmore-config-'));
    onCreate(dir);
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  return function configFile(content: unknown, name = 'jelmore.json'): string {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
}
