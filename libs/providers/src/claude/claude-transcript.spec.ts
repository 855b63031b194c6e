import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, JelmoreError } from '@jelmore/contracts';
import {
  claudeProjectFolder,
  claudeTranscriptPath,
  cutTranscript,
  findClaudeTranscript,
  transcriptTurnStarts,
  writeTranscriptAtomically,
} from './claude-transcript';

/**
 * Recorded from Claude Code 2.1.332 against test/fixtures/fake-anthropic.ts (long strings of the
 * api-request and attachment entries elided): four prompts, "turn one", "[[bash echo hi]]" (a tool
 * call and its result), "[[slow 20]]" (interrupted) and "turn four".
 */
const RECORDED = readFileSync(
  join(__dirname, '__fixtures__', 'transcript-four-turns.jsonl'),
  'utf8',
);
const RECORDED_ID = '55555555-5555-4555-8555-555555555555';

type Entry = Record<string, unknown> & { type: string; message?: { content: unknown } };
const entries = (text: string): Entry[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Entry);
const userTexts = (text: string): string[] =>
  entries(text)
    .filter((e) => e.type === 'user')
    .flatMap((e) => (e.message!.content as Array<{ type: string; text?: string }>) ?? [])
    .map((block) => block.text ?? block.type);

function checkpointNotFound(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(JelmoreError);
    expect((err as JelmoreError).code).toBe(ErrorCode.CheckpointNotFound);
    return;
  }
  throw new Error('expected CHECKPOINT_NOT_FOUND');
}

describe('Claude Code transcripts', () => {
  it('start a turn at each prompt, not at tool results or interrupt markers', () => {
    const lines = RECORDED.split('\n');
    const starts = transcriptTurnStarts(lines);
    expect(starts.map((i) => userTexts(lines[i]))).toEqual([
      ['turn one'],
      ['[[bash echo hi]]'],
      ['[[slow 20]]'],
      ['turn four'],
    ]);
    // What the recording holds besides: a tool result and the CLI's interrupt marker, both user entries.
    expect(userTexts(RECORDED)).toEqual(
      expect.arrayContaining(['tool_result', '[Request interrupted by user]']),
    );
  });

  it('count prompts of transcripts without promptId, skipping meta entries and interrupt markers', () => {
    const user = (content: unknown, extra = {}) =>
      JSON.stringify({ type: 'user', message: { role: 'user', content }, ...extra });
    const lines = [
      user('first'),
      user('<command-name>x</command-name>', { isMeta: true }),
      user([{ type: 'text', text: '[Request interrupted by user]' }]),
      user([{ type: 'tool_result', tool_use_id: 't', content: 'ok' }]),
      user('summary', { isCompactSummary: true }),
      user('from a subagent', { isSidechain: true }),
      user([{ type: 'text', text: 'second' }]),
    ];
    expect(transcriptTurnStarts(lines)).toEqual([0, 6]);
  });

  it('cut after a turn: a prefix of the lines, up to the next turn`s queue entries', () => {
    const cut = cutTranscript(RECORDED, 1);
    expect(RECORDED.startsWith(cut)).toBe(true);
    expect(userTexts(cut)).toEqual(['turn one']);
    const kept = entries(cut);
    expect(kept.at(-1)!.type).not.toBe('queue-operation');
    expect(JSON.stringify(kept.filter((e) => e.type === 'assistant').at(-1))).toContain(
      'Echo: turn one',
    );

    expect(userTexts(cutTranscript(RECORDED, 2))).toEqual([
      'turn one',
      '[[bash echo hi]]',
      'tool_result',
    ]);
    // Turn 3 was interrupted: its marker belongs to it.
    expect(userTexts(cutTranscript(RECORDED, 3)).slice(-2)).toEqual([
      '[[slow 20]]',
      '[Request interrupted by user]',
    ]);
    expect(cutTranscript(RECORDED, 4)).toBe(RECORDED);
    expect(cutTranscript(RECORDED, 0)).toBe('');
  });

  it('refuse a turn the conversation does not have', () => {
    checkpointNotFound(() => cutTranscript(RECORDED, 5));
    checkpointNotFound(() => cutTranscript('', 1));
  });

  it('re-file every entry under the fork`s id, keeping the message chain', () => {
    const fork = '77777777-7777-4777-8777-777777777777';
    const cut = entries(cutTranscript(RECORDED, 2, fork));
    const original = entries(cutTranscript(RECORDED, 2));
    expect(cut.length).toBe(original.length);
    expect(new Set(cut.map((e) => e.sessionId))).toEqual(new Set([fork]));
    expect(original.some((e) => e.sessionId === RECORDED_ID)).toBe(true);
    expect(cut.map((e) => e.uuid)).toEqual(original.map((e) => e.uuid));
    expect(cut.map((e) => e.parentUuid)).toEqual(original.map((e) => e.parentUuid));
  });

  it('drop a last line the CLI is still writing', () => {
    const partial = `${RECORDED}{"type":"user","message":{"role":"us`;
    expect(cutTranscript(partial, 4)).toBe(RECORDED);
  });
});

describe('Claude Code transcript files', () => {
  let dir: string;

  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'jelmore-claude-transcript-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('are named after the cwd as the CLI names its project folders (checked against 2.1.332)', () => {
    expect(claudeProjectFolder('/tmp/exp/w')).toBe('-tmp-exp-w');
    const long = `/tmp/exp/x.y_z é/${'d'.repeat(230)}`;
    // The folder the CLI made for that cwd.
    expect(claudeProjectFolder(long)).toBe(`-tmp-exp-x-y-z---${'d'.repeat(183)}-ivq4bj`);
  });

  it('live under the real path of the cwd, and are found in any project folder of a home', async () => {
    const real = join(dir, 'real');
    mkdirSync(real);
    symlinkSync(real, join(dir, 'link'));
    const home = join(dir, 'home');
    const path = claudeTranscriptPath(home, join(dir, 'link'), 'abc-1');
    expect(path).toBe(join(home, '.claude', 'projects', claudeProjectFolder(real), 'abc-1.jsonl'));

    await writeTranscriptAtomically(path, 'x\n');
    expect(findClaudeTranscript([join(dir, 'nowhere'), home], 'abc-1')).toBe(path);
    expect(findClaudeTranscript([home], 'abc-2')).toBeUndefined();
    expect(findClaudeTranscript([home], '../abc-1')).toBeUndefined();
    // Written whole: no temporary file is left beside it.
    expect(readdirSync(join(path, '..'))).toEqual(['abc-1.jsonl']);
  });
});
