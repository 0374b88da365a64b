import { readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeBatch, splitBatches } from './batch.ts';
import { CorruptSegmentError } from './errors.ts';
import { FileLog } from './file-log.ts';
import { INDEX_EXT, LOG_EXT, segmentFileName } from './segment.ts';
import { makeBatch, readHeaders, testConfig, withTempDir } from './test-helpers.ts';

const config = testConfig({ segmentBytes: 2000, indexIntervalBytes: 150 });

/** Appends `n` batches of 2 records (~160 bytes each) and closes; returns every batch's byte length. */
async function fill(dir: string, n: number): Promise<number[]> {
  const log = await FileLog.open(dir, config);
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    const b = makeBatch(2, 40, 1000 + i, i);
    sizes.push(b.byteLength);
    await log.append(b);
  }
  await log.close();
  return sizes;
}

async function logFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(LOG_EXT)).sort();
}

async function allOffsets(log: FileLog): Promise<number[]> {
  const r = await log.read(log.startOffset, 1 << 24);
  return r.chunks.flatMap((c) => splitBatches(c)).flatMap((b) => decodeBatch(b).map((x) => x.offset));
}

describe('FileLog recovery', () => {
  it('reopens after a clean close with the same content and nothing repaired', async () => {
    await withTempDir(async (dir) => {
      await fill(dir, 40);
      const log = await FileLog.open(dir, config);
      try {
        expect(log.segmentCount).toBeGreaterThan(2);
        expect(log.recovery.truncated).toEqual([]);
        expect(log.recovery.rebuiltIndexes).toEqual([]);
        expect(log.recovery.removedSegments).toEqual([]);
        expect([log.startOffset, log.endOffset]).toEqual([0, 80]);
        expect(await allOffsets(log)).toEqual(Array.from({ length: 80 }, (_, i) => i));
        // Batch i holds timestamps 1000+i and 1001+i.
        expect(await log.offsetForTimestamp(1030)).toBe(58);
        // Every read position is found through the reloaded indexes.
        for (let o = 0; o < 80; o += 7) expect(readHeaders(await log.read(o, 1))[0]!.baseOffset).toBe(o - (o % 2));
        expect((await log.append(makeBatch(1))).baseOffset).toBe(80);
      } finally {
        await log.close();
      }
    });
  });

  it('cuts a torn tail (file cut mid-batch) back to the last whole batch and appends after it', async () => {
    await withTempDir(async (dir) => {
      const sizes = await fill(dir, 5);
      const path = join(dir, segmentFileName(0, LOG_EXT));
      const full = (await stat(path)).size;
      await truncate(path, full - Math.floor(sizes[4]! / 2));
      const log = await FileLog.open(dir, config);
      try {
        expect(log.recovery.truncated).toHaveLength(1);
        expect(log.recovery.truncated[0]).toMatchObject({
          position: full - sizes[4]!,
          reason: expect.stringMatching(/torn/),
        });
        expect(log.endOffset).toBe(8);
        expect(await allOffsets(log)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
        expect((await log.append(makeBatch(3))).baseOffset).toBe(8);
        expect(await allOffsets(log)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      } finally {
        await log.close();
      }
      expect((await stat(path)).size).toBe(full - sizes[4]! + makeBatch(3).byteLength);
    });
  });

  it('drops a batch with a flipped byte and everything after it, and never serves it', async () => {
    await withTempDir(async (dir) => {
      const sizes = await fill(dir, 6);
      const path = join(dir, segmentFileName(0, LOG_EXT));
      const bytes = await readFile(path);
      const third = sizes[0]! + sizes[1]!;
      bytes[third + 70]! ^= 0x04; // inside the records of batch 2 (offsets 4-5)
      await writeFile(path, bytes);
      const log = await FileLog.open(dir, config);
      try {
        expect(log.recovery.truncated).toEqual([
          expect.objectContaining({ position: third, bytesRemoved: bytes.byteLength - third, reason: 'CRC mismatch' }),
        ]);
        expect(log.endOffset).toBe(4);
        expect(await allOffsets(log)).toEqual([0, 1, 2, 3]);
        expect((await log.append(makeBatch(1))).baseOffset).toBe(4);
      } finally {
        await log.close();
      }
    });
  });

  it('drops a tail batch whose (uncovered) base offset field was damaged', async () => {
    await withTempDir(async (dir) => {
      const sizes = await fill(dir, 4);
      const path = join(dir, segmentFileName(0, LOG_EXT));
      const bytes = await readFile(path);
      bytes[sizes[0]! + 7]! ^= 0x10; // baseOffset of batch 1 is outside the CRC; continuity catches it
      await writeFile(path, bytes);
      const log = await FileLog.open(dir, config);
      try {
        expect(log.recovery.truncated[0]!.reason).toMatch(/base offset/);
        expect(log.endOffset).toBe(2);
      } finally {
        await log.close();
      }
    });
  });

  it('cuts zero-filled garbage after the last batch', async () => {
    await withTempDir(async (dir) => {
      await fill(dir, 3);
      const path = join(dir, segmentFileName(0, LOG_EXT));
      const size = (await stat(path)).size;
      await writeFile(path, new Uint8Array(4096), { flag: 'a' });
      const log = await FileLog.open(dir, config);
      try {
        expect(log.recovery.truncated[0]).toMatchObject({ position: size, bytesRemoved: 4096 });
        expect(log.endOffset).toBe(6);
      } finally {
        await log.close();
      }
    });
  });

  it('rebuilds a missing or short index of a closed segment', async () => {
    await withTempDir(async (dir) => {
      await fill(dir, 40);
      const files = await logFiles(dir);
      expect(files.length).toBeGreaterThan(2);
      const first = join(dir, segmentFileName(0, INDEX_EXT));
      const original = await readFile(first);
      expect(original.byteLength).toBeGreaterThan(16);
      await rm(first);
      const secondBase = Number(files[1]!.slice(0, 20));
      const second = join(dir, segmentFileName(secondBase, INDEX_EXT));
      await truncate(second, (await stat(second)).size - 8);
      const log = await FileLog.open(dir, config);
      try {
        expect(log.recovery.rebuiltIndexes.sort()).toEqual([first, second].sort());
        expect(await allOffsets(log)).toEqual(Array.from({ length: 80 }, (_, i) => i));
        for (let o = 0; o < 80; o += 3) expect(readHeaders(await log.read(o, 1))[0]!.baseOffset).toBe(o - (o % 2));
      } finally {
        await log.close();
      }
      // The rebuilt index is identical to the one written at roll time.
      expect(Buffer.compare(await readFile(first), original)).toBe(0);
    });
  });

  it('reports a corrupt batch in a closed segment on read instead of serving it', async () => {
    await withTempDir(async (dir) => {
      await fill(dir, 40);
      const path = join(dir, segmentFileName(0, LOG_EXT));
      const bytes = await readFile(path);
      bytes[100]! ^= 0xff;
      await writeFile(path, bytes);
      const log = await FileLog.open(dir, config);
      try {
        await expect(log.read(0, 1 << 20)).rejects.toBeInstanceOf(CorruptSegmentError);
        // Data in later segments stays readable.
        expect(readHeaders(await log.read(60, 1))[0]!.baseOffset).toBe(60);
      } finally {
        await log.close();
      }
    });
  });

  it('removes segments after a gap in offsets', async () => {
    await withTempDir(async (dir) => {
      await fill(dir, 40);
      const files = await logFiles(dir);
      const count = files.length;
      expect(count).toBeGreaterThan(3);
      // Lose the second segment: the third no longer continues the first.
      await rename(join(dir, files[1]!), join(dir, 'lost.bak'));
      const log = await FileLog.open(dir, config);
      try {
        expect(log.segmentCount).toBe(1);
        expect(log.recovery.removedSegments).toHaveLength(count - 2);
        expect(log.endOffset).toBe(Number(files[1]!.slice(0, 20)));
        expect(await logFiles(dir)).toEqual([files[0]]);
        expect((await log.append(makeBatch(1))).baseOffset).toBe(log.endOffset - 1);
      } finally {
        await log.close();
      }
    });
  });

  it('survives an empty tail segment file', async () => {
    await withTempDir(async (dir) => {
      await fill(dir, 40);
      const log1 = await FileLog.open(dir, config);
      const end = log1.endOffset;
      await log1.close();
      await writeFile(join(dir, segmentFileName(end, LOG_EXT)), new Uint8Array(0));
      const log = await FileLog.open(dir, config);
      try {
        expect(log.endOffset).toBe(end);
        expect((await log.append(makeBatch(1))).baseOffset).toBe(end);
        expect(log.recovery.truncated).toEqual([]);
      } finally {
        await log.close();
      }
    });
  });
});
