import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeBatch, splitBatches } from './batch.ts';
import { FileLog } from './file-log.ts';
import { makeBatch, readHeaders, testConfig, withTempDir } from './test-helpers.ts';

async function names(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

describe('FileLog segments', () => {
  it('names segments by 20-digit base offset, keeps them under segmentBytes and seals their indexes', async () => {
    await withTempDir(async (dir) => {
      const log = await FileLog.open(dir, testConfig({ segmentBytes: 1500, indexIntervalBytes: 200 }));
      try {
        for (let i = 0; i < 30; i++) await log.append(makeBatch(3, 30, 1000 + i));
        const files = await names(dir);
        const logs = files.filter((f) => f.endsWith('.log'));
        expect(logs.length).toBe(log.segmentCount);
        expect(logs.map((f) => Number(f.slice(0, 20)))).toEqual(log.segmentBaseOffsets);
        for (const f of logs) {
          expect(f).toMatch(/^\d{20}\.log$/);
          expect((await stat(join(dir, f))).size).toBeLessThanOrEqual(1500);
        }
        // Closed segments have their sparse indexes on disk; the active one keeps them in memory.
        const closed = logs.slice(0, -1).map((f) => f.slice(0, 20));
        for (const b of closed) expect(files).toEqual(expect.arrayContaining([`${b}.index`, `${b}.timeindex`]));
        expect(files).not.toContain(`${logs[logs.length - 1]!.slice(0, 20)}.index`);
      } finally {
        await log.close();
      }
    });
  });

  it('gives a batch larger than segmentBytes a segment of its own', async () => {
    await withTempDir(async (dir) => {
      const log = await FileLog.open(dir, testConfig({ segmentBytes: 500, maxBatchBytes: 4000 }));
      try {
        await log.append(makeBatch(1, 10));
        await log.append(makeBatch(10, 200));
        await log.append(makeBatch(1, 10));
        expect(log.segmentBaseOffsets).toEqual([0, 1, 11]);
        expect(readHeaders(await log.read(1, 1)).map((h) => h.recordCount)).toEqual([10]);
      } finally {
        await log.close();
      }
    });
  });

  it('deletes the files of retained-away segments but never the active one', async () => {
    await withTempDir(async (dir) => {
      const log = await FileLog.open(dir, testConfig({ segmentBytes: 500, retentionMs: 1000 }));
      try {
        for (let i = 0; i < 8; i++) await log.append(makeBatch(1, 300, 5000));
        expect(log.segmentCount).toBe(8);
        expect(await log.applyRetention(5000)).toBe(0);
        expect(await log.applyRetention(1_000_000)).toBe(7);
        expect((await names(dir)).filter((f) => f.endsWith('.log'))).toEqual(['00000000000000000007.log']);
        expect((await names(dir)).filter((f) => f.endsWith('index'))).toEqual([]);
        expect([log.startOffset, log.endOffset]).toEqual([7, 8]);
        expect((await log.append(makeBatch(1))).baseOffset).toBe(8);
      } finally {
        await log.close();
      }
      const reopened = await FileLog.open(dir, testConfig({ segmentBytes: 500 }));
      expect([reopened.startOffset, reopened.endOffset]).toEqual([7, 9]);
      await reopened.close();
    });
  });

  it('truncates across segments, deletes later files, and reopens to the same state', async () => {
    await withTempDir(async (dir) => {
      const config = testConfig({ segmentBytes: 600, indexIntervalBytes: 100 });
      const log = await FileLog.open(dir, config);
      for (let i = 0; i < 20; i++) await log.append(makeBatch(2, 60, 1000 + i));
      const bases = log.segmentBaseOffsets;
      expect(bases.length).toBeGreaterThan(4);
      // Truncate exactly at a segment base: that segment goes, the previous one becomes active again.
      const cut = bases[2]!;
      await log.truncateFrom(cut);
      expect(log.segmentBaseOffsets).toEqual(bases.slice(0, 2));
      expect(log.endOffset).toBe(cut);
      expect((await log.append(makeBatch(2, 60, 9000))).baseOffset).toBe(cut);
      await log.close();
      const files = await names(dir);
      expect(files.filter((f) => f.endsWith('.log')).map((f) => Number(f.slice(0, 20)))).toEqual(
        expect.arrayContaining(bases.slice(0, 2)),
      );
      for (const b of bases.slice(3)) expect(files).not.toContain(`${String(b).padStart(20, '0')}.log`);
      const reopened = await FileLog.open(dir, config);
      try {
        expect(reopened.endOffset).toBe(cut + 2);
        expect(reopened.recovery.truncated).toEqual([]);
        const r = await reopened.read(0, 1 << 20);
        expect(
          r.chunks
            .flatMap((c) => splitBatches(c))
            .flatMap((b) => decodeBatch(b))
            .map((x) => x.offset),
        ).toEqual(Array.from({ length: cut + 2 }, (_, i) => i));
        expect(await reopened.offsetForTimestamp(9000)).toBe(cut);
      } finally {
        await reopened.close();
      }
    });
  });

  it('runs truncation in order with queued appends', async () => {
    await withTempDir(async (dir) => {
      const log = await FileLog.open(dir, testConfig({ flush: { kind: 'always' } }));
      try {
        const before = [log.append(makeBatch(2)), log.append(makeBatch(2)), log.append(makeBatch(2))];
        const truncated = log.truncateFrom(2);
        const after = log.append(makeBatch(5));
        const r = await Promise.all(before);
        expect(r.map((x) => x.baseOffset)).toEqual([0, 2, 4]);
        await truncated;
        expect((await after).baseOffset).toBe(2);
        expect(readHeaders(await log.read(0, 1 << 20)).map((h) => [h.baseOffset, h.recordCount])).toEqual([
          [0, 2],
          [2, 5],
        ]);
      } finally {
        await log.close();
      }
    });
  });

  it('serves only whole, valid batches to reads running during appends', async () => {
    await withTempDir(async (dir) => {
      const log = await FileLog.open(dir, testConfig({ segmentBytes: 4096, flush: { kind: 'always' } }));
      try {
        const total = 400;
        let done = false;
        const writer = (async () => {
          const ps = [];
          for (let i = 0; i < total; i++) {
            ps.push(log.append(makeBatch(1 + (i % 3), 20 + (i % 50), 1000, i)));
            if (i % 40 === 0) await Promise.all(ps.splice(0));
          }
          await Promise.all(ps);
          done = true;
        })();
        let reads = 0;
        let maxSeen = 0;
        // Bounded: at most 2000 reads.
        while (!done && reads < 2000) {
          const r = await log.read(0, 1 << 20);
          const records = r.chunks.flatMap((c) => splitBatches(c)).flatMap((b) => decodeBatch(b));
          expect(records.map((x) => x.offset)).toEqual(Array.from({ length: records.length }, (_, i) => i));
          expect(r.nextOffset).toBe(records.length);
          maxSeen = Math.max(maxSeen, records.length);
          reads++;
        }
        await writer;
        expect(reads).toBeGreaterThan(1);
        const final = await log.read(0, 1 << 22);
        expect(final.nextOffset).toBe(log.endOffset);
        expect(maxSeen).toBeLessThanOrEqual(log.endOffset);
      } finally {
        await log.close();
      }
    });
  });
});
