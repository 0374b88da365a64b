/**
 * Time for Raft arrives as ticks from outside. A host drives every group it
 * owns from ONE ticker; tests use ManualTicker to step time by hand.
 */
export interface Ticker {
  start(onTick: () => void): void;
  stop(): void;
}

export class IntervalTicker implements Ticker {
  readonly tickIntervalMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(tickIntervalMs: number) {
    if (!(tickIntervalMs >= 1)) throw new RangeError('tickIntervalMs must be >= 1');
    this.tickIntervalMs = tickIntervalMs;
  }

  start(onTick: () => void): void {
    this.stop();
    this.timer = setInterval(onTick, this.tickIntervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

export class ManualTicker implements Ticker {
  private onTick: (() => void) | undefined;

  start(onTick: () => void): void {
    this.onTick = onTick;
  }

  stop(): void {
    this.onTick = undefined;
  }

  tick(n = 1): void {
    for (let i = 0; i < n; i++) this.onTick?.();
  }
}
