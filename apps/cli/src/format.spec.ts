import {
  formatAge,
  formatBytes,
  formatCost,
  formatDuration,
  oneLine,
  styleFor,
  summarizeToolInput,
  table,
  wantsColor,
} from './format';

describe('format', () => {
  it('prints costs with the precision small amounts need', () => {
    expect(formatCost(0)).toBe('$0');
    expect(formatCost(0.000462)).toBe('$0.000462');
    expect(formatCost(0.0042)).toBe('$0.0042');
    expect(formatCost(1.5)).toBe('$1.5');
    expect(formatCost(12)).toBe('$12');
  });

  it('prints file sizes for people', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(12_345)).toBe('12 KB');
    expect(formatBytes(3_500_000)).toBe('3.3 MB');
  });

  it('prints durations and ages for people', () => {
    expect(formatDuration(340)).toBe('340 ms');
    expect(formatDuration(2345)).toBe('2.3 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
    const now = Date.parse('2025-01-01T12:00:00Z');
    expect(formatAge('2025-01-01T11:59:30Z', now)).toBe('30 s ago');
    expect(formatAge('2025-01-01T11:00:00Z', now)).toBe('1 h ago');
    expect(formatAge('2024-12-29T12:00:00Z', now)).toBe('3 d ago');
  });

  it("summarizes a tool's input by its telling field, on one bounded line", () => {
    expect(summarizeToolInput({ command: 'echo hi\n  && ls', description: 'x' })).toBe(
      'echo hi && ls',
    );
    expect(summarizeToolInput({ file_path: '/a/b.ts', content: '...' })).toBe('/a/b.ts');
    expect(summarizeToolInput({ todos: [1, 2] })).toBe('{"todos":[1,2]}');
    expect(summarizeToolInput(undefined)).toBe('');
    expect(oneLine('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
  });

  it('aligns table columns, ignoring colour codes', () => {
    const style = styleFor(true);
    expect(
      table(
        ['ID', 'STATE', 'COST'],
        [
          ['a', style.green('idle'), '$1'],
          ['bbbb', 'failed', '$0'],
        ],
      ),
    ).toBe(
      ['ID    STATE   COST', `a     ${style.green('idle')}    $1`, 'bbbb  failed  $0', ''].join(
        '\n',
      ),
    );
  });

  it('colours only terminals, and never with NO_COLOR', () => {
    expect(wantsColor({ isTTY: true }, {})).toBe(true);
    expect(wantsColor({ isTTY: false }, {})).toBe(false);
    expect(wantsColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(styleFor(false).red('x')).toBe('x');
    expect(styleFor(true).red('x')).toBe('\x1b[31mx\x1b[39m');
  });
});
