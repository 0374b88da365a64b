import { describe, expect, it } from 'vitest';
import {
  BATCH_MAGIC,
  BatchField,
  BatchFormatError,
  batchCrcOk,
  CRC_START,
  decodeBatch,
  encodeBatch,
  HEADER_BYTES,
  lastOffsetOf,
  readBatchHeader,
  splitBatches,
  stampBatch,
  validateBatch,
} from './batch.ts';

const producer = { producerId: 42, producerEpoch: 3, baseSequence: 17 };

function sample(): Uint8Array {
  return encodeBatch(
    [
      { key: 'a', value: 'hello', headers: { h: 'v' }, timestamp: 1_000 },
      { key: null, value: new Uint8Array([1, 2, 3]), timestamp: 1_500 },
      { value: 'third' },
    ],
    producer,
    999,
  );
}

describe('record batch', () => {
  it('round-trips records, header fields and timestamps', () => {
    const batch = sample();
    const h = validateBatch(batch);
    expect(h).toMatchObject({
      baseOffset: 0,
      term: 0,
      magic: BATCH_MAGIC,
      batchBytes: batch.byteLength,
      recordCount: 3,
      firstTimestamp: 1_000,
      maxTimestamp: 1_500,
      producerId: 42,
      producerEpoch: 3,
      baseSequence: 17,
    });
    const records = decodeBatch(batch);
    expect(records.map((r) => r.offset)).toEqual([0, 1, 2]);
    expect(new TextDecoder().decode(records[0]!.key!)).toBe('a');
    expect(new TextDecoder().decode(records[0]!.value)).toBe('hello');
    expect(records[0]!.headers).toEqual({ h: 'v' });
    expect(records[1]!.key).toBeNull();
    expect([...records[1]!.value]).toEqual([1, 2, 3]);
    expect(records.map((r) => r.timestamp)).toEqual([1_000, 1_500, 1_000]);
  });

  it('stamping base offset and term keeps the CRC valid', () => {
    const batch = sample();
    stampBatch(batch, 123_456_789_012, 77);
    const h = validateBatch(batch);
    expect(h.baseOffset).toBe(123_456_789_012);
    expect(h.term).toBe(77);
    expect(lastOffsetOf(h)).toBe(123_456_789_014);
    expect(decodeBatch(batch).map((r) => r.offset)).toEqual([123_456_789_012, 123_456_789_013, 123_456_789_014]);
  });

  it('detects a flipped bit in every CRC-covered byte', () => {
    const batch = sample();
    let detected = 0;
    for (let i = CRC_START; i < batch.byteLength; i++) {
      const bad = batch.slice();
      bad[i]! ^= 0x01;
      expect(batchCrcOk(bad)).toBe(false);
      expect(() => validateBatch(bad)).toThrow(BatchFormatError);
      detected++;
    }
    expect(detected).toBe(batch.byteLength - CRC_START);
  });

  it('detects a corrupted stored CRC', () => {
    const bad = sample();
    bad[BatchField.crc]! ^= 0x80;
    expect(() => validateBatch(bad)).toThrow(/CRC/);
  });

  it('rejects a bad magic, a wrong length, a short buffer and zero records', () => {
    const badMagic = sample();
    badMagic[BatchField.magic] = 9;
    expect(() => validateBatch(badMagic)).toThrow(/magic/);

    const batch = sample();
    const longer = new Uint8Array(batch.byteLength + 1);
    longer.set(batch);
    expect(() => validateBatch(longer)).toThrow(/bytes but/);
    expect(() => validateBatch(batch.subarray(0, HEADER_BYTES - 1))).toThrow(/header needs/);

    expect(() => encodeBatch([])).toThrow(BatchFormatError);
    const zero = sample();
    new DataView(zero.buffer).setUint32(BatchField.recordCount, 0);
    expect(() => readBatchHeader(zero)).toThrow(/no records/);
  });

  it('splits back-to-back batches and rejects a truncated one', () => {
    const a = sample();
    const b = sample();
    const both = new Uint8Array(a.byteLength + b.byteLength);
    both.set(a);
    both.set(b, a.byteLength);
    expect(splitBatches(both).map((x) => x.byteLength)).toEqual([a.byteLength, b.byteLength]);
    expect(() => splitBatches(both.subarray(0, both.byteLength - 1))).toThrow(/truncated/);
  });
});
