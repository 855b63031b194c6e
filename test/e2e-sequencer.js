/**
 * Jest's order planned for two workers so that suites starting OpenCode servers (HEAVY_SUITES) follow
 * one another on one worker while the other runs the rest: two side by side starve each other of a
 * 2-core machine. test/support/one-opencode-at-a-time.js holds them to that when a suite runs longer
 * than planned; this order keeps that from leaving a worker waiting.
 */
const { basename } = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;
const { ESTIMATED_SECONDS, HEAVY_SUITES } = require('./support/e2e-suites');

/** A suite neither Jest nor the estimates know: about the median. */
const UNKNOWN_MS = 15_000;

class OneOpenCodeAtATime extends Sequencer {
  async sort(tests) {
    // Jest's timing cache where it has one (after a first run), else the estimates; slowest first.
    const ms = (t) =>
      t.duration ?? (ESTIMATED_SECONDS[basename(t.path)] ?? UNKNOWN_MS / 1000) * 1000;
    const sorted = (await super.sort(tests)).sort((a, b) => ms(b) - ms(a));
    const isHeavy = (t) => HEAVY_SUITES.test(basename(t.path));
    const heavy = sorted.filter(isHeavy);
    const rest = sorted.filter((t) => !isHeavy(t));
    // Plays Jest's dispatch (the next suite goes to the first free worker) on those durations.
    const workers = [
      { freeAt: 0, heavy: false },
      { freeAt: 0, heavy: false },
    ];
    const order = [];
    while (heavy.length + rest.length > 0) {
      const [worker, other] =
        workers[0].freeAt <= workers[1].freeAt ? workers : [...workers].reverse();
      const otherBusyWithHeavy = other.heavy && other.freeAt > worker.freeAt;
      const next = heavy.length > 0 && (!otherBusyWithHeavy || rest.length === 0) ? heavy : rest;
      const test = next.shift();
      worker.heavy = next === heavy;
      worker.freeAt += ms(test);
      order.push(test);
    }
    return order;
  }
}

module.exports = OneOpenCodeAtATime;
