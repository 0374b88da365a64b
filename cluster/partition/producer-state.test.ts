import { describe, expect, it } from 'vitest';
import { RaftbusError } from '../../node/protocol/errors.ts';
import { type BatchHeader, encodeBatch, readBatchHeader } from '../../node/storage/batch.ts';
import { PRODUCER_BATCHES_KEPT, ProducerStateTable } from './producer-state.ts';

function header(producerId: number, epoch: number, seq: number, count: number): BatchHeader {
  const records = Array.from({ length: count }, () => ({ value: 'v' }));
  return readBatchHeader(encodeBatch(records, { producerId, producerEpoch: epoch, baseSequence: seq }, 0));
}

function errorName(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof RaftbusError) return err.errorName;
    throw err;
  }
  return 'none';
}

describe('ProducerStateTable', () => {
  it('accepts in-order batches, answers duplicates with the original offsets, refuses gaps and fenced epochs', () => {
    const t = new ProducerStateTable();
    expect(t.apply(header(1, 0, 0, 3), 10)).toEqual({ check: { kind: 'new' } });
    expect(t.apply(header(1, 0, 3, 2), 13)).toEqual({ check: { kind: 'new' } });
    expect(t.check(header(1, 0, 0, 3))).toEqual({
      kind: 'duplicate',
      batch: { baseSequence: 0, lastSequence: 2, baseOffset: 10, lastOffset: 12 },
    });
    expect(errorName(() => t.check(header(1, 0, 6, 1)))).toBe('OUT_OF_ORDER_SEQUENCE');
    expect(t.apply(header(1, 1, 0, 1), 15)).toEqual({ check: { kind: 'new' } });
    expect(errorName(() => t.check(header(1, 0, 5, 1)))).toBe('INVALID_PRODUCER_EPOCH');
    expect(errorName(() => t.check(header(1, 2, 4, 1)))).toBe('OUT_OF_ORDER_SEQUENCE');
    const r = t.apply(header(1, 1, 7, 1), 16);
    expect('error' in r && r.error.errorName).toBe('OUT_OF_ORDER_SEQUENCE');
    expect(t.check(header(2, 0, 0, 1))).toEqual({ kind: 'new' });
    expect(t.check(header(-1, -1, -1, 1))).toEqual({ kind: 'none' });
  });

  it(`remembers the last ${PRODUCER_BATCHES_KEPT} batches per producer and survives encode/decode`, () => {
    const t = new ProducerStateTable();
    for (let s = 0; s < 8; s++) t.apply(header(5, 2, s, 1), 100 + s);
    expect(t.check(header(5, 2, 7, 1)).kind).toBe('duplicate');
    expect(t.check(header(5, 2, 3, 1)).kind).toBe('duplicate');
    expect(errorName(() => t.check(header(5, 2, 2, 1)))).toBe('OUT_OF_ORDER_SEQUENCE');
    const back = ProducerStateTable.decode(t.encode());
    expect(back.check(header(5, 2, 7, 1))).toEqual(t.check(header(5, 2, 7, 1)));
    expect(back.check(header(5, 2, 8, 1))).toEqual({ kind: 'new' });
    expect(ProducerStateTable.decode(new Uint8Array(0)).size).toBe(0);
  });

  it('records the offsets of batches failing the apply rule as aborted, and keeps them through encode/decode', () => {
    const t = new ProducerStateTable();
    t.apply(header(3, 0, 0, 2), 0);
    t.apply(header(3, 0, 0, 2), 2); // a second copy
    t.apply(header(3, 0, 9, 1), 4); // a gap
    t.apply(header(3, 0, 2, 1), 5);
    expect(t.abortedIn(0, 10)).toEqual([
      [2, 3],
      [4, 4],
    ]);
    expect(t.abortedIn(4, 5)).toEqual([[4, 4]]);
    expect(t.abortedIn(5, 10)).toEqual([]);
    expect(ProducerStateTable.decode(t.encode()).abortedIn(0, 10)).toEqual(t.abortedIn(0, 10));
  });
});
