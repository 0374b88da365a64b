/**
 * Seeded choices for the nemesis. Every fault draws the same number of
 * values from the PRNG whatever the cluster looks like (`FaultDraw`), so a
 * seed replays the same schedule of kinds, durations and random targets even
 * when a probe answers differently.
 */
import { mulberry32 } from '../../node/util/prng.ts';

/** Uniform floats drawn per fault, whatever the fault uses. */
export const drawsPerFault = 32;

export class SeededRandom {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  float(): number {
    return this.next();
  }

  /** A fixed-size block of draws for one fault. */
  block(): FaultDraw {
    const values: number[] = [];
    for (let i = 0; i < drawsPerFault; i++) values.push(this.next());
    return new FaultDraw(values);
  }

  /** A shuffled copy (Fisher-Yates), drawing length - 1 values. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

/** A fixed block of draws; reading past it is a bug (the schedule would stop replaying). */
export class FaultDraw {
  private readonly values: number[];
  private at = 0;

  constructor(values: number[]) {
    this.values = values;
  }

  float(): number {
    const v = this.values[this.at++];
    if (v === undefined) throw new Error(`a fault used more than ${this.values.length} draws`);
    return v;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.float() * items.length)]!;
  }

  /** `k` distinct items, order as drawn (uses one draw per item taken). */
  sample<T>(items: readonly T[], k: number): T[] {
    const pool = [...items];
    const out: T[] = [];
    for (let i = 0; i < k && pool.length > 0; i++) {
      const j = Math.floor(this.float() * pool.length);
      out.push(pool.splice(j, 1)[0]!);
    }
    return out;
  }
}
