/**
 * A node-wide bound on the bytes of requests being processed. Each connection
 * bounds its own, but thousands of connections each under their bound could
 * still hold more memory than the node has; past this budget every connection
 * stops reading until requests finish and give bytes back.
 */
export class RequestBudget {
  readonly bytesMax: number;
  private used = 0;
  private readonly waiters = new Set<() => void>();

  constructor(bytesMax: number) {
    if (!Number.isSafeInteger(bytesMax) || bytesMax <= 0) throw new Error(`bad request budget ${bytesMax}`);
    this.bytesMax = bytesMax;
  }

  get usedBytes(): number {
    return this.used;
  }

  get exhausted(): boolean {
    return this.used > this.bytesMax;
  }

  take(bytes: number): void {
    this.used += bytes;
  }

  give(bytes: number): void {
    const wasExhausted = this.exhausted;
    this.used -= bytes;
    if (this.used < 0) throw new Error(`request budget went negative: ${this.used}`);
    if (wasExhausted && !this.exhausted && this.waiters.size > 0) {
      for (const w of [...this.waiters]) w();
    }
  }

  /** Calls `fn` each time the budget stops being exhausted; returns an unsubscribe. */
  onAvailable(fn: () => void): () => void {
    this.waiters.add(fn);
    return () => {
      this.waiters.delete(fn);
    };
  }
}
