import { describe, expect, it } from 'vitest';
import type { DrainEvent } from '../history.ts';
import { checkHistory, checkLostWrites, renderSummary } from './index.ts';
import { syntheticHistory } from './testing/synthetic-history.ts';

// Long chaos runs write up to ~2 million events; the checkers make linear passes
// over Maps, so a million events must simply work (no time is asserted here).
describe('a 1,000,000-event history', () => {
  const history = syntheticHistory(1_000_000);

  // About 7 s of CPU for both tests; the timeout leaves room for a machine shared with benchmarks.
  it('is checked in full and passes', { timeout: 180_000 }, () => {
    expect(history.length).toBeGreaterThanOrEqual(1_000_000);
    const report = checkHistory(history);
    expect(report.results.filter((r) => !r.valid).map((r) => r.name)).toEqual([]);
    expect(report.counts.events).toBe(history.length);
    expect(report.counts.sendsOk + report.counts.sendsInfo).toBe(report.counts.sends);
    expect(report.counts.drainRecords).toBe(report.counts.sendsOk);
    expect(report.availability.faultWindows.length).toBeGreaterThan(100);
    expect(renderSummary(report, meta).startsWith('# PASS')).toBe(true);
  });

  it('still finds one lost write among them', { timeout: 180_000 }, () => {
    const drain = history.findLast((e): e is DrainEvent => e.f === 'drain' && e.type === 'ok')!;
    const last = drain.records!.pop()!;
    drain.endOffset! -= 1;
    try {
      const lost = checkLostWrites(history);
      expect(lost.stats['violations.lost']).toBe(1);
      expect(lost.violations[0]!.detail).toMatchObject({ value: last.value });
    } finally {
      drain.records!.push(last);
      drain.endOffset! += 1;
    }
  });
});

const meta = { seed: 0, command: 'synthetic', replay: 'synthetic', nodes: 0, durationS: 0, mode: 'none', nemeses: [] };
