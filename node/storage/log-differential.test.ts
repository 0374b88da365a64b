/**
 * Differential test: one seeded random sequence of appends, reads, timestamp
 * lookups, truncations, retention and (for FileLog) reopen, applied to a
 * FileLog and a MemoryLog. Both must answer every call the same way.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../util/prng.ts';
import { FileLog } from './file-log.ts';
import type { LogConfig, PartitionLog } from './log.ts';
import { MemoryLog } from './memory-log.ts';
import { makeBatch, readHeaders, testConfig, withTempDir } from './test-helpers.ts';

const prng = mulberry32;

async function outcome<T>(p: Promise<T>): Promise<{ ok: T } | { err: string }> {
  try {
    return { ok: await p };
  } catch (err) {
    return { err: (err as Error).name };
  }
}

const SEEDS = [1, 2, 3, 4, 5, 6];
const OPS = 250;

describe('FileLog and MemoryLog agree', () => {
  it.each(SEEDS)('seed %i', async (seed) => {
    await withTempDir(async (dir) => {
      const rnd = prng(seed);
      const int = (n: number) => Math.floor(rnd() * n);
      const config: LogConfig = testConfig({
        segmentBytes: 400 + int(1500),
        indexIntervalBytes: int(300),
        retentionBytes: 3000 + int(3000),
        retentionMs: -1,
      });
      let file = await FileLog.open(dir, config);
      const mem = new MemoryLog(config);
      const both = async <T>(f: (log: PartitionLog) => Promise<T>) => {
        const [a, b] = [await outcome(f(file)), await outcome(f(mem))];
        expect(a).toEqual(b);
        return a;
      };
      let ts = 1000;
      try {
        for (let i = 0; i < OPS; i++) {
          const op = rnd();
          if (op < 0.5) {
            ts += int(50) - 10;
            const b = makeBatch(1 + int(4), int(120), ts, i);
            const term = int(3);
            await both((log) => log.append(b.slice(), term).then((r) => [r.baseOffset, r.lastOffset]));
          } else if (op < 0.75) {
            const from = file.startOffset + int(file.endOffset - file.startOffset + 2) - 1;
            const maxBytes = int(800);
            const maxOffset = rnd() < 0.3 ? from + int(10) : undefined;
            await both((log) =>
              log.read(from, maxBytes, maxOffset).then((r) => ({
                batches: readHeaders(r).map((h) => [h.baseOffset, h.recordCount, h.term, h.crc]),
                bytes: r.bytes,
                next: r.nextOffset,
              })),
            );
          } else if (op < 0.82) {
            const t = ts - int(300);
            await both((log) => log.offsetForTimestamp(t));
          } else if (op < 0.88) {
            const to = file.startOffset + int(file.endOffset - file.startOffset + 1);
            await both((log) => log.truncateFrom(to));
          } else if (op < 0.93) {
            await both((log) => log.applyRetention(0));
          } else {
            await file.close();
            file = await FileLog.open(dir, config);
            expect(file.recovery.truncated).toEqual([]);
          }
          expect([file.startOffset, file.endOffset, file.sizeBytes]).toEqual([
            mem.startOffset,
            mem.endOffset,
            mem.sizeBytes,
          ]);
        }
      } finally {
        await file.close();
      }
    });
  });
});
