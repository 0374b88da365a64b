import { describe, expect, it } from 'vitest';
import { checkHistory } from './index.ts';
import { mutations, randomHistory } from './testing/random-history.ts';

const seeds = [1, 2, 3, 42, 1234, 99_991, 7_000_001, 31_337];
const histories = new Map(seeds.map((seed) => [seed, randomHistory(seed)]));
const historyOf = (seed: number) => histories.get(seed)!;

function failed(history: Parameters<typeof checkHistory>[0]): string[] {
  return checkHistory(history)
    .results.filter((r) => !r.valid)
    .map((r) => r.name);
}

describe('random valid histories (seeded)', () => {
  it.each(seeds)('seed %i passes every checker', (seed) => {
    const history = historyOf(seed);
    const report = checkHistory(history);
    expect(failed(history)).toEqual([]);
    // The generator covers what the checkers must tolerate.
    expect(report.counts.sendsOk).toBeGreaterThan(100);
    expect(report.counts.sendsInfo).toBeGreaterThan(10);
    expect(report.counts.sendsFail).toBeGreaterThan(10);
    expect(report.counts.readRecords).toBeGreaterThan(100);
    expect(report.counts.faults).toBeGreaterThan(1);
    expect(report.availability.faultWindows.length).toBeGreaterThan(1);
    // Every log starts with a leader's no-op and faults add more: offsets without records.
    expect(report.results.find((r) => r.name === 'drain-completeness')!.stats.controlOffsets).toBeGreaterThan(3);
  });

  it('is reproducible from its seed', () => {
    expect(randomHistory(5)).toEqual(randomHistory(5));
    expect(randomHistory(5)).not.toEqual(randomHistory(6));
  });
});

describe('each mutation fails exactly its checker', () => {
  for (const m of mutations) {
    it(`${m.name} -> ${m.breaks}`, () => {
      let applied = 0;
      for (const seed of seeds) {
        const mutated = m.apply(historyOf(seed), seed);
        if (mutated === null) continue;
        applied++;
        expect(failed(mutated), `seed ${seed}`).toEqual([m.breaks]);
      }
      // Every mutation must find a spot in most seeds, or this test proves nothing.
      expect(applied).toBeGreaterThanOrEqual(seeds.length - 2);
    });
  }
});
