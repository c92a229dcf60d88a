/**
 * The cached answer to "does any other process watch events?" for an `EventBus.hasWatchers()` implementation: the
 * store is asked at most once per `intervalMs`, in the background, and callers get the last answer at once. The
 * answer is true until the first reply and after a failed probe, so an unknown never hides events from a watcher.
 */
export class WatchProbe {
  private answer = true;
  private askedAt = Number.NEGATIVE_INFINITY;
  private inFlight = false;

  /**
   * @param probe asks the store; resolves true when some watcher exists.
   * @param onError told of a failed probe (the answer becomes true).
   * @param intervalMs least time between two probes. @default 1000
   */
  constructor(
    private readonly probe: () => Promise<boolean>,
    private readonly onError: (error: unknown) => void,
    private readonly intervalMs = 1000,
  ) {}

  /** The last answer; starts a probe when the last one is older than the interval. */
  read(): boolean {
    const now = Date.now();
    if (!this.inFlight && now - this.askedAt >= this.intervalMs) {
      this.askedAt = now;
      this.inFlight = true;
      this.probe().then(
        (watched) => {
          this.inFlight = false;
          this.answer = watched;
        },
        (error: unknown) => {
          this.inFlight = false;
          this.answer = true;
          this.onError(error);
        },
      );
    }
    return this.answer;
  }

  /** The last answer, without probing (for a closed bus). */
  last(): boolean {
    return this.answer;
  }
}
