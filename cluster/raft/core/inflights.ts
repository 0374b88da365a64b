import { invariant } from './errors.ts';

/**
 * The pipelining window to one follower: the last index and byte size of each
 * App message sent and not yet acknowledged, bounded in count and bytes.
 */
export class Inflights {
  private readonly countMax: number;
  /** 0 = unlimited. */
  private readonly bytesMax: number;
  private readonly indexes: number[] = [];
  private readonly sizes: number[] = [];
  private bytes = 0;

  constructor(countMax: number, bytesMax: number) {
    invariant(countMax >= 1, 'inflights countMax >= 1');
    this.countMax = countMax;
    this.bytesMax = bytesMax;
  }

  add(lastIndex: number, bytes: number): void {
    invariant(!this.full(), 'inflights: add while full');
    const prev = this.indexes[this.indexes.length - 1];
    invariant(prev === undefined || lastIndex > prev, 'inflights: indexes increase');
    this.indexes.push(lastIndex);
    this.sizes.push(bytes);
    this.bytes += bytes;
  }

  /** Frees every message whose last index is <= `index` (acknowledged). */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.indexes.length && this.indexes[n]! <= index) {
      this.bytes -= this.sizes[n]!;
      n++;
    }
    if (n > 0) {
      this.indexes.splice(0, n);
      this.sizes.splice(0, n);
    }
  }

  /** Frees the oldest message: lets a full window make progress when acks were lost. */
  freeFirstOne(): void {
    const first = this.indexes[0];
    if (first !== undefined) this.freeLE(first);
  }

  full(): boolean {
    return this.indexes.length >= this.countMax || (this.bytesMax > 0 && this.bytes >= this.bytesMax);
  }

  count(): number {
    return this.indexes.length;
  }

  reset(): void {
    this.indexes.length = 0;
    this.sizes.length = 0;
    this.bytes = 0;
  }
}
