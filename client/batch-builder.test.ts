import { describe, expect, it } from 'vitest';
import { decodeBatch, encodeBatch, type Headers, type RecordInput } from '../node/storage/batch.ts';
import { BatchBuilder, encodeBatchFast } from './batch-builder.ts';

/** Small seeded PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const alphabet = ['a', 'Z', '0', 'é', '€', '😀', '\ud800', ' '];

function randomString(r: () => number, maxLen: number): string {
  const n = Math.floor(r() * maxLen);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)]!;
  return s;
}

function randomBytes(r: () => number, maxLen: number): Uint8Array {
  const n = Math.floor(r() * maxLen);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

function randomLen(r: () => number): number {
  // Hit every msgpack length class: fix, 8-bit, 16-bit and 32-bit headers.
  const x = r();
  return x < 0.03 ? 70_000 : x < 0.35 ? 4 : x < 0.7 ? 40 : 300;
}

function randomRecord(r: () => number, base: number): RecordInput {
  const rec: RecordInput = { value: r() < 0.5 ? randomString(r, randomLen(r)) : randomBytes(r, randomLen(r)) };
  const k = r();
  if (k < 0.3) rec.key = randomString(r, 40);
  else if (k < 0.6) rec.key = randomBytes(r, 300);
  else if (k < 0.7) rec.key = null;
  if (r() < 0.5) {
    const headers: Headers = {};
    const n = Math.floor(r() * 20);
    for (let i = 0; i < n; i++)
      headers[`h${i}${randomString(r, 40)}`] = r() < 0.5 ? randomString(r, 300) : randomBytes(r, 40);
    rec.headers = headers;
  }
  const t = r();
  // Deltas of every integer class, negative ones, and beyond 32 bits (float64 in msgpackr).
  if (t < 0.5) rec.timestamp = base + Math.floor((r() - 0.3) * 2 ** Math.floor(r() * 34));
  return rec;
}

describe('BatchBuilder', () => {
  it('writes the same bytes as encodeBatch on random records', () => {
    const r = prng(20261127);
    for (let round = 0; round < 60; round++) {
      const count = [1, 15, 16, 200][round % 4]!;
      const base = 1_700_000_000_000 + Math.floor(r() * 1e6);
      const records = Array.from({ length: count }, () => randomRecord(r, base));
      const producer = { producerId: round - 1, producerEpoch: (round % 3) - 1, baseSequence: round * 7 - 1 };
      const expected = encodeBatch(records, producer, base, 0);
      const actual = encodeBatchFast(records, producer, base, 0);
      expect(Buffer.from(actual).equals(Buffer.from(expected)), `round ${round}`).toBe(true);
    }
  });

  it('handles 65,536 records (32-bit array header)', () => {
    const records = Array.from({ length: 65_536 }, (_, i) => ({ value: `v${i}` }));
    const actual = encodeBatchFast(records, undefined, 5);
    expect(Buffer.from(actual).equals(Buffer.from(encodeBatch(records, undefined, 5)))).toBe(true);
    expect(decodeBatch(actual)).toHaveLength(65_536);
  });

  it('round-trips through decodeBatch', () => {
    const b = new BatchBuilder(128);
    b.append({ key: 'k', value: 'hello', headers: { trace: 'x', bin: new Uint8Array([1, 2]) } }, 1000);
    b.append({ value: new Uint8Array([7]), timestamp: 990 }, 1000);
    const decoded = decodeBatch(b.seal());
    expect(decoded).toHaveLength(2);
    expect(Buffer.from(decoded[0]!.key!).toString()).toBe('k');
    expect(Buffer.from(decoded[0]!.value).toString()).toBe('hello');
    expect(decoded[0]!.headers!.trace).toBe('x');
    expect(decoded[1]!.timestamp).toBe(990);
    expect(b.recordCount).toBe(0);
  });

  it('refuses a record that would pass the limit, unless the batch is empty', () => {
    const b = new BatchBuilder();
    const value = 'x'.repeat(100);
    expect(b.append({ value }, 1, 150)).toBe(true); // first record always fits
    const size = b.batchBytes;
    expect(b.append({ value }, 1, 200)).toBe(false);
    expect(b.batchBytes).toBe(size);
    expect(b.recordCount).toBe(1);
    expect(decodeBatch(b.seal())).toHaveLength(1);
  });

  it('reports the exact batch size', () => {
    const b = new BatchBuilder(100);
    for (let i = 0; i < 20; i++) {
      b.append({ key: `k${i}`, value: 'v'.repeat(i * 17) }, 42);
      const size = b.batchBytes;
      const copy = new BatchBuilder();
      // re-encode the same prefix to compare sizes
      for (let j = 0; j <= i; j++) copy.append({ key: `k${j}`, value: 'v'.repeat(j * 17) }, 42);
      expect(copy.seal().byteLength).toBe(size);
    }
  });
});
