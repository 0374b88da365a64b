/**
 * The PartitionLog contract, run against both implementations.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BatchField,
  BatchFormatError,
  CRC_START,
  decodeBatch,
  lastOffsetOf,
  readBatchHeader,
  splitBatches,
} from './batch.ts';
import { BatchTooLargeError, LogClosedError, NotBatchBoundaryError, OffsetOutOfRangeError } from './errors.ts';
import { FileLog } from './file-log.ts';
import type { LogConfig, PartitionLog } from './log.ts';
import { MemoryLog } from './memory-log.ts';
import { makeBatch, readHeaders, testConfig } from './test-helpers.ts';

interface Harness {
  open(config: LogConfig, nowMs?: () => number): Promise<PartitionLog & { segmentCount: number }>;
  cleanup(): Promise<void>;
}

function fileHarness(): Harness {
  const dirs: string[] = [];
  const logs: FileLog[] = [];
  return {
    async open(config, nowMs) {
      const dir = await mkdtemp(join(tmpdir(), 'raftbus-contract-'));
      dirs.push(dir);
      const log = await FileLog.open(dir, config, nowMs ? { nowMs } : {});
      logs.push(log);
      return log;
    },
    async cleanup() {
      await Promise.all(logs.map((l) => l.close()));
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

function memoryHarness(): Harness {
  return {
    async open(config, nowMs) {
      return new MemoryLog(config, nowMs ? { nowMs } : {});
    },
    async cleanup() {},
  };
}

describe.each([
  ['FileLog', fileHarness],
  ['MemoryLog', memoryHarness],
])('PartitionLog contract: %s', (_name, makeHarness) => {
  let h: Harness;
  afterEach(async () => {
    await h.cleanup();
  });
  const open = (config: LogConfig = testConfig(), nowMs?: () => number) => {
    h = makeHarness();
    return h.open(config, nowMs);
  };

  it('starts empty and reads nothing at offset 0', async () => {
    const log = await open();
    expect([log.startOffset, log.endOffset, log.sizeBytes]).toEqual([0, 0, 0]);
    const r = await log.read(0, 1024);
    expect(r).toEqual({ chunks: [], bytes: 0, nextOffset: 0 });
    expect(await log.offsetForTimestamp(0)).toBeNull();
  });

  it('assigns contiguous offsets, stamps the term and keeps the records intact', async () => {
    const log = await open();
    const results = await Promise.all([
      log.append(makeBatch(3), 5),
      log.append(makeBatch(1), 5),
      log.append(makeBatch(4), 6),
    ]);
    expect(results.map((r) => [r.baseOffset, r.lastOffset])).toEqual([
      [0, 2],
      [3, 3],
      [7 - 3, 7],
    ]);
    expect(log.endOffset).toBe(8);
    const r = await log.read(0, 1 << 20);
    const headers = readHeaders(r);
    expect(headers.map((x) => [x.baseOffset, x.recordCount, x.term])).toEqual([
      [0, 3, 5],
      [3, 1, 5],
      [4, 4, 6],
    ]);
    expect(r.nextOffset).toBe(8);
    const records = r.chunks.flatMap((c) => splitBatches(c)).flatMap((b) => decodeBatch(b));
    expect(records.map((x) => x.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(log.sizeBytes).toBe(r.bytes);
  });

  it('rejects bad batches without leaving anything behind', async () => {
    const log = await open(testConfig({ maxBatchBytes: 2000 }));
    await log.append(makeBatch(2));
    const corrupt = makeBatch(2);
    corrupt[corrupt.byteLength - 1]! ^= 0xff;
    await expect(log.append(corrupt)).rejects.toBeInstanceOf(BatchFormatError);
    await expect(log.append(makeBatch(50, 100))).rejects.toBeInstanceOf(BatchTooLargeError);
    await expect(log.append(new Uint8Array(10))).rejects.toBeInstanceOf(BatchFormatError);
    const liar = makeBatch(1);
    new DataView(liar.buffer).setUint32(BatchField.recordCount, 1_000_000); // record count the body cannot hold (CRC fixed below)
    const { crc32 } = await import('node:zlib');
    new DataView(liar.buffer).setUint32(BatchField.crc, crc32(liar.subarray(CRC_START)));
    await expect(log.append(liar)).rejects.toBeInstanceOf(BatchFormatError);
    expect(log.endOffset).toBe(2);
    const next = await log.append(makeBatch(1));
    expect(next.baseOffset).toBe(2);
    expect(readHeaders(await log.read(0, 1 << 20)).map((x) => x.baseOffset)).toEqual([0, 2]);
  });

  it('reads from the batch holding fromOffset, at least one batch, bounded by maxBytes', async () => {
    const log = await open();
    for (let i = 0; i < 20; i++) await log.append(makeBatch(5, 40));
    const one = (await log.read(0, 1 << 20)).chunks.flatMap((c) => splitBatches(c))[0]!.byteLength;
    // fromOffset inside a batch returns that whole batch.
    const mid = await log.read(12, 1);
    expect(readHeaders(mid).map((x) => x.baseOffset)).toEqual([10]);
    expect(mid.nextOffset).toBe(15);
    // maxBytes of three and a half batches gives three.
    const three = await log.read(0, one * 3 + Math.floor(one / 2));
    expect(readHeaders(three).map((x) => x.baseOffset)).toEqual([0, 5, 10]);
    expect(three.bytes).toBe(one * 3);
    expect(three.nextOffset).toBe(15);
  });

  it('never returns a batch reaching maxOffset', async () => {
    const log = await open();
    for (let i = 0; i < 4; i++) await log.append(makeBatch(5));
    const r = await log.read(0, 1 << 20, 12);
    expect(readHeaders(r).map((x) => lastOffsetOf(x))).toEqual([4, 9]);
    expect(r.nextOffset).toBe(10);
    const none = await log.read(10, 1 << 20, 12);
    expect(none.chunks).toEqual([]);
    expect(none.nextOffset).toBe(10);
    expect((await log.read(20, 1 << 20)).chunks).toEqual([]);
  });

  it('throws OffsetOutOfRangeError outside [startOffset, endOffset]', async () => {
    const log = await open();
    await log.append(makeBatch(3));
    await expect(log.read(4, 100)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await expect(log.read(-1, 100)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await expect(log.truncateFrom(9)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
  });

  it('finds the first batch whose maxTimestamp reaches a time', async () => {
    const log = await open(testConfig({ segmentBytes: 1024, indexIntervalBytes: 100 }));
    // Timestamps 1000, 2000, ... with one batch going back in time.
    const times = [1000, 2000, 3000, 2500, 4000, 5000, 6000, 7000, 8000, 9000];
    for (const t of times) await log.append(makeBatch(2, 100, t));
    expect(log.segmentCount).toBeGreaterThan(1);
    expect(await log.offsetForTimestamp(0)).toBe(0);
    expect(await log.offsetForTimestamp(1000)).toBe(0);
    expect(await log.offsetForTimestamp(1002)).toBe(2);
    expect(await log.offsetForTimestamp(2600)).toBe(4);
    expect(await log.offsetForTimestamp(4001)).toBe(8);
    expect(await log.offsetForTimestamp(9001)).toBe(18);
    expect(await log.offsetForTimestamp(9002)).toBeNull();
  });

  it('truncates at a batch boundary and continues appending there', async () => {
    const log = await open(testConfig({ segmentBytes: 600 }));
    for (let i = 0; i < 12; i++) await log.append(makeBatch(2, 60, 1000 + i));
    expect(log.segmentCount).toBeGreaterThan(2);
    await expect(log.truncateFrom(5)).rejects.toBeInstanceOf(NotBatchBoundaryError);
    expect(log.endOffset).toBe(24);
    await log.truncateFrom(10);
    expect(log.endOffset).toBe(10);
    expect(readHeaders(await log.read(0, 1 << 20)).map((x) => x.baseOffset)).toEqual([0, 2, 4, 6, 8]);
    expect(await log.offsetForTimestamp(1006)).toBeNull();
    const r = await log.append(makeBatch(3, 60, 5000));
    expect(r.baseOffset).toBe(10);
    expect(await log.offsetForTimestamp(1006)).toBe(10);
    await log.truncateFrom(0);
    expect([log.startOffset, log.endOffset, log.sizeBytes]).toEqual([0, 0, 0]);
    expect((await log.append(makeBatch(1))).baseOffset).toBe(0);
  });

  it('rolls segments by size and by age', async () => {
    let now = 1_000;
    const log = await open(testConfig({ segmentBytes: 1000, segmentMs: 60_000 }), () => now);
    const batch = makeBatch(1, 300);
    await log.append(batch.slice());
    await log.append(batch.slice());
    expect(log.segmentCount).toBe(1);
    await log.append(batch.slice()); // 3 x ~380 bytes > 1000
    expect(log.segmentCount).toBe(2);
    now += 59_999;
    await log.append(makeBatch(1, 10));
    expect(log.segmentCount).toBe(2);
    now += 60_000;
    await log.append(makeBatch(1, 10));
    expect(log.segmentCount).toBe(3);
    expect(readHeaders(await log.read(0, 1 << 20)).map((x) => x.baseOffset)).toEqual([0, 1, 2, 3, 4]);
  });

  it('applies retention by size and by age to closed segments only', async () => {
    const log = await open(testConfig({ segmentBytes: 500, retentionBytes: 1200, retentionMs: 10_000 }));
    for (let i = 0; i < 10; i++) await log.append(makeBatch(1, 300, 1000 * i));
    const before = log.segmentCount;
    expect(before).toBe(10);
    // By size: keep deleting the oldest while the log is larger than 1200 bytes.
    const bySize = await log.applyRetention(0);
    expect(bySize).toBeGreaterThan(0);
    expect(log.sizeBytes).toBeLessThanOrEqual(1200);
    expect(log.startOffset).toBe(bySize);
    await expect(log.read(0, 100)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    expect(readHeaders(await log.read(log.startOffset, 100)).map((x) => x.baseOffset)).toEqual([log.startOffset]);
    // By age: everything older than now - 10 s, but never the active segment.
    const byAge = await log.applyRetention(1_000_000);
    expect(byAge).toBe(before - bySize - 1);
    expect(log.segmentCount).toBe(1);
    expect(log.startOffset).toBe(9);
    expect(log.endOffset).toBe(10);
  });

  it('rejects every call after close', async () => {
    const log = await open();
    await log.append(makeBatch(1));
    await log.close();
    await expect(log.append(makeBatch(1))).rejects.toBeInstanceOf(LogClosedError);
    await expect(log.read(0, 10)).rejects.toBeInstanceOf(LogClosedError);
    await expect(log.offsetForTimestamp(0)).rejects.toBeInstanceOf(LogClosedError);
    await expect(log.truncateFrom(0)).rejects.toBeInstanceOf(LogClosedError);
    await expect(log.applyRetention()).rejects.toBeInstanceOf(LogClosedError);
    await expect(log.flush()).rejects.toBeInstanceOf(LogClosedError);
  });

  it('keeps its own copy of appended bytes', async () => {
    const log = await open();
    const batch = makeBatch(2);
    await log.append(batch);
    const got = (await log.read(0, 1 << 20)).chunks[0]!;
    expect(readBatchHeader(got).baseOffset).toBe(0);
    got.fill(0);
    expect(readHeaders(await log.read(0, 1 << 20))).toHaveLength(1);
  });
});
