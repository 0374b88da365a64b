import { mulberry32 } from '../../../node/util/prng.ts';
import type { Prng } from '../types.ts';

/**
 * A small seeded PRNG (mulberry32) for tests and for drivers that want
 * reproducible election timeouts. The core itself only sees the Prng interface.
 */
export class SeededPrng implements Prng {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`nextInt(n): n must be a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }
}
