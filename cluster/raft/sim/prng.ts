import type { Prng } from '../types.ts';
import { SimUsageError } from './errors.ts';

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counter) on uint32 maths: fast,
 * passes PractRand to 2^42+ bytes, and is trivially reproducible across
 * engines because it uses only Math.imul-free 32-bit adds, shifts and xors.
 * Seeds are expanded with splitmix32 so nearby seeds give unrelated streams.
 */

function splitmix32(state: number): { state: number; value: number } {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return { state: next, value: z >>> 0 };
}

const UINT32_RANGE = 0x1_0000_0000;

export class SimPrng implements Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new SimUsageError(`prng seed must be a non-negative safe integer, got ${seed}`);
    // Fold both halves of a 53-bit seed in so seeds above 2^32 stay distinct.
    let s = (seed >>> 0) ^ Math.imul(Math.floor(seed / UINT32_RANGE), 0x27d4eb2d);
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = splitmix32(s);
      s = r.state;
      words.push(r.value);
    }
    this.a = words[0]!;
    this.b = words[1]!;
    this.c = words[2]!;
    this.d = words[3]!;
    // Discard the first outputs: sfc32 mixes its state during warm-up.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniformly distributed integer in [0, 2^32). */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, n), without modulo bias (rejection sampling, bounded). */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > UINT32_RANGE)
      throw new SimUsageError(`nextInt(n) needs 1 <= n <= 2^32, got ${n}`);
    const limit = UINT32_RANGE - (UINT32_RANGE % n);
    // The rejection probability is < 1/2, so 64 rounds fail with probability < 2^-64.
    for (let round = 0; round < 64; round++) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
    throw new SimUsageError('nextInt: rejection sampling did not terminate');
  }

  /** An integer in [lo, hi] (both inclusive). */
  between(lo: number, hi: number): number {
    if (hi < lo) throw new SimUsageError(`between(${lo}, ${hi}): empty range`);
    return lo + this.nextInt(hi - lo + 1);
  }

  /** True with probability perMille/1000. Integer maths keeps runs identical everywhere. */
  chancePerMille(perMille: number): boolean {
    if (perMille <= 0) return false;
    if (perMille >= 1000) return true;
    return this.nextInt(1000) < perMille;
  }

  bool(): boolean {
    return this.nextInt(2) === 1;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new SimUsageError('pick from an empty list');
    return items[this.nextInt(items.length)]!;
  }

  /**
   * An independent stream for one consumer (a node, the network, the
   * workload): consuming from one stream never shifts another's choices.
   */
  fork(label: number): SimPrng {
    const x = this.nextUint32();
    const y = this.nextUint32();
    // 53-bit seed from two draws and the label; the label separates sibling forks.
    const hi = (y ^ Math.imul(label + 1, 0x9e3779b1)) & 0x1f_ffff;
    return new SimPrng(hi * UINT32_RANGE + x);
  }
}
