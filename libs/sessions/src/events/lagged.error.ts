import { ErrorCode, JelmoreError } from '@jelmore/contracts';

/** A subscriber fell too far behind; it can re-subscribe with `after: lastSeq`. */
export class LaggedError extends JelmoreError {
  constructor(readonly lastSeq: number) {
    super(
      ErrorCode.Lagged,
      `Subscriber fell behind; re-subscribe with after=${lastSeq} to continue`,
      { lastSeq },
    );
  }
}
