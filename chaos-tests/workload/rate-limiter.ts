/**
 * A token bucket shared by every producer slot: at most `ratePerSec` sends per
 * second on average, bursts of at most one second's worth, and at most
 * `totalMax` sends over its life. `take()` waits for a token (or returns false
 * once the total is used up or the limiter is stopped).
 */
export class RateLimiter {
  private readonly ratePerSec: number;
  private readonly totalMax: number;
  private tokens = 0;
  private lastMs = performance.now();
  private taken = 0;
  private stopped = false;
  private readonly wakers = new Set<() => void>();

  constructor(ratePerSec: number, totalMax: number) {
    if (!(ratePerSec > 0 && Number.isFinite(ratePerSec))) throw new RangeError(`bad rate ${ratePerSec}`);
    if (!(Number.isInteger(totalMax) && totalMax >= 0)) throw new RangeError(`bad total ${totalMax}`);
    this.ratePerSec = ratePerSec;
    this.totalMax = totalMax;
  }

  get takenCount(): number {
    return this.taken;
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.wakers) w();
    this.wakers.clear();
  }

  async take(): Promise<boolean> {
    for (;;) {
      if (this.stopped || this.taken >= this.totalMax) return false;
      const now = performance.now();
      this.tokens = Math.min(this.ratePerSec, this.tokens + ((now - this.lastMs) * this.ratePerSec) / 1000);
      this.lastMs = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        this.taken++;
        return true;
      }
      const waitMs = Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSec));
      await new Promise<void>((resolve) => {
        const waker = (): void => {
          clearTimeout(t);
          this.wakers.delete(waker);
          resolve();
        };
        const t = setTimeout(waker, waitMs);
        this.wakers.add(waker);
      });
    }
  }
}
