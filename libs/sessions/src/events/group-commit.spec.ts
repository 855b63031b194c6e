import { GroupCommit } from './group-commit';

/** A writer whose commits end when the test says: what was written, and how to end the oldest open one. */
function controlledWriter() {
  const batches: string[][] = [];
  const open: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  const write = (items: string[]) => {
    batches.push([...items]);
    return new Promise<void>((resolve, reject) => open.push({ resolve, reject }));
  };
  const end = async (err?: unknown) => {
    const commit = open.shift();
    if (!commit) throw new Error('no commit in flight');
    if (err) commit.reject(err);
    else commit.resolve();
    await settled();
  };
  return { batches, write, end };
}

/** Lets every pending promise callback run; no timer (they are fake) fires. */
const settled = () =>
  new Promise<void>((resolve) => jest.requireActual('timers').setImmediate(resolve));

describe('GroupCommit', () => {
  let errors: unknown[];

  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
    errors = [];
  });

  afterEach(() => jest.useRealTimers());

  const make = (writer: ReturnType<typeof controlledWriter>, maxBatch = 100) =>
    new GroupCommit<string>(writer.write, maxBatch, (err) => errors.push(err));

  it('an idle writer commits on the next turn of the loop, not after a timer', async () => {
    const writer = controlledWriter();
    const commits = make(writer);
    commits.add('a');
    expect(writer.batches).toEqual([]);
    // No time passes: only what is due now (setImmediate) runs.
    jest.advanceTimersByTime(0);
    expect(writer.batches).toEqual([['a']]);
  });

  it('what is added in one turn, microtasks apart (a for-await over an agent), shares a commit', async () => {
    const writer = controlledWriter();
    const commits = make(writer);
    commits.add('a');
    await Promise.resolve();
    commits.add('b');
    for (let i = 0; i < 5; i++) await Promise.resolve();
    commits.add('c');
    expect(writer.batches).toEqual([]);
    jest.advanceTimersByTime(0);
    expect(writer.batches).toEqual([['a', 'b', 'c']]);
  });

  it('while a commit is in flight, additions wait and go together on the turn it ends', async () => {
    const writer = controlledWriter();
    const commits = make(writer);
    commits.add('a');
    jest.advanceTimersByTime(0);
    for (const item of ['b', 'c', 'd']) {
      commits.add(item);
      jest.advanceTimersByTime(10);
    }
    expect(writer.batches).toEqual([['a']]);
    await writer.end();
    expect(writer.batches).toEqual([['a']]);
    jest.advanceTimersByTime(0);
    expect(writer.batches).toEqual([['a'], ['b', 'c', 'd']]);
    await writer.end();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('commits that end within microtasks (SQLite) do not cut a burst into crumbs', async () => {
    const sizes: number[] = [];
    const commits = new GroupCommit<number>(
      async (items) => {
        sizes.push(items.length);
        for (let i = 0; i < 3; i++) await Promise.resolve(); // The log's own awaits.
      },
      100,
      (err) => errors.push(err),
    );
    for (let i = 0; i < 250; i++) {
      commits.add(i);
      await Promise.resolve(); // Events come one microtask apart.
    }
    jest.advanceTimersByTime(0);
    await settled();
    expect(sizes).toEqual([100, 100, 50]);
  });

  it('a full batch starts at once; the overflow goes in the next, in order', async () => {
    const writer = controlledWriter();
    const commits = make(writer, 3);
    for (const item of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) commits.add(item);
    expect(writer.batches).toEqual([['a', 'b', 'c']]);
    await writer.end();
    expect(writer.batches).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e', 'f'],
    ]);
    await writer.end();
    expect(writer.batches.length).toBe(2);
    jest.advanceTimersByTime(0);
    expect(writer.batches.at(-1)).toEqual(['g']);
  });

  it('flush() starts what is queued at once and resolves when its last batch is written', async () => {
    const writer = controlledWriter();
    const commits = make(writer);
    await expect(commits.flush()).resolves.toBeUndefined();
    commits.add('a');
    let flushed = false;
    void commits.flush().then(() => (flushed = true));
    expect(writer.batches).toEqual([['a']]);
    commits.add('b'); // Queued behind the commit in flight.
    let allFlushed = false;
    void commits.flush().then(() => (allFlushed = true));
    await writer.end();
    expect([flushed, allFlushed]).toEqual([true, false]);
    await writer.end();
    expect(allFlushed).toBe(true);
  });

  it('a failed commit is reported and the next batch still goes', async () => {
    const writer = controlledWriter();
    const commits = make(writer);
    commits.add('a');
    jest.advanceTimersByTime(0);
    commits.add('b');
    const flushed = commits.flush();
    await writer.end(new Error('disk full'));
    expect(errors).toEqual([new Error('disk full')]);
    expect(writer.batches).toEqual([['a'], ['b']]);
    await writer.end();
    await expect(flushed).resolves.toBeUndefined();
  });
});
