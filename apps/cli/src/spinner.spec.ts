import { Spinner } from './spinner';

describe('Spinner', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('redraws its line with the next frame and erases it when stopped', () => {
    let written = '';
    const spinner = new Spinner({ write: (t: string) => (written += t) }, 80);
    spinner.start('working');
    jest.advanceTimersByTime(160);
    spinner.start('running Bash'); // relabels without a second timer
    jest.advanceTimersByTime(80);
    spinner.stop();
    spinner.stop();
    expect(written).toBe(
      '\r\x1b[K⠋ working\r\x1b[K⠙ working\r\x1b[K⠹ working\r\x1b[K⠸ running Bash\r\x1b[K',
    );
    jest.advanceTimersByTime(1000);
    expect(written.endsWith('\r\x1b[K')).toBe(true);
    expect(spinner.spinning).toBe(false);
  });
});
