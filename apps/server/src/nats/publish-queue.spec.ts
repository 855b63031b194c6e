import type { SessionEvent } from '@jelmore/contracts';
import { PublishQueue } from './publish-queue';

function event(sessionId: string, seq: number): SessionEvent {
  return { sessionId, seq, ts: new Date(0).toISOString(), type: 'assistant', text: `${seq}` };
}

const seqs = (events: SessionEvent[]) => events.map((e) => e.seq);

describe('PublishQueue', () => {
  it('keeps each session in seq order, even when a commit is observed late', () => {
    const queue = new PublishQueue(10);
    for (const seq of [1, 2, 4, 3, 5]) queue.push(event('a', seq));
    queue.push(event('a', 4));
    expect(queue.size).toBe(5);
    expect(seqs(queue.take(10, 10)[0].events)).toEqual([1, 2, 3, 4, 5]);
  });

  it('refuses events past its capacity and takes them again once acked ones leave', () => {
    const queue = new PublishQueue(3);
    expect([1, 2, 3, 4].map((seq) => queue.push(event('a', seq)))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    queue.ack('a', 2);
    expect(queue.size).toBe(1);
    expect(queue.push(event('a', 5))).toBe(true);
    expect(seqs(queue.take(10, 10)[0].events)).toEqual([3, 5]);
  });

  it('keeps what was taken until it is acked, so a failed publish is retried from there', () => {
    const queue = new PublishQueue(100);
    for (let seq = 1; seq <= 5; seq++) queue.push(event('a', seq));
    expect(seqs(queue.take(3, 100)[0].events)).toEqual([1, 2, 3]);
    queue.ack('a', 1);
    expect(seqs(queue.take(3, 100)[0].events)).toEqual([2, 3, 4]);
    queue.ack('a', 4);
    expect(queue.size).toBe(0);
    expect(queue.take(3, 100)).toEqual([]);
  });

  it('bounds a round and rotates sessions so a busy one cannot starve the others', () => {
    const queue = new PublishQueue(1000);
    for (let seq = 1; seq <= 100; seq++) queue.push(event('busy', seq));
    queue.push(event('b', 1));
    queue.push(event('c', 1));
    const first = queue.take(10, 10);
    expect(first.map((b) => [b.sessionId, b.events.length])).toEqual([['busy', 10]]);
    queue.ack('busy', 10);
    const second = queue.take(10, 12);
    expect(second.map((b) => [b.sessionId, b.events.length])).toEqual([
      ['b', 1],
      ['c', 1],
      ['busy', 10],
    ]);
  });

  it('clear says how many events it dropped', () => {
    const queue = new PublishQueue(10);
    queue.push(event('a', 1));
    queue.push(event('b', 1));
    expect(queue.clear()).toBe(2);
    expect(queue.size).toBe(0);
  });
});
