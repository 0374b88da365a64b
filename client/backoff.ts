/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential
 * Backoff And Jitter"): attempt n waits a uniform time in [0, min(max, base*2^n)],
 * never less than `delayMsMin`. Bounded by `delayMsMax` and by `attemptsMax`.
 */
export interface BackoffOptions {
  delayMsMin: number;
  delayMsMax: number;
  /** After this many delays `next()` returns -1: give up. */
  attemptsMax: number;
}

export class Backoff {
  readonly options: BackoffOptions;
  private attempt = 0;
  private readonly random: () => number;

  constructor(options: BackoffOptions, random: () => number = Math.random) {
    if (!(options.delayMsMin >= 0 && options.delayMsMax >= options.delayMsMin)) {
      throw new RangeError('backoff: need 0 <= delayMsMin <= delayMsMax');
    }
    if (!(options.attemptsMax >= 0)) throw new RangeError('backoff: attemptsMax must be >= 0');
    this.options = options;
    this.random = random;
  }

  get attempts(): number {
    return this.attempt;
  }

  /** The next delay in ms, or -1 when the attempts are used up. */
  next(): number {
    if (this.attempt >= this.options.attemptsMax) return -1;
    const { delayMsMin, delayMsMax } = this.options;
    const ceiling = Math.min(delayMsMax, Math.max(1, delayMsMin) * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.max(delayMsMin, Math.floor(this.random() * ceiling));
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or rejects with the signal's reason if it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
