import { describe, expect, it } from 'vitest';
import { readBatchHeader, stampBatch } from './batch.ts';
import { StampedOffsetMismatchError } from './errors.ts';
import { FileLog } from './file-log.ts';
import { makeBatch, readHeaders, testConfig, withTempDir } from './test-helpers.ts';

describe('FileLog.appendStamped (replicated logs keep the leader stamps)', () => {
  it('keeps baseOffset, term and raftIndex as stamped, and refuses a batch stamped for another offset', async () => {
    await withTempDir(async (dir) => {
      const log = await FileLog.open(dir, testConfig());
      const a = makeBatch(3);
      stampBatch(a, 0, 4, 11);
      await expect(log.appendStamped(a)).resolves.toMatchObject({ baseOffset: 0, lastOffset: 2 });
      const wrong = makeBatch(1);
      stampBatch(wrong, 7, 4, 12);
      await expect(log.appendStamped(wrong)).rejects.toBeInstanceOf(StampedOffsetMismatchError);
      const b = makeBatch(2);
      stampBatch(b, 3, 5, 12);
      await log.appendStamped(b);
      // The refused batch left nothing behind, and a plain append still stamps as before.
      const plain = await log.append(makeBatch(1), 6);
      expect(plain.baseOffset).toBe(5);
      const headers = readHeaders(await log.read(0, 1 << 20));
      expect(headers.map((h) => [h.baseOffset, h.term, h.raftIndex])).toEqual([
        [0, 4, 11],
        [3, 5, 12],
        [5, 6, 0],
      ]);
      await log.close();
      const reopened = await FileLog.open(dir, testConfig());
      const again = await reopened.read(0, 1 << 20);
      expect(readBatchHeader(again.chunks[0]!).raftIndex).toBe(11);
      expect(reopened.endOffset).toBe(6);
      await reopened.close();
    });
  });
});
