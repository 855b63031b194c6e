import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryTracker, finalCdTarget } from './directory-tracker';

describe('directory tracking', () => {
  let root: string;
  let elsewhere: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'jelmore-dirs-'));
    for (const dir of ['sub', 'my dir', 'a', 'b', join('sub', 'deeper')]) {
      mkdirSync(join(root, dir));
    }
    elsewhere = mkdtempSync(join(tmpdir(), 'jelmore-elsewhere-'));
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  describe('finalCdTarget', () => {
    it('follows `cd sub && ls`', () => {
      expect(finalCdTarget('cd sub && ls', root)).toBe(join(root, 'sub'));
    });

    it('unquotes `cd "my dir" 2>/dev/null; pwd`', () => {
      expect(finalCdTarget('cd "my dir" 2>/dev/null; pwd', root)).toBe(join(root, 'my dir'));
    });

    it("unquotes single quotes: `cd 'my dir'`", () => {
      expect(finalCdTarget("cd 'my dir'", root)).toBe(join(root, 'my dir'));
    });

    it('chains relative cds: `cd a; cd ..; cd b` ends in b', () => {
      expect(finalCdTarget('cd a; cd ..; cd b', root)).toBe(join(root, 'b'));
    });

    it('follows cds on separate lines', () => {
      expect(finalCdTarget('ls\ncd sub\ncd deeper', root)).toBe(join(root, 'sub', 'deeper'));
    });

    it.each(['false || cd a', 'cd b || cd a', 'cd a | cat', 'cd a &', '(cd b; cd a)'])(
      'does not follow a cd that may not run or does not move the shell: `%s`',
      (command) => {
        expect(finalCdTarget(command, root)).not.toBe(join(root, 'a'));
      },
    );

    it('stays in the last directory that existed: `cd sub; cd missing`', () => {
      expect(finalCdTarget('cd sub; cd missing', root)).toBe(join(root, 'sub'));
    });

    it('reads the cd in the recorded fixture command', () => {
      expect(finalCdTarget('echo hi > out.txt && cd sub 2>/dev/null; pwd', root)).toBe(
        join(root, 'sub'),
      );
    });

    it('takes an absolute path as it is, normalised', () => {
      expect(finalCdTarget(`cd ${elsewhere}`, root)).toBe(elsewhere);
      expect(finalCdTarget(`cd a && cd ${elsewhere}/./x/..`, root)).toBe(elsewhere);
    });

    it.each(['cd -', 'cd ~', 'cd ~/projects', 'cd $HOME', 'cd "$HOME/x"', 'cd'])(
      'ignores `%s`',
      (command) => {
        expect(finalCdTarget(command, root)).toBeUndefined();
      },
    );

    it.each(['(cd sub)', '(cd sub && make)', 'ls sub', 'echo cd sub', 'cdsub'])(
      'ignores `%s` (subshell or not a cd)',
      (command) => {
        expect(finalCdTarget(command, root)).toBeUndefined();
      },
    );
  });

  describe('DirectoryTracker', () => {
    it('reports {from, to} once a Bash cd succeeds, and updates cwd', () => {
      const tracker = new DirectoryTracker(root);
      tracker.onToolUse('t1', 'Bash', { command: 'cd sub && ls' });
      expect(tracker.cwd).toBe(root);

      expect(tracker.onToolResult('t1', false)).toEqual({ from: root, to: join(root, 'sub') });
      expect(tracker.cwd).toBe(join(root, 'sub'));
    });

    it('resolves later relative cds against the new cwd', () => {
      const tracker = new DirectoryTracker(root);
      tracker.onToolUse('t1', 'Bash', { command: 'cd sub' });
      tracker.onToolResult('t1', false);

      tracker.onToolUse('t2', 'Bash', { command: 'cd deeper' });
      expect(tracker.onToolResult('t2', false)).toEqual({
        from: join(root, 'sub'),
        to: join(root, 'sub', 'deeper'),
      });

      tracker.onToolUse('t3', 'Bash', { command: 'cd ../..' });
      expect(tracker.onToolResult('t3', false)).toEqual({
        from: join(root, 'sub', 'deeper'),
        to: root,
      });
      expect(tracker.cwd).toBe(root);
    });

    it('follows an absolute path', () => {
      const tracker = new DirectoryTracker(root);
      tracker.onToolUse('t1', 'Bash', { command: `cd ${elsewhere}; pwd` });
      expect(tracker.onToolResult('t1', false)).toEqual({ from: root, to: elsewhere });
      expect(tracker.cwd).toBe(elsewhere);
    });

    it('does not change when the tool result is an error, and forgets the call', () => {
      const tracker = new DirectoryTracker(root);
      tracker.onToolUse('t1', 'Bash', { command: 'cd sub' });
      expect(tracker.onToolResult('t1', true)).toBeUndefined();
      expect(tracker.cwd).toBe(root);
      // A second result for the same id finds nothing pending.
      expect(tracker.onToolResult('t1', false)).toBeUndefined();
      expect(tracker.cwd).toBe(root);
    });

    it('does not change when the target does not exist', () => {
      const tracker = new DirectoryTracker(root);
      tracker.onToolUse('t1', 'Bash', { command: 'cd missing' });
      expect(tracker.onToolResult('t1', false)).toBeUndefined();
      expect(tracker.cwd).toBe(root);
    });

    it('does not change when the target is a file, or the directory it is already in', () => {
      const tracker = new DirectoryTracker(join(root, 'sub'));
      tracker.onToolUse('t1', 'Bash', { command: `cd ${__filename}` });
      expect(tracker.onToolResult('t1', false)).toBeUndefined();
      tracker.onToolUse('t2', 'Bash', { command: 'cd .' });
      expect(tracker.onToolResult('t2', false)).toBeUndefined();
      expect(tracker.cwd).toBe(join(root, 'sub'));
    });

    it('ignores tools other than Bash', () => {
      const tracker = new DirectoryTracker(root);
      tracker.onToolUse('t1', 'Read', { command: 'cd sub' });
      tracker.onToolUse('t2', 'bash', { command: 'cd sub' });
      expect(tracker.onToolResult('t1', false)).toBeUndefined();
      expect(tracker.onToolResult('t2', false)).toBeUndefined();
      expect(tracker.cwd).toBe(root);
    });

    it('ignores Bash calls without a command string and results of unknown calls', () => {
      const tracker = new DirectoryTracker(root);
      expect(() => tracker.onToolUse('t1', 'Bash', null)).not.toThrow();
      expect(() => tracker.onToolUse('t2', 'Bash', { command: 42 })).not.toThrow();
      expect(tracker.onToolResult('t1', false)).toBeUndefined();
      expect(tracker.onToolResult('t2', false)).toBeUndefined();
      expect(tracker.onToolResult('never-seen', false)).toBeUndefined();
      expect(tracker.cwd).toBe(root);
    });

    it('ignores a cd in a subshell', () => {
      const tracker = new DirectoryTracker(root);
      tracker.onToolUse('t1', 'Bash', { command: '(cd sub)' });
      expect(tracker.onToolResult('t1', false)).toBeUndefined();
      expect(tracker.cwd).toBe(root);
    });

    // Known bug (see report): finalCdTarget skips a cd it cannot follow but keeps the earlier target, so the
    // tracker announces `a` although the shell ended elsewhere (back in root, or in $HOME).
    it.each(['cd a; cd -', 'cd a && cd ~', 'cd a; cd $HOME', 'cd a && cd'])(
      'does not report the earlier directory after `%s`',
      (command) => {
        const tracker = new DirectoryTracker(root);
        tracker.onToolUse('t1', 'Bash', { command });
        expect(tracker.onToolResult('t1', false)?.to).not.toBe(join(root, 'a'));
        expect(tracker.cwd).not.toBe(join(root, 'a'));
      },
    );

    it('keeps concurrent calls apart by tool-use id', () => {
      const tracker = new DirectoryTracker(root);
      tracker.onToolUse('t1', 'Bash', { command: 'cd a' });
      tracker.onToolUse('t2', 'Bash', { command: 'cd b' });
      expect(tracker.onToolResult('t2', true)).toBeUndefined();
      expect(tracker.onToolResult('t1', false)).toEqual({ from: root, to: join(root, 'a') });
    });
  });
});
