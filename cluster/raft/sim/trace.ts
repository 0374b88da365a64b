import { Digest } from './digest.ts';

/**
 * The run's trace: every event is folded into a running hash (the trace hash
 * that proves a seed replays identically) and kept, as a lazily formatted
 * line, in a bounded ring so a failure can print the last N events without
 * paying for string formatting on every event of every passing seed.
 */
export class Trace {
  private readonly digest = new Digest();
  private readonly ring: (() => string)[];
  private readonly ringSize: number;
  private next = 0;
  private count = 0;
  private readonly sink: ((line: string) => void) | undefined;

  constructor(ringSize: number, sink?: (line: string) => void) {
    this.ringSize = Math.max(1, ringSize);
    this.ring = new Array(this.ringSize);
    this.sink = sink;
  }

  /**
   * Records one event: its numeric fields go into the hash, `format` renders
   * the line only when it is needed.
   */
  record(timeMs: number, fields: readonly number[], format: () => string): void {
    this.digest.addNumber(timeMs);
    for (const f of fields) this.digest.addNumber(f);
    this.count++;
    const line = () => `${String(timeMs).padStart(7)}ms ${format()}`;
    this.ring[this.next] = line;
    this.next = (this.next + 1) % this.ringSize;
    if (this.sink !== undefined) this.sink(line());
  }

  get eventCount(): number {
    return this.count;
  }

  hash(): string {
    return this.digest.hex();
  }

  /** The last `n` lines, oldest first. */
  tail(n: number): string[] {
    const have = Math.min(this.count, this.ringSize, n);
    const out: string[] = [];
    for (let k = have; k > 0; k--) {
      const f = this.ring[(this.next - k + this.ringSize) % this.ringSize];
      if (f !== undefined) out.push(f());
    }
    return out;
  }
}
