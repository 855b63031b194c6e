/**
 * Holds the suites that start OpenCode servers (HEAVY_SUITES) to one at a time across Jest's workers:
 * two side by side starve each other of a 2-core machine (each server takes seconds of CPU to start)
 * and run into their timeouts. The sequencer orders them so that this rarely waits; this makes it so
 * when a suite runs longer than planned. A file named by the Jest process (the workers' parent) is the
 * lock, holding its owner's pid: a worker that died leaves none behind.
 */
const { closeSync, openSync, readFileSync, unlinkSync, writeSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { basename, join } = require('node:path');
const { HEAVY_SUITES } = require('./e2e-suites');

const LOCK = join(tmpdir(), `jelmore-e2e-opencode-${process.ppid}.lock`);
/** The longest another heavy suite may run (a hang fails on its own timeouts well before). */
const WAIT_MS = 30 * 60_000;

const heavy = HEAVY_SUITES.test(basename(expect.getState().testPath ?? ''));
let held = false;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function tryLock() {
  try {
    const fd = openSync(LOCK, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
  }
  let owner;
  try {
    owner = Number(readFileSync(LOCK, 'utf8'));
  } catch {
    return false; // Released meanwhile: the next try takes it.
  }
  // Written but not yet filled in (owner 0), or held by a live worker: wait.
  if (owner > 0 && !alive(owner)) unlinkSync(LOCK);
  return false;
}

if (heavy) {
  beforeAll(async () => {
    const deadline = Date.now() + WAIT_MS;
    while (!tryLock()) {
      if (Date.now() > deadline) throw new Error(`another OpenCode suite held ${LOCK} too long`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    held = true;
  }, WAIT_MS + 10_000);

  afterAll(() => {
    if (held) unlinkSync(LOCK);
    held = false;
  });
}
