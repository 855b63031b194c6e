const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface SpinnerTarget {
  write(text: string): unknown;
}

/**
 * One line that animates while the agent works. It owns the current terminal line: callers stop it
 * before writing anything else, and start it only at the start of a line.
 */
export class Spinner {
  private timer?: ReturnType<typeof setInterval>;
  private frame = 0;
  private label = '';

  constructor(
    private readonly target: SpinnerTarget,
    private readonly intervalMs = 80,
  ) {}

  get spinning(): boolean {
    return this.timer !== undefined;
  }

  start(label: string): void {
    this.label = label;
    if (this.timer) return;
    this.render();
    this.timer = setInterval(() => this.render(), this.intervalMs);
    // A spinner never keeps the process alive on its own.
    this.timer.unref?.();
  }

  /** Erases the line it drew. */
  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.target.write('\r\x1b[K');
  }

  private render(): void {
    const frame = FRAMES[this.frame++ % FRAMES.length];
    this.target.write(`\r\x1b[K${frame} ${this.label}`);
  }
}
