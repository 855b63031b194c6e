import { isAbsolute, join, resolve } from 'node:path';
import { loadConfig } from './jelmore.config';
import { configError, expectOneLine, withConfigDir } from './jelmore.config.spec-helpers';

// The server's own settings: defaults, variables, the file, the shared workspace, and their errors.
describe('loadConfig', () => {
  let dir: string;
  const configFile = withConfigDir((created) => (dir = created));

  describe('defaults', () => {
    it('listens on port 3000 with the claude provider and its defaults', () => {
      const config = loadConfig({});

      expect(config.port).toBe(3000);
      expect(config.host).toBe('127.0.0.1');
      expect(config.defaultProvider).toBe('claude');
      expect(config.claude).toMatchObject({
        enabled: true,
        defaultModel: 'sonnet',
        maxConcurrentSessions: 10,
        permissionMode: 'acceptEdits',
      });
      expect(config.claude.bin).toBeUndefined();
    });

    it('makes dataDir and workspaceRoot absolute', () => {
      const config = loadConfig({});

      expect(isAbsolute(config.dataDir)).toBe(true);
      expect(config.dataDir).toBe(resolve('data'));
      expect(isAbsolute(config.workspaceRoot)).toBe(true);
      expect(config.workspaceRoot).toBe(resolve('workspace'));
    });

    it('keeps the SQLite database under the data dir', () => {
      const config = loadConfig({});
      expect(config.databaseUrl).toMatch(/^sqlite:/);
      expect(resolve(config.databaseUrl.slice('sqlite:'.length))).toBe(
        join(config.dataDir, 'jelmore.db'),
      );

      const moved = loadConfig({ JELMORE_DATA_DIR: dir });
      expect(moved.dataDir).toBe(dir);
      expect(moved.databaseUrl).toBe(`sqlite:${dir}/jelmore.db`);
    });
  });

  describe('environment', () => {
    it('takes JELMORE_PORT and JELMORE_CLAUDE_BIN', () => {
      const config = loadConfig({ JELMORE_PORT: '4000', JELMORE_CLAUDE_BIN: '/opt/claude/bin' });
      expect(config.port).toBe(4000);
      expect(config.claude.bin).toBe('/opt/claude/bin');
    });

    it('parses booleans, integers and lists', () => {
      const config = loadConfig({
        JELMORE_CLAUDE_ENABLED: 'off',
        JELMORE_CLAUDE_MAX_CONCURRENT_SESSIONS: '2',
        JELMORE_CLAUDE_ALLOWED_TOOLS: 'Bash, Read,,',
        JELMORE_CLAUDE_PERMISSION_MODE: 'plan',
      });
      expect(config.claude.enabled).toBe(false);
      expect(config.claude.maxConcurrentSessions).toBe(2);
      expect(config.claude.allowedTools).toEqual(['Bash', 'Read']);
      expect(config.claude.permissionMode).toBe('plan');
    });

    it('keeps no warm Claude processes unless asked to', () => {
      expect(loadConfig({}).claude.warmPoolSize).toBe(0);
      expect(loadConfig({ JELMORE_CLAUDE_WARM_POOL_SIZE: '2' }).claude.warmPoolSize).toBe(2);
    });

    it('denies unanswered permission requests after 300 s, or JELMORE_PERMISSION_TIMEOUT_SECONDS', () => {
      expect(loadConfig({}).permissionTimeoutSeconds).toBe(300);
      expect(loadConfig({ JELMORE_PERMISSION_TIMEOUT_SECONDS: '5' }).permissionTimeoutSeconds).toBe(
        5,
      );
      expect(
        loadConfig({ JELMORE_CONFIG: configFile({ permission_timeout_seconds: 42 }) })
          .permissionTimeoutSeconds,
      ).toBe(42);
    });

    it('takes a PostgreSQL JELMORE_DATABASE_URL in either scheme', () => {
      for (const url of [
        'postgres://jelmore@db:5432/jelmore',
        'postgresql://db/jelmore?sslmode=require',
      ]) {
        expect(loadConfig({ JELMORE_DATABASE_URL: url }).databaseUrl).toBe(url);
      }
    });

    it('treats an empty variable as unset', () => {
      expect(loadConfig({ JELMORE_PORT: '' }).port).toBe(3000);
    });
  });

  describe('JSON file (JELMORE_CONFIG)', () => {
    const seed = {
      default_provider: 'claude',
      providers: { claude: { default_model: 'opus', max_concurrent_sessions: 3 } },
    };

    it('reads the snake_case keys of the seed', () => {
      const config = loadConfig({ JELMORE_CONFIG: configFile(seed) });
      expect(config.defaultProvider).toBe('claude');
      expect(config.claude.defaultModel).toBe('opus');
      expect(config.claude.maxConcurrentSessions).toBe(3);
      // Keys the file leaves out keep their defaults.
      expect(config.port).toBe(3000);
      expect(config.claude.permissionMode).toBe('acceptEdits');
    });

    it('reads top-level keys and claude_bin', () => {
      const config = loadConfig({
        JELMORE_CONFIG: configFile({
          port: 5000,
          session_ttl_seconds: 60,
          providers: { claude: { claude_bin: '/usr/local/bin/claude' } },
        }),
      });
      expect(config.port).toBe(5000);
      expect(config.sessionTtlSeconds).toBe(60);
      expect(config.claude.bin).toBe('/usr/local/bin/claude');
    });

    it('lets the environment win over the file', () => {
      const config = loadConfig({
        JELMORE_CONFIG: configFile({ ...seed, port: 5000 }),
        JELMORE_PORT: '4000',
        JELMORE_CLAUDE_MAX_CONCURRENT_SESSIONS: '7',
      });
      expect(config.port).toBe(4000);
      expect(config.claude.maxConcurrentSessions).toBe(7);
      expect(config.claude.defaultModel).toBe('opus');
    });
  });

  describe('shared workspace', () => {
    it('is none by default, and a folder of the workspace root when set, relative to the root', () => {
      expect(loadConfig({}).sharedWorkspace).toBeUndefined();
      const root = join(dir, 'ws');
      const config = (shared: string) =>
        loadConfig({ JELMORE_WORKSPACE_ROOT: root, JELMORE_SHARED_WORKSPACE: shared });
      expect(config('team').sharedWorkspace).toBe(join(root, 'team'));
      expect(config(join(root, 'a', 'b')).sharedWorkspace).toBe(join(root, 'a', 'b'));
      const fromFile = loadConfig({
        JELMORE_WORKSPACE_ROOT: root,
        JELMORE_CONFIG: configFile({ shared_workspace: 'team' }),
      });
      expect(fromFile.sharedWorkspace).toBe(join(root, 'team'));
    });

    it.each([['.'], ['..'], ['../elsewhere'], ['/etc']])(
      'must lie inside the workspace root, not be it: %s is refused',
      (shared) => {
        const { message } = configError({
          JELMORE_WORKSPACE_ROOT: join(dir, 'ws'),
          JELMORE_SHARED_WORKSPACE: shared,
        });
        expect(message).toContain(
          'JELMORE_SHARED_WORKSPACE must be a folder inside the workspace root',
        );
        expectOneLine(message);
      },
    );
  });

  describe('errors: one line naming the key', () => {
    it('JELMORE_PORT=abc', () => {
      const { message } = configError({ JELMORE_PORT: 'abc' });
      expect(message).toContain('JELMORE_PORT');
      expect(message).toContain('"abc"');
      expectOneLine(message);
    });

    it('JELMORE_PORT out of range', () => {
      const { message } = configError({ JELMORE_PORT: '70000' });
      expect(message).toContain('JELMORE_PORT');
      expectOneLine(message);
    });

    it('a port of the wrong JSON type is said to need an integer, not a smaller number', () => {
      const { message } = configError({ JELMORE_CONFIG: configFile({ port: '3000' }) });
      expect(message).toContain('port must be an integer');
      expectOneLine(message);
    });

    it('a default model Claude does not serve', () => {
      const { message } = configError({ JELMORE_CLAUDE_DEFAULT_MODEL: 'gpt-4o' });
      expect(message).toContain('JELMORE_CLAUDE_DEFAULT_MODEL must be a Claude model');
      expectOneLine(message);
    });

    it('a warm pool size that is negative or not a whole number', () => {
      for (const value of ['-1', 'two', '17']) {
        const { message } = configError({ JELMORE_CLAUDE_WARM_POOL_SIZE: value });
        expect(message).toContain('JELMORE_CLAUDE_WARM_POOL_SIZE');
        expectOneLine(message);
      }
    });

    it('a permission timeout that is not a whole number of seconds, at least 1', () => {
      for (const value of ['0', '-5', 'soon']) {
        const { message } = configError({ JELMORE_PERMISSION_TIMEOUT_SECONDS: value });
        expect(message).toContain('JELMORE_PERMISSION_TIMEOUT_SECONDS');
        expectOneLine(message);
      }
    });

    it('JELMORE_CLAUDE_PERMISSION_MODE=yolo', () => {
      const { message } = configError({ JELMORE_CLAUDE_PERMISSION_MODE: 'yolo' });
      expect(message).toContain('JELMORE_CLAUDE_PERMISSION_MODE');
      expect(message).toContain('yolo');
      expectOneLine(message);
    });

    it('stays on one line when the bad value holds a newline', () => {
      const { message } = configError({ JELMORE_CLAUDE_PERMISSION_MODE: 'yo\nlo' });
      expect(message).toContain('JELMORE_CLAUDE_PERMISSION_MODE');
      expectOneLine(message);
    });

    it('a database URL of another kind names the key and both forms, never the password', () => {
      const { message } = configError({ JELMORE_DATABASE_URL: 'mysql://app:s3cret@db/jelmore' });
      expect(message).toContain(
        'JELMORE_DATABASE_URL must look like sqlite:<path> or postgres://[user[:password]@]host[:port]/database',
      );
      expect(message).toContain('mysql://app:***@db/jelmore');
      expect(message).not.toContain('s3cret');
      expectOneLine(message);
    });

    it('a bad boolean names its variable', () => {
      const { message } = configError({ JELMORE_CLAUDE_ENABLED: 'maybe' });
      expect(message).toContain('JELMORE_CLAUDE_ENABLED');
      expectOneLine(message);
    });

    it('a bad value in the file names the file and the key path', () => {
      const path = configFile({ providers: { claude: { max_concurrent_sessions: 0 } } });
      const { message } = configError({ JELMORE_CONFIG: path });
      expect(message).toContain('providers.claude.max_concurrent_sessions');
      expect(message).toContain(path);
      expectOneLine(message);
    });

    it('a bad top-level value in the file names its key', () => {
      const path = configFile({ default_provider: 'gpt' });
      const { message } = configError({ JELMORE_CONFIG: path });
      expect(message).toContain('default_provider');
      expect(message).toContain('"gpt"');
      expectOneLine(message);
    });

    it('a good env value hides a bad file value for the same key', () => {
      const path = configFile({ providers: { claude: { max_concurrent_sessions: 'many' } } });
      const config = loadConfig({
        JELMORE_CONFIG: path,
        JELMORE_CLAUDE_MAX_CONCURRENT_SESSIONS: '4',
      });
      expect(config.claude.maxConcurrentSessions).toBe(4);
    });

    it('a missing file', () => {
      const path = join(dir, 'absent.json');
      const { message } = configError({ JELMORE_CONFIG: path });
      expect(message).toContain('JELMORE_CONFIG');
      expect(message).toContain(path);
      expectOneLine(message);
    });

    it('a directory instead of a file', () => {
      const { message } = configError({ JELMORE_CONFIG: dir });
      expect(message).toContain('JELMORE_CONFIG');
      expectOneLine(message);
    });

    it.each([
      ['not JSON', '{ port: 3000 '],
      ['an array', '[1, 2]'],
      ['null', 'null'],
      ['a string', '"port"'],
    ])('a file holding %s', (_name, content) => {
      const path = configFile(content);
      const { message } = configError({ JELMORE_CONFIG: path });
      expect(message).toContain('JELMORE_CONFIG');
      expect(message).toContain(path);
      expectOneLine(message);
    });
  });
});
