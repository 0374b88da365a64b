/**
 * A log-linear histogram (the HdrHistogram layout, without the dependency):
 * values are grouped by their power of two (the "log" part) and each power of
 * two [2^e, 2^(e+1)) is split into subBuckets/2 equal steps (the "linear"
 * part). With 256 sub-buckets a step is at most 1/128 of the values in it, so
 * a percentile is known to within 1/128 (< 0.8 %), at any scale, in a fixed
 * amount of memory (about 5,000 counters for values up to 2^44).
 *
 * Values are non-negative integers (the benchmark records nanoseconds).
 */
import { HistogramRangeError } from './errors.ts';

export interface HistogramOptions {
  /** Steps per power of two; a power of two itself. */
  subBuckets?: number;
  /** Largest value recordable is below 2^maxExponent. */
  maxExponent?: number;
}

export const histogramDefaults = { subBuckets: 256, maxExponent: 44 } as const; // 2^44 ns ≈ 4.9 hours

export class Histogram {
  readonly subBuckets: number;
  readonly maxValue: number;
  private readonly subBits: number;
  private readonly counts: Float64Array;
  private total = 0;
  private minSeen = Number.POSITIVE_INFINITY;
  private maxSeen = 0;
  private sum = 0;

  constructor(o: HistogramOptions = {}) {
    const subBuckets = o.subBuckets ?? histogramDefaults.subBuckets;
    const maxExponent = o.maxExponent ?? histogramDefaults.maxExponent;
    if (!(Number.isInteger(subBuckets) && subBuckets >= 2 && (subBuckets & (subBuckets - 1)) === 0))
      throw new HistogramRangeError(`subBuckets must be a power of two >= 2, got ${subBuckets}`);
    this.subBits = Math.log2(subBuckets);
    if (!(Number.isInteger(maxExponent) && maxExponent > this.subBits && maxExponent <= 52))
      throw new HistogramRangeError(`maxExponent must be in (${this.subBits}, 52], got ${maxExponent}`);
    this.subBuckets = subBuckets;
    this.maxValue = 2 ** maxExponent - 1;
    // Values below subBuckets get one bucket each; every higher power of two gets subBuckets/2 more.
    this.counts = new Float64Array(subBuckets + (maxExponent - this.subBits) * (subBuckets / 2));
  }

  get count(): number {
    return this.total;
  }

  get min(): number {
    return this.total === 0 ? 0 : this.minSeen;
  }

  get max(): number {
    return this.maxSeen;
  }

  get mean(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  record(value: number, times = 1): void {
    if (!(Number.isFinite(value) && value >= 0 && value <= this.maxValue))
      throw new HistogramRangeError(`value ${value} outside [0, ${this.maxValue}]`);
    const v = Math.floor(value);
    this.counts[this.indexOf(v)]! += times;
    this.total += times;
    this.sum += v * times;
    if (v < this.minSeen) this.minSeen = v;
    if (v > this.maxSeen) this.maxSeen = v;
  }

  /** Adds every count of another histogram with the same layout. */
  merge(other: Histogram): void {
    if (other.counts.length !== this.counts.length || other.subBuckets !== this.subBuckets)
      throw new HistogramRangeError('histograms with different layouts cannot be merged');
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    this.sum += other.sum;
    if (other.total > 0) {
      this.minSeen = Math.min(this.minSeen, other.minSeen);
      this.maxSeen = Math.max(this.maxSeen, other.maxSeen);
    }
  }

  /**
   * The value at percentile p (0..100): the highest value of the bucket holding
   * the rank ceil(p/100 * count), capped by the largest value recorded; 0 when empty.
   */
  percentile(p: number): number {
    if (!(p >= 0 && p <= 100)) throw new HistogramRangeError(`percentile ${p} outside [0, 100]`);
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.highestIn(i), this.maxSeen);
    }
    return this.maxSeen;
  }

  /** [percentile, value] pairs for a percentile curve: 0, 50, 90, 99, 99.9, ... up to 100. */
  curve(nines = 5): [number, number][] {
    const out: [number, number][] = [];
    for (let k = 0; k <= nines; k++) {
      const base = 100 - 100 / 10 ** k;
      // Ten points inside each decade of nines, so the curve is smooth on a log "1/(1-p)" axis.
      for (let j = 0; j < 10; j++) {
        const p = base + (100 / 10 ** k - 100 / 10 ** (k + 1)) * (j / 10);
        out.push([p, this.percentile(p)]);
      }
    }
    out.push([100, this.maxSeen]);
    return out;
  }

  private indexOf(v: number): number {
    if (v < this.subBuckets) return v;
    const exp = Math.floor(Math.log2(v)); // v in [2^exp, 2^(exp+1))
    // Math.log2 can round up just below a power of two: correct it.
    const e = 2 ** exp > v ? exp - 1 : exp;
    const shift = e - this.subBits + 1; // bucket width 2^shift
    const sub = Math.floor(v / 2 ** shift); // in [subBuckets/2, subBuckets)
    return this.subBuckets + (shift - 1) * (this.subBuckets / 2) + (sub - this.subBuckets / 2);
  }

  /** The highest value that falls in bucket i. */
  private highestIn(i: number): number {
    if (i < this.subBuckets) return i;
    const half = this.subBuckets / 2;
    const shift = Math.floor((i - this.subBuckets) / half) + 1;
    const sub = ((i - this.subBuckets) % half) + half;
    return (sub + 1) * 2 ** shift - 1;
  }
}
