import type { Prng } from '../types.ts';

/**
 * A small seeded PRNG (mulberry32) for tests and for drivers that want
 * reproducible election timeouts. The core itself only sees the Prng interface.
 */
export class SeededPrng implements Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`nextInt(n): n must be a positive integer, got ${n}`);
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.floor(u * n);
  }
}
