import { describe, expect, it } from 'vitest';
import { computeAvailability, faultWindowsOf, longestGap } from './index.ts';
import { HistoryBuilder } from './testing/history-builder.ts';

describe('computeAvailability', () => {
  /**
   * Sends to partitions 0 and 1; a fault from 100 ms to its heal at 301 ms in
   * which two of three sends fail; reads all ok before the fault.
   */
  function history(): HistoryBuilder {
    const h = new HistoryBuilder();
    h.at(0).send('p1.0', 'p1', 1, 0, 'ok', 0); // 0-1
    h.at(10).send('p1.0', 'p1', 2, 1, 'ok', 0); // 10-11
    h.at(20).read('c1', [
      [0, 0, 'p1-1'],
      [1, 0, 'p1-2'],
    ]); // 20-21
    h.at(100).fault('partition {1}|{2,3}', [1]); // invoke 100, ok 101
    h.at(150).send('p1.0', 'p1', 3, 0, 'info'); // 150-151
    h.at(200).send('p1.0', 'p1', 4, 0, 'fail'); // 200-201
    h.at(250).send('p1.0', 'p1', 5, 1, 'ok', 1); // 250-251
    h.at(260).read('c1', [], 'info'); // 260-261
    h.at(300).heal(); // invoke 300, ok 301
    h.at(400).send('p1.0', 'p1', 6, 0, 'ok', 1); // 400-401
    h.at(500).read('c1', [[1, 1, 'p1-5']]); // 500-501
    h.at(600).drain(0, ['p1-1', 'p1-6']);
    h.drain(1, ['p1-2', 'p1-5']);
    return h;
  }

  it('counts ok fractions overall and while a fault was active', () => {
    const a = computeAvailability(history().events);
    expect(a.faultWindows).toEqual([
      { startMs: 100, endMs: 301, durationMs: 201, faults: ['partition {1}|{2,3}'], healed: true },
    ]);
    expect(a.faultTimeMs).toBe(201);
    expect(a.workload).toEqual({ startMs: 0, endMs: 501, durationMs: 501 });
    expect(a.sends).toMatchObject({
      completed: 6,
      ok: 4,
      okFraction: 4 / 6,
      completedDuringFault: 3,
      okDuringFault: 1,
    });
    expect(a.sends.okFractionDuringFault).toBeCloseTo(1 / 3);
    expect(a.reads).toMatchObject({
      completed: 3,
      ok: 2,
      completedDuringFault: 1,
      okDuringFault: 0,
      okFractionDuringFault: 0,
    });
  });

  it('finds the longest window without an ok send, overall and per partition, and where it was', () => {
    const a = computeAvailability(history().events);
    // ok sends complete at 1, 11, 251, 401; the workload runs 0-501.
    expect(a.sends.longestGap).toEqual({ startMs: 11, endMs: 251, durationMs: 240 });
    expect(a.sends.longestGapByPartition).toEqual([
      { partition: 0, startMs: 1, endMs: 401, durationMs: 400 },
      // 11-251 is 240 ms; the tail from the last ok send to the workload's end is longer.
      { partition: 1, startMs: 251, endMs: 501, durationMs: 250 },
    ]);
    // ok reads complete at 21 and 501; partition 0 was only read at 21.
    expect(a.reads.longestGap).toEqual({ startMs: 21, endMs: 501, durationMs: 480 });
    expect(a.reads.longestGapByPartition).toEqual([
      { partition: 0, startMs: 21, endMs: 501, durationMs: 480 },
      { partition: 1, startMs: 21, endMs: 501, durationMs: 480 },
    ]);
  });

  it('gives a partition with no ok send a gap as long as the workload', () => {
    const h = new HistoryBuilder();
    h.at(0).send('p1.0', 'p1', 1, 0, 'ok', 0);
    h.at(50).send('p1.0', 'p1', 2, 1, 'info');
    h.at(99).send('p1.0', 'p1', 3, 0, 'ok', 1);
    const a = computeAvailability(h.events);
    expect(a.sends.longestGapByPartition[1]).toEqual({ partition: 1, startMs: 0, endMs: 100, durationMs: 100 });
    expect(a.reads.okFraction).toBeNull();
  });

  it('has no figures for an empty history', () => {
    const a = computeAvailability([]);
    expect(a.workload).toBeNull();
    expect(a.sends.longestGap).toBeNull();
    expect(a.sends.okFraction).toBeNull();
    expect(a.faultWindows).toEqual([]);
  });
});

describe('faultWindowsOf', () => {
  it('merges overlapping faults until the heal and runs an unhealed one to the end', () => {
    const h = new HistoryBuilder();
    h.at(10).fault('kill-9 node 1');
    h.at(20).fault('pause node 2');
    h.at(30).heal(); // ok at 31
    h.at(40).heal(); // a heal with no fault open changes nothing
    h.at(50).fault('partition one-way 1->2');
    h.at(90).send('p1.0', 'p1', 1, 0, 'info');
    expect(faultWindowsOf(h.events)).toEqual([
      { startMs: 10, endMs: 31, durationMs: 21, faults: ['kill-9 node 1', 'pause node 2'], healed: true },
      { startMs: 50, endMs: 91, durationMs: 41, faults: ['partition one-way 1->2'], healed: false },
    ]);
  });
});

describe('longestGap', () => {
  it('measures from the span start, between times, and to the span end, clamping times outside', () => {
    const span = { startMs: 100, endMs: 200, durationMs: 100 };
    expect(longestGap([], span)).toEqual({ startMs: 100, endMs: 200, durationMs: 100 });
    expect(longestGap([190, 120, 130], span)).toEqual({ startMs: 130, endMs: 190, durationMs: 60 });
    expect(longestGap([50, 150, 250], span)).toEqual({ startMs: 100, endMs: 150, durationMs: 50 });
  });
});
