import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../node/util/prng.ts';
import { HistogramRangeError } from './errors.ts';
import { Histogram } from './histogram.ts';

/** The exact value at a percentile by the same nearest-rank rule the histogram uses. */
function exactPercentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

describe('Histogram', () => {
  it('keeps every percentile within 1/128 of the exact value, over six decades', () => {
    const rand = mulberry32(7);
    const h = new Histogram();
    const values: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      // Log-uniform from 1 us to 1 s in ns: every scale gets values.
      const v = Math.floor(10 ** (3 + rand() * 6));
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    for (const p of [0, 1, 10, 50, 90, 99, 99.9, 99.99, 100]) {
      const exact = exactPercentile(values, p);
      const got = h.percentile(p);
      expect(got).toBeGreaterThanOrEqual(exact);
      expect((got - exact) / exact).toBeLessThan(1 / 128);
    }
    expect(h.count).toBe(values.length);
    expect(h.min).toBe(values[0]);
    expect(h.max).toBe(values.at(-1));
    expect(h.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 3);
  });

  it('holds small values exactly and bucket edges at powers of two', () => {
    const h = new Histogram();
    for (const v of [0, 1, 2, 127, 128, 255, 256, 1023, 1024]) h.record(v);
    expect(h.percentile(0)).toBe(0);
    expect(h.percentile(100)).toBe(1024);
    const single = new Histogram();
    single.record(2 ** 20);
    expect(single.percentile(50)).toBe(2 ** 20);
    const below = new Histogram();
    below.record(2 ** 20 - 1);
    expect(below.percentile(50)).toBe(2 ** 20 - 1);
  });

  it('is empty-safe, merges, and rejects what it cannot hold', () => {
    const a = new Histogram();
    expect(a.percentile(99)).toBe(0);
    expect(a.count).toBe(0);
    const b = new Histogram();
    a.record(1_000, 3);
    b.record(5_000_000);
    a.merge(b);
    expect(a.count).toBe(4);
    expect(a.percentile(75)).toBeLessThan(1_010);
    expect(a.percentile(100)).toBe(5_000_000);
    expect(() => a.record(-1)).toThrow(HistogramRangeError);
    expect(() => a.record(Number.NaN)).toThrow(HistogramRangeError);
    expect(() => a.record(2 ** 50)).toThrow(HistogramRangeError);
    expect(() => a.percentile(101)).toThrow(HistogramRangeError);
    expect(() => new Histogram({ subBuckets: 100 })).toThrow(HistogramRangeError);
    expect(() => a.merge(new Histogram({ subBuckets: 64 }))).toThrow(HistogramRangeError);
  });

  it('draws a percentile curve that never decreases', () => {
    const h = new Histogram();
    for (let i = 1; i <= 10_000; i++) h.record(i * 1_000);
    const curve = h.curve(4);
    for (let i = 1; i < curve.length; i++) {
      expect(curve[i]![0]).toBeGreaterThanOrEqual(curve[i - 1]![0]);
      expect(curve[i]![1]).toBeGreaterThanOrEqual(curve[i - 1]![1]);
    }
    expect(curve.at(-1)).toEqual([100, 10_000_000]);
  });
});
