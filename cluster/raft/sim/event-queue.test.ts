import { describe, expect, it } from 'vitest';
import { EventQueue } from './event-queue.ts';
import { SimPrng } from './prng.ts';

describe('EventQueue', () => {
  it('pops by time, then by insertion order for equal times', () => {
    const q = new EventQueue<string>(100);
    q.push(10, 'c');
    q.push(5, 'a');
    q.push(10, 'd');
    q.push(5, 'b');
    q.push(0, 'first');
    const out: string[] = [];
    for (let e = q.pop(); e !== undefined; e = q.pop()) out.push(e.event);
    expect(out).toEqual(['first', 'a', 'b', 'c', 'd']);
  });

  it('orders many random events like a stable sort', () => {
    const q = new EventQueue<number>(10_000);
    const p = new SimPrng(3);
    const pushed: { t: number; id: number }[] = [];
    for (let id = 0; id < 5000; id++) {
      const t = p.nextInt(200);
      pushed.push({ t, id });
      q.push(t, id);
    }
    const expected = [...pushed].sort((x, y) => x.t - y.t || x.id - y.id).map((x) => x.id);
    const got: number[] = [];
    for (let e = q.pop(); e !== undefined; e = q.pop()) got.push(e.event);
    expect(got).toEqual(expected);
  });

  it('is bounded', () => {
    const q = new EventQueue<number>(2);
    q.push(1, 1);
    q.push(1, 2);
    expect(() => q.push(1, 3)).toThrow(expect.objectContaining({ code: 'SIM_LIMIT_EXCEEDED' }));
    expect(() => q.push(-1, 3)).toThrow(/time/);
  });
});
