import { readFileSync, writeFileSync } from 'node:fs';

/** Resident memory of a process now (VmRSS) and at its peak (VmHWM), in MiB, from /proc. */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/** The same in MB (10^6 bytes), the unit the concurrency target is stated in. */
export function memoryMB(pid: number): { rss: number; peak: number } {
  const { rss, peak } = memoryMiB(pid);
  return { rss: rss * 1.048576, peak: peak * 1.048576 };
}

/** Starts a new peak (VmHWM) from the current RSS, where the kernel allows it. */
export function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Not permitted here: the sampled peak still counts.
  }
}

/** CPU time the process has used (user + system), in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name, which may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100; // USER_HZ on Linux.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** The largest of `read()`'s values, sampled every `intervalMs` until stop(). */
export class PeakSampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly read: () => number,
    intervalMs = 50,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }

  private sample(): void {
    try {
      this.peak = Math.max(this.peak, this.read());
    } catch {
      // The process or file is gone; its peak so far stands.
    }
  }
}
