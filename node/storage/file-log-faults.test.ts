import { describe, expect, it } from 'vitest';
import { LogFailedError, StorageError } from './errors.ts';
import { FileLog } from './file-log.ts';
import type { LogFile } from './log-file.ts';
import { makeBatch, readHeaders, testConfig, withTempDir } from './test-helpers.ts';

interface Faults {
  /** 'partial' writes half of the bytes before failing. */
  nextAppend: 'ok' | 'fail' | 'partial';
  nextDatasync: 'ok' | 'fail';
}

function faulty(faults: Faults): (file: LogFile) => LogFile {
  return (inner) => ({
    path: inner.path,
    get size() {
      return inner.size;
    },
    async append(chunks) {
      const mode = faults.nextAppend;
      faults.nextAppend = 'ok';
      if (mode === 'fail') throw new Error('EIO (injected)');
      if (mode === 'partial') {
        const first = chunks[0]!;
        await inner.append([first.subarray(0, Math.floor(first.byteLength / 2))]);
        throw new Error('ENOSPC (injected)');
      }
      await inner.append(chunks);
    },
    read: (into, position) => inner.read(into, position),
    async datasync() {
      const mode = faults.nextDatasync;
      faults.nextDatasync = 'ok';
      if (mode === 'fail') throw new Error('EIO on fdatasync (injected)');
      await inner.datasync();
    },
    truncate: (length) => inner.truncate(length),
    close: () => inner.close(),
    abandon: () => inner.abandon(),
  });
}

describe('FileLog under I/O faults', () => {
  it('a failed or partial write rejects only its appends and leaves nothing behind', async () => {
    await withTempDir(async (dir) => {
      const faults: Faults = { nextAppend: 'ok', nextDatasync: 'ok' };
      const log = await FileLog.open(dir, testConfig(), { wrapFile: faulty(faults) });
      try {
        await log.append(makeBatch(2));
        faults.nextAppend = 'partial';
        await expect(log.append(makeBatch(3))).rejects.toBeInstanceOf(StorageError);
        expect(log.endOffset).toBe(2);
        faults.nextAppend = 'fail';
        await expect(log.append(makeBatch(3))).rejects.toThrow(/EIO/);
        const next = await log.append(makeBatch(4));
        expect(next.baseOffset).toBe(2);
        expect(readHeaders(await log.read(0, 1 << 20)).map((h) => [h.baseOffset, h.recordCount])).toEqual([
          [0, 2],
          [2, 4],
        ]);
      } finally {
        await log.close();
      }
      const reopened = await FileLog.open(dir, testConfig());
      expect(reopened.recovery.truncated).toEqual([]);
      expect(reopened.endOffset).toBe(6);
      await reopened.close();
    });
  });

  it('a failed fdatasync fails the waiting appends and every later call until reopened', async () => {
    await withTempDir(async (dir) => {
      const faults: Faults = { nextAppend: 'ok', nextDatasync: 'ok' };
      const config = testConfig({ flush: { kind: 'always' } });
      const log = await FileLog.open(dir, config, { wrapFile: faulty(faults) });
      await log.append(makeBatch(1));
      faults.nextDatasync = 'fail';
      const results = await Promise.allSettled([log.append(makeBatch(1)), log.append(makeBatch(1))]);
      for (const r of results) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(LogFailedError);
      }
      await expect(log.append(makeBatch(1))).rejects.toBeInstanceOf(LogFailedError);
      await expect(log.read(0, 100)).rejects.toBeInstanceOf(LogFailedError);
      await log.close();
      const reopened = await FileLog.open(dir, config);
      try {
        // The acknowledged append is there; the failed ones may or may not be (their fate is unknown).
        expect(reopened.endOffset).toBeGreaterThanOrEqual(1);
        expect((await reopened.append(makeBatch(1))).baseOffset).toBe(reopened.endOffset - 1);
      } finally {
        await reopened.close();
      }
    });
  });
});
