import type { SessionEvent } from '@jelmore/contracts';
import {
  appendEvents,
  sessionRecord as record,
  STORE_ADAPTERS,
  tick,
  useStoreDatabase,
} from '../../../../test/support/store-databases';
import { EventStore } from './event-store';
import { ExperimentRecords } from './experiment-records';
import { SessionStore } from './session-store';

const result = (sessionId: string, seq: number, durationMs: number, interrupted?: boolean) =>
  ({
    sessionId,
    seq,
    ts: tick(),
    type: 'result',
    text: 'a long reply the figures never read',
    durationMs,
    usage: { inputTokens: 1, outputTokens: 1, costUsd: 0 },
    ...(interrupted ? { interrupted } : {}),
  }) satisfies SessionEvent;

describe.each(STORE_ADAPTERS)('ExperimentRecords on $adapter', ({ create }) => {
  const suite = useStoreDatabase(create);

  it("sums each arm's sessions and reads its turns' durations, of every owner or one", async () => {
    const sessions = new SessionStore(suite.connection);
    const usage = { inputTokens: 100, outputTokens: 10, costUsd: 0.25 };
    const arm = (name: string) => ({ experiment: { name: 'ab', arm: name } });
    await sessions.insertSession(record('a1', { ...arm('a'), owner: 'alice', usage, turns: 2 }));
    await sessions.insertSession(
      record('a2', { ...arm('a'), owner: 'bob', usage, turns: 1, state: 'failed' }),
    );
    await sessions.insertSession(record('b1', { ...arm('b'), owner: 'alice', state: 'running' }));
    await sessions.insertSession(record('other', { owner: 'alice', usage, turns: 5 }));
    await appendEvents(new EventStore(suite.connection), [
      result('a1', 1, 100),
      result('a1', 2, 300),
      result('a2', 1, 5000, true),
      result('other', 1, 7),
    ]);
    const records = new ExperimentRecords(suite.connection);

    const totals = await records.totals('ab', ['starting', 'running', 'idle']);
    expect(totals.sort((x, y) => x.arm.localeCompare(y.arm))).toEqual([
      {
        arm: 'a',
        sessions: 2,
        active: 1,
        turns: 3,
        failures: 1,
        usage: { inputTokens: 200, outputTokens: 20, costUsd: 0.5 },
      },
      {
        arm: 'b',
        sessions: 1,
        active: 1,
        turns: 0,
        failures: 0,
        usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
      },
    ]);
    expect(await records.totals('ab', ['idle'], 'bob')).toMatchObject([
      { arm: 'a', sessions: 1, active: 0, failures: 1 },
    ]);
    // The interrupted turn is left out; sessions of no experiment are not read.
    expect(await records.turnDurations('ab')).toEqual(new Map([['a', [100, 300]]]));
    expect(await records.turnDurations('ab', 'bob')).toEqual(new Map());
    expect(await records.totals('none', [])).toEqual([]);
  });
});
