import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from '../history.ts';
import {
  type CheckResult,
  checkAckedOffsets,
  checkConsumerMonotonic,
  checkDrainCompleteness,
  checkDuplicates,
  checkHistory,
  checkLostWrites,
  checkOffsetConflicts,
  checkProducerOrder,
  checkUnexpectedValues,
  checkWellformed,
  violationCount,
  violationsMax,
} from './index.ts';
import { HistoryBuilder } from './testing/history-builder.ts';

/** The checkers that failed, with their violation counts by kind. */
function failures(history: HistoryEvent[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const r of checkHistory(history).results) if (!r.valid) out[r.name] = kinds(r);
  return out;
}

function kinds(r: CheckResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(r.stats)) if (k.startsWith('violations.')) out[k.slice(11)] = n;
  return out;
}

/** Two producers on two partitions, a consumer, a fault and a heal: all valid. */
function validBase(): HistoryBuilder {
  const h = new HistoryBuilder();
  h.send('p1.0', 'p1', 1, 0, 'ok', 0);
  h.send('p2.0', 'p2', 1, 0, 'ok', 1);
  h.send('p1.0', 'p1', 2, 1, 'ok', 0);
  h.read('c1', [
    [0, 0, 'p1-1'],
    [0, 1, 'p2-1'],
  ]);
  h.fault('kill-9 node 2', [2]);
  h.send('p1.1', 'p1', 3, 0, 'ok', 2);
  h.send('p2.0', 'p2', 2, 1, 'ok', 1);
  h.read('c1', [
    [0, 2, 'p1-3'],
    [1, 0, 'p1-2'],
  ]);
  h.heal();
  return h;
}

function drainBase(h: HistoryBuilder): HistoryBuilder {
  h.drain(0, ['p1-1', 'p2-1', 'p1-3']);
  h.drain(1, ['p1-2', 'p2-2']);
  return h;
}

describe('a valid history', () => {
  it('passes every checker', () => {
    const report = checkHistory(drainBase(validBase()).events);
    expect(failures(drainBase(validBase()).events)).toEqual({});
    expect(report.valid).toBe(true);
    expect(report.counts.sendsOk).toBe(5);
    expect(report.counts.partitions).toBe(2);
  });

  it('passes with info sends that landed and info sends that did not, and an open send', () => {
    const h = validBase();
    h.send('p1.0', 'p1', 4, 0, 'info'); // landed at 3
    h.send('p1.0', 'p1', 5, 0, 'info'); // never landed
    h.send('p2.0', 'p2', 3, 0, 'open'); // landed at 4, never answered
    h.send('p1.1', 'p1', 6, 0, 'ok', 5);
    h.read('c1', [[0, 3, 'p1-4']]);
    h.drain(0, ['p1-1', 'p2-1', 'p1-3', 'p1-4', 'p2-3', 'p1-6']);
    h.drain(1, ['p1-2', 'p2-2']);
    expect(failures(h.events)).toEqual({});
  });

  it('passes with a failed send that stays invisible, reads that failed, and a consumer recreated starting over', () => {
    const h = validBase();
    h.send('p1.0', 'p1', 4, 0, 'fail');
    h.read('c1', [], 'info');
    h.read('c1', [], 'fail');
    h.read('c1b', [
      [0, 0, 'p1-1'],
      [0, 1, 'p2-1'],
      [1, 0, 'p1-2'],
    ]);
    h.read('c2', [[1, 1, 'p2-2']]);
    drainBase(h);
    expect(failures(h.events)).toEqual({});
  });

  it('passes with sends interleaved across in-flight slots and reads during a fault', () => {
    const h = new HistoryBuilder();
    h.invokeSend('p1.0', 'p1', 1, 0);
    h.invokeSend('p1.1', 'p1', 2, 0);
    h.fault('partition {1}|{2,3}', [1]);
    h.read('c1', [[0, 0, 'p1-1']]);
    h.completeSend('p1.1', 'ok', 1);
    h.read('c1', [[0, 1, 'p1-2']]);
    h.completeSend('p1.0', 'info');
    h.heal();
    h.drain(0, ['p1-1', 'p1-2']);
    expect(failures(h.events)).toEqual({});
  });
});

describe('checkWellformed', () => {
  it('reports a completion with no invoke, a completion of another f, and two open invokes', () => {
    const h = new HistoryBuilder();
    h.raw({ type: 'ok', f: 'read', process: 'c1', timeMs: 0, records: [] });
    h.raw({ type: 'invoke', f: 'read', process: 'c2', timeMs: 1 });
    h.raw({ type: 'ok', f: 'drain', process: 'c2', timeMs: 2, partition: 0 });
    h.raw({ type: 'invoke', f: 'read', process: 'c3', timeMs: 3 });
    h.raw({ type: 'invoke', f: 'read', process: 'c3', timeMs: 4 });
    const r = checkWellformed(h.events);
    expect(r.valid).toBe(false);
    expect(kinds(r)).toEqual({ 'completion-without-invoke': 1, 'completion-f-mismatch': 1, 'double-invoke': 1 });
  });

  it('reports a value invoked twice', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'ok', 0);
    h.send('p1.1', 'p1', 1, 0, 'info');
    expect(kinds(checkWellformed(h.events))).toEqual({ 'value-sent-twice': 1 });
  });

  it('reports a send without a value and a drain without a partition, and the other checkers do not crash', () => {
    const h = new HistoryBuilder();
    h.raw({ type: 'invoke', f: 'send', process: 'p1.0', timeMs: 0 } as unknown as HistoryEvent);
    h.raw({ type: 'ok', f: 'send', process: 'p1.0', timeMs: 1, offset: 0 } as unknown as HistoryEvent);
    h.raw({ type: 'invoke', f: 'drain', process: 'drain', timeMs: 2 } as unknown as HistoryEvent);
    h.raw({ type: 'ok', f: 'drain', process: 'drain', timeMs: 3, records: [] } as unknown as HistoryEvent);
    expect(failures(h.events)).toEqual({ wellformed: { 'send-without-value': 1, 'drain-without-partition': 1 } });
  });

  it('accepts invokes left open at the end and counts them', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'open');
    h.raw({ type: 'invoke', f: 'fault', process: 'nemesis', timeMs: 10, description: 'pause node 1' });
    const r = checkWellformed(h.events);
    expect(r.valid).toBe(true);
    expect(r.stats.openAtEnd).toBe(2);
  });
});

describe('checkLostWrites', () => {
  it('reports each acknowledged value missing from the drain', () => {
    const h = validBase();
    h.drain(0, ['p1-1']);
    h.drain(1, ['p1-2', 'p2-2']);
    const r = checkLostWrites(h.events);
    expect(kinds(r)).toEqual({ lost: 2 });
    expect(r.violations.map((v) => (v.detail as { value: string }).value).sort()).toEqual(['p1-3', 'p2-1']);
    expect(r.stats.acked).toBe(5);
  });

  it('cannot check a partition without a drain or with a failed one: a violation, never a pass', () => {
    const h = validBase();
    h.drainFail(0);
    const r = checkLostWrites(h.events);
    expect(kinds(r)).toEqual({ 'no-drain': 2 });
    expect(r.violations.map((v) => v.message)).toEqual([
      'cannot check partition 0: no ok drain (info)',
      'cannot check partition 1: no drain',
    ]);
    expect(r.stats.uncheckable).toBe(5);
  });

  it('needs a drain of every partition of the topic when told the partition count', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'ok', 0);
    h.drain(0, ['p1-1']);
    expect(checkHistory(h.events).valid).toBe(true);
    const r = checkHistory(h.events, { partitions: 3 }).results.find((x) => x.name === 'lost-writes')!;
    expect(r.violations.map((v) => v.message)).toEqual([
      'cannot check partition 1: no drain',
      'cannot check partition 2: no drain',
    ]);
  });

  it('needs a drain even for a partition where nothing was acknowledged', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 3, 'info');
    expect(kinds(checkLostWrites(h.events))).toEqual({ 'no-drain': 1 });
  });

  it('lists at most violationsMax violations but counts every one', () => {
    const h = new HistoryBuilder();
    const acked = violationsMax + 5;
    for (let seq = 1; seq <= acked; seq++) h.send('p1.0', 'p1', seq, 0, 'ok', seq - 1);
    h.drain(0, []);
    const r = checkLostWrites(h.events);
    expect(r.violations).toHaveLength(violationsMax);
    expect(violationCount(r, 'lost')).toBe(acked);
    expect(r.stats.violations).toBe(acked);
  });

  it('does not count an info or failed send that is missing', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'info');
    h.send('p1.0', 'p1', 2, 0, 'fail');
    h.drain(0, []);
    expect(checkLostWrites(h.events).valid).toBe(true);
  });
});

describe('checkAckedOffsets', () => {
  it('reports an ok send whose value the drain holds at another offset', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'ok', 0);
    h.send('p2.0', 'p2', 1, 0, 'ok', 0); // acknowledged at 0 but lands at 1
    h.send('p2.0', 'p2', 2, 0, 'ok', 5); // acknowledged at 5 but lands at 2
    h.send('p2.0', 'p2', 3, 0, 'ok', 3);
    h.drain(0, ['p1-1', 'p2-1', 'p2-2', 'p2-3']);
    const r = checkAckedOffsets(h.events);
    expect(kinds(r)).toEqual({ 'wrong-offset': 2 });
    expect(r.stats.matched).toBe(2);
    expect(r.violations[0]!.detail).toMatchObject({
      value: 'p2-1',
      ackedOffset: 0,
      drainOffset: 1,
      valueAtAckedOffset: 'p1-1',
    });
  });

  it('reports an ok send without an offset, and leaves a missing value to lost-writes', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'ok');
    h.send('p1.0', 'p1', 2, 0, 'ok', 1);
    h.drain(0, ['p1-1']);
    expect(kinds(checkAckedOffsets(h.events))).toEqual({ 'no-offset': 1 });
    expect(failures(h.events)).toEqual({ 'acked-offsets': { 'no-offset': 1 }, 'lost-writes': { lost: 1 } });
  });
});

describe('checkUnexpectedValues', () => {
  it('reports values never sent and values whose send definitely failed, once per value', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'ok', 0);
    h.send('p1.0', 'p1', 2, 0, 'fail');
    h.read('c1', [
      [0, 0, 'p1-1'],
      [0, 1, 'p1-2'],
      [0, 2, 'ghost-7'],
    ]);
    h.read('c2', [
      [0, 1, 'p1-2'],
      [0, 2, 'ghost-7'],
    ]);
    h.drain(0, ['p1-1', 'p1-2', 'ghost-7', 'ghost-8']);
    const r = checkUnexpectedValues(h.events);
    expect(kinds(r)).toEqual({ 'never-sent': 2, 'failed-send': 1 });
    expect(r.stats.records).toBe(9);
  });

  it('reports a value read from a partition it was not sent to', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'info');
    h.read('c1', [[1, 0, 'p1-1']]);
    h.drain(0, []);
    h.drain(1, ['p1-1']);
    expect(kinds(checkUnexpectedValues(h.events))).toEqual({ 'wrong-partition': 1 });
  });

  it('reports a value read before its send was invoked', () => {
    const h = new HistoryBuilder();
    h.read('c1', [[0, 0, 'p1-1']]);
    h.send('p1.0', 'p1', 1, 0, 'ok', 0);
    h.read('c2', [[0, 0, 'p1-1']]);
    h.drain(0, ['p1-1']);
    expect(failures(h.events)).toEqual({ 'unexpected-values': { 'read-before-send': 1 } });
  });

  it('accepts info and open sends that show up', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'info');
    h.send('p1.1', 'p1', 2, 0, 'open');
    h.read('c1', [
      [0, 0, 'p1-1'],
      [0, 1, 'p1-2'],
    ]);
    h.drain(0, ['p1-1', 'p1-2']);
    expect(checkUnexpectedValues(h.events).valid).toBe(true);
  });
});

describe('checkDuplicates', () => {
  it('reports one value at two offsets in the drain', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'ok', 0);
    h.send('p1.0', 'p1', 2, 0, 'info');
    h.drain(0, ['p1-1', 'p1-2', 'p1-2', 'p1-1']);
    const r = checkDuplicates(h.events);
    expect(kinds(r)).toEqual({ duplicate: 2 });
  });

  it('reports one value at two offsets across reads, even when the drain holds it once', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'info');
    h.send('p1.0', 'p1', 2, 0, 'ok', 0);
    h.read('c1', [[0, 0, 'p1-1']]);
    h.read('c2', [[0, 1, 'p1-1']]);
    h.drain(0, ['p1-2', 'p1-1']);
    const r = checkDuplicates(h.events);
    expect(kinds(r)).toEqual({ duplicate: 1 });
    expect(r.violations[0]!.detail).toMatchObject({
      value: 'p1-1',
      first: { offset: 0, source: { process: 'c1' } },
      second: { offset: 1, source: { process: 'c2' } },
    });
  });

  it('accepts the same record read by several consumers and again by a recreated one', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'ok', 0);
    h.read('c1', [[0, 0, 'p1-1']]);
    h.read('c2', [[0, 0, 'p1-1']]);
    h.read('c1b', [[0, 0, 'p1-1']]);
    h.drain(0, ['p1-1']);
    expect(checkDuplicates(h.events).valid).toBe(true);
  });
});

describe('checkOffsetConflicts', () => {
  it('reports each place that held two values, across reads and the drain', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'info');
    h.send('p1.0', 'p1', 2, 0, 'ok', 0);
    h.send('p1.0', 'p1', 3, 0, 'ok', 1);
    h.read('c1', [
      [0, 0, 'p1-1'],
      [0, 1, 'p1-3'],
    ]);
    h.read('c2', [[0, 0, 'p1-1']]);
    h.drain(0, ['p1-2', 'p1-3']);
    const r = checkOffsetConflicts(h.events);
    expect(kinds(r)).toEqual({ 'offset-conflict': 1 });
    expect(r.violations[0]!.detail).toMatchObject({
      partition: 0,
      offset: 0,
      first: { value: 'p1-1' },
      second: { value: 'p1-2' },
    });
  });

  it('tells partitions apart: the same offset in two partitions is two places', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'ok', 0);
    h.send('p1.0', 'p1', 2, 1, 'ok', 0);
    h.read('c1', [
      [0, 0, 'p1-1'],
      [1, 0, 'p1-2'],
    ]);
    h.drain(0, ['p1-1']);
    h.drain(1, ['p1-2']);
    expect(checkOffsetConflicts(h.events).valid).toBe(true);
  });
});

describe('checkProducerOrder', () => {
  it('reports each record that comes after a higher seq of its producer in a partition', () => {
    const h = new HistoryBuilder();
    for (let seq = 1; seq <= 4; seq++) h.send('p1.0', 'p1', seq, 0, 'info');
    h.send('p2.0', 'p2', 1, 0, 'info');
    h.send('p2.0', 'p2', 2, 0, 'info');
    h.drain(0, ['p1-3', 'p2-2', 'p1-1', 'p1-2', 'p2-1', 'p1-4']);
    const r = checkProducerOrder(h.events);
    expect(kinds(r)).toEqual({ inversion: 3 });
  });

  it('accepts gaps (info sends that never landed) and judges each partition on its own', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'ok', 0);
    h.send('p1.0', 'p1', 2, 1, 'ok', 0);
    h.send('p1.0', 'p1', 3, 0, 'info');
    h.send('p1.0', 'p1', 4, 1, 'ok', 1);
    h.send('p1.0', 'p1', 5, 0, 'ok', 1);
    h.drain(0, ['p1-1', 'p1-5']);
    h.drain(1, ['p1-2', 'p1-4']);
    expect(failures(h.events)).toEqual({});
  });
});

describe('checkConsumerMonotonic', () => {
  it('reports a read that goes back, and one that repeats an offset, per (read, partition)', () => {
    const h = new HistoryBuilder();
    for (let seq = 1; seq <= 4; seq++) h.send('p1.0', 'p1', seq, 0, 'ok', seq - 1);
    h.send('p1.0', 'p1', 5, 1, 'ok', 0);
    h.read('c1', [
      [0, 2, 'p1-3'],
      [0, 3, 'p1-4'],
    ]);
    h.read('c1', [
      [0, 0, 'p1-1'],
      [0, 1, 'p1-2'],
      [1, 0, 'p1-5'],
    ]);
    h.read('c1', [[1, 0, 'p1-5']]);
    h.read('c2', [
      [0, 1, 'p1-2'],
      [0, 0, 'p1-1'],
    ]);
    const r = checkConsumerMonotonic(h.events);
    expect(kinds(r)).toEqual({ backwards: 3 });
    expect(r.stats.consumers).toBe(2);
  });

  it('judges each process on its own: a recreated consumer starts over', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'ok', 0);
    h.send('p1.0', 'p1', 2, 0, 'ok', 1);
    h.read('c1', [
      [0, 0, 'p1-1'],
      [0, 1, 'p1-2'],
    ]);
    h.read('c1b', [[0, 0, 'p1-1']]);
    h.read('c1b', [[0, 1, 'p1-2']]);
    expect(checkConsumerMonotonic(h.events).valid).toBe(true);
  });
});

describe('checkDrainCompleteness', () => {
  it('reports a hole in the middle, a log that does not start at 0 and a tail short of endOffset', () => {
    const h = new HistoryBuilder();
    for (let seq = 1; seq <= 3; seq++) h.send('p1.0', 'p1', seq, 0, 'info');
    h.drainRecords(
      0,
      [
        [0, 0, 'p1-1'],
        [0, 3, 'p1-2'],
      ],
      6,
    );
    h.drainRecords(1, [[1, 2, 'p1-3']], 3);
    const r = checkDrainCompleteness(h.events);
    expect(kinds(r)).toEqual({ hole: 3 });
    expect(r.violations.map((v) => v.detail)).toEqual([
      { partition: 0, fromOffset: 1, toOffsetExclusive: 3 },
      { partition: 0, fromOffset: 4, toOffsetExclusive: 6 },
      { partition: 1, fromOffset: 0, toOffsetExclusive: 2 },
    ]);
  });

  it('reports offsets that go back, records past endOffset and records of another partition', () => {
    const h = new HistoryBuilder();
    for (let seq = 1; seq <= 3; seq++) h.send('p1.0', 'p1', seq, 0, 'info');
    h.drainRecords(
      0,
      [
        [0, 0, 'p1-1'],
        [0, 1, 'p1-2'],
        [0, 1, 'p1-2'],
        [1, 2, 'p1-3'],
        [0, 2, 'p1-3'],
      ],
      2,
    );
    const r = checkDrainCompleteness(h.events);
    expect(kinds(r)).toEqual({ 'not-ascending': 1, 'foreign-record': 1, 'beyond-end': 1 });
  });

  it('accepts offsets taken by control batches (Raft no-ops) at the start, in the middle and at the end', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'ok', 1);
    h.send('p1.0', 'p1', 2, 0, 'ok', 4);
    h.drainRecords(
      0,
      [
        [0, 1, 'p1-1'],
        [0, 4, 'p1-2'],
      ],
      7,
      [
        [0, 1],
        [2, 4],
        [5, 7],
      ],
    );
    const r = checkDrainCompleteness(h.events);
    expect(kinds(r)).toEqual({});
    expect(r.stats.controlOffsets).toBe(5);
    expect(failures(h.events)).toEqual({});
  });

  it('reports holes around control ranges, a record inside one, one past the end and malformed ones', () => {
    const h = new HistoryBuilder();
    for (let seq = 1; seq <= 3; seq++) h.send('p1.0', 'p1', seq, 0, 'info');
    h.drainRecords(
      0,
      [
        [0, 0, 'p1-1'],
        [0, 3, 'p1-2'],
        [0, 6, 'p1-3'],
      ],
      10,
      [
        [2, 3],
        [6, 7],
        [8, 11],
      ],
    );
    h.drainRecords(1, [], 2, [[1, 0]]);
    const r = checkDrainCompleteness(h.events);
    expect(kinds(r)).toEqual({ hole: 4, 'control-overlap': 1, 'beyond-end': 1, 'bad-control-ranges': 1 });
    expect(r.violations.filter((v) => v.kind === 'hole').map((v) => v.detail)).toEqual([
      { partition: 0, fromOffset: 1, toOffsetExclusive: 2 },
      { partition: 0, fromOffset: 4, toOffsetExclusive: 6 },
      { partition: 0, fromOffset: 7, toOffsetExclusive: 8 },
      { partition: 1, fromOffset: 0, toOffsetExclusive: 2 },
    ]);
  });

  it('accepts an empty partition and a full log', () => {
    const h = new HistoryBuilder();
    h.send('p1.0', 'p1', 1, 0, 'ok', 0);
    h.drain(0, ['p1-1']);
    h.drain(1, []);
    const r = checkDrainCompleteness(h.events);
    expect(r.valid).toBe(true);
    expect(r.stats.partitions).toBe(2);
    expect(violationCount(r)).toBe(0);
  });
});
