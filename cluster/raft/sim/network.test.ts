import { describe, expect, it } from 'vitest';
import { SimNetwork } from './network.ts';
import { SimPrng } from './prng.ts';

describe('SimNetwork', () => {
  it('draws delays within range, loses and duplicates at the configured rates', () => {
    const net = new SimNetwork(new SimPrng(1), {
      delayMinMs: 2,
      delayMaxMs: 9,
      lossPerMille: 200,
      duplicatePerMille: 100,
    });
    let lost = 0;
    let dup = 0;
    for (let i = 0; i < 10_000; i++) {
      const d = net.route(1, 2);
      if (d.length === 0) lost++;
      if (d.length === 2) dup++;
      expect(d[0] === undefined || (d[0] >= 2 && d[0] <= 9)).toBe(true);
    }
    expect(lost).toBeGreaterThan(1800);
    expect(lost).toBeLessThan(2200);
    expect(dup).toBeGreaterThan(650);
    expect(dup).toBeLessThan(950);
  });

  it('cuts one way, both ways, splits and heals', () => {
    const net = new SimNetwork(new SimPrng(1), { delayMinMs: 1, delayMaxMs: 1, lossPerMille: 0, duplicatePerMille: 0 });
    net.cutOneWay(1, 2);
    expect(net.canDeliver(1, 2)).toBe(false);
    expect(net.canDeliver(2, 1)).toBe(true);
    expect(net.route(1, 2)).toEqual([]);
    net.split([1, 2], [3, 4, 5]);
    expect(net.canDeliver(3, 1)).toBe(false);
    expect(net.canDeliver(1, 2)).toBe(false);
    expect(net.canDeliver(4, 5)).toBe(true);
    net.heal();
    net.isolate(3, [1, 2, 3, 4, 5]);
    expect(net.canDeliver(3, 4)).toBe(false);
    expect(net.canDeliver(5, 3)).toBe(false);
    expect(net.canDeliver(1, 2)).toBe(true);
    net.heal();
    expect(net.cutCount).toBe(0);
  });

  it('keeps per-link order with fifoLinks, and lets messages overtake without', () => {
    const faults = { delayMinMs: 1, delayMaxMs: 50, lossPerMille: 0, duplicatePerMille: 0 };
    const arrivals = (fifoLinks: boolean) => {
      const net = new SimNetwork(new SimPrng(9), { ...faults, fifoLinks });
      const out: number[] = [];
      for (let t = 0; t < 200; t++) out.push(t + net.route(1, 2, t)[0]!);
      return out;
    };
    const inOrder = (xs: number[]) => xs.every((x, i) => i === 0 || x >= xs[i - 1]!);
    expect(inOrder(arrivals(true))).toBe(true);
    expect(inOrder(arrivals(false))).toBe(false);
  });
});
