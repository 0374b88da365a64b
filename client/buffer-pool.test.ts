import { describe, expect, it } from 'vitest';
import { decodeBatch } from '../node/storage/batch.ts';
import { BatchBuilder } from './batch-builder.ts';
import { BufferPool } from './buffer-pool.ts';

describe('BufferPool', () => {
  it('hands back a released buffer of the same size', () => {
    const pool = new BufferPool(1 << 20);
    const a = pool.acquire(4096);
    pool.release(a);
    expect(pool.bytes).toBe(4096);
    expect(pool.acquire(4096)).toBe(a);
    expect(pool.bytes).toBe(0);
    expect(pool.acquire(4096)).not.toBe(a);
  });

  it('keeps at most bytesMax and refuses slices of shared memory', () => {
    const pool = new BufferPool(8192);
    pool.release(Buffer.allocUnsafeSlow(4096));
    pool.release(Buffer.allocUnsafeSlow(4096));
    pool.release(Buffer.allocUnsafeSlow(4096));
    expect(pool.bytes).toBe(8192);
    const shared = Buffer.allocUnsafeSlow(8192);
    const small = new BufferPool(1 << 20);
    small.release(shared.subarray(0, 4096));
    expect(small.bytes).toBe(0);
  });

  it('lets a builder reuse a sealed batch buffer once released, without corrupting later batches', () => {
    const pool = new BufferPool(1 << 20);
    const b = new BatchBuilder({ initialBytes: 1024, capBytes: 4096, pool });
    const seen = new Set<ArrayBufferLike>();
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10; i++) b.append({ value: `r${round}-${i}` }, 1);
      const batch = b.seal();
      const records = decodeBatch(batch).map((r) => Buffer.from(r.value).toString());
      expect(records).toEqual(Array.from({ length: 10 }, (_, i) => `r${round}-${i}`));
      seen.add(b.lastSealedBuffer!.buffer);
      pool.release(b.lastSealedBuffer!);
    }
    expect(seen.size).toBe(1); // one buffer, reused every round
  });
});
