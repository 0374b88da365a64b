import { describe, expect, it } from 'vitest';
import { SimPrng } from './prng.ts';

describe('SimPrng (sfc32)', () => {
  it('replays the same stream for the same seed and differs across seeds', () => {
    const a = new SimPrng(42);
    const b = new SimPrng(42);
    const c = new SimPrng(43);
    const xa = Array.from({ length: 64 }, () => a.nextUint32());
    const xb = Array.from({ length: 64 }, () => b.nextUint32());
    const xc = Array.from({ length: 64 }, () => c.nextUint32());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
  });

  it('keeps nextInt in range and roughly uniform', () => {
    const p = new SimPrng(7);
    const counts = new Array<number>(6).fill(0);
    const draws = 60_000;
    let outOfRange = 0;
    for (let i = 0; i < draws; i++) {
      const x = p.nextInt(6);
      if (!(x >= 0 && x < 6 && Number.isInteger(x))) outOfRange++;
      else counts[x] = counts[x]! + 1;
    }
    expect(outOfRange).toBe(0);
    // Each bucket expects 10,000; 5 sigma is about 456.
    for (const n of counts) expect(Math.abs(n - draws / 6)).toBeLessThan(500);
  });

  it('draws inclusive ranges and rejects bad arguments', () => {
    const p = new SimPrng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(p.between(3, 5));
    expect([...seen].sort()).toEqual([3, 4, 5]);
    expect(() => p.nextInt(0)).toThrow(/nextInt/);
    expect(() => p.between(5, 3)).toThrow(/empty range/);
    expect(() => new SimPrng(-1)).toThrow(/seed/);
  });

  it('gives independent forks: drawing from one does not shift another', () => {
    const root1 = new SimPrng(99);
    const f1a = root1.fork(1);
    const f1b = root1.fork(2);
    const root2 = new SimPrng(99);
    const f2a = root2.fork(1);
    const f2b = root2.fork(2);
    for (let i = 0; i < 100; i++) f1a.nextUint32(); // consume only one sibling
    expect(Array.from({ length: 8 }, () => f1b.nextUint32())).toEqual(
      Array.from({ length: 8 }, () => f2b.nextUint32()),
    );
    expect(f2a.nextUint32()).not.toBe(f2b.nextUint32());
  });

  it('honours per-mille chances at the edges', () => {
    const p = new SimPrng(5);
    let hits = 0;
    for (let i = 0; i < 10_000; i++) if (p.chancePerMille(100)) hits++;
    expect(hits).toBeGreaterThan(850);
    expect(hits).toBeLessThan(1150);
    expect(p.chancePerMille(0)).toBe(false);
    expect(p.chancePerMille(1000)).toBe(true);
  });
});
