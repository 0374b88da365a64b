import { describe, expect, it } from 'vitest';
import { FileLog } from './file-log.ts';
import { makeBatch, readHeaders, testConfig, withTempDir } from './test-helpers.ts';

describe('FileLog durableWrites (O_DSYNC segment files)', () => {
  it('appends queued in one synchronous run go out as ONE durable write; flush() adds no fdatasync', async () => {
    await withTempDir(async (dir) => {
      const log = await FileLog.open(dir, testConfig({ flush: { kind: 'never' } }), { durableWrites: true });
      try {
        expect(log.durableWrites).toBe(true);
        const results = await Promise.all(Array.from({ length: 40 }, () => log.append(makeBatch(2, 30))));
        expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 40 }, (_, i) => 2 * i));
        expect(log.stats.writes).toBe(1);
        // The durable write counts as the one sync of the group.
        expect(log.stats.datasyncs).toBe(1);
        await log.flush();
        expect(log.stats.datasyncs).toBe(1);
      } finally {
        await log.close();
      }
    });
  });

  it('a crash right after the appends resolve loses none of them (power-loss simulation)', async () => {
    await withTempDir(async (dir) => {
      const log = await FileLog.open(dir, testConfig({ flush: { kind: 'never' } }), {
        durableWrites: true,
        simulatePowerLoss: true,
      });
      for (let i = 0; i < 5; i++) await Promise.all([log.append(makeBatch(1)), log.append(makeBatch(3))]);
      await log.simulateCrash();
      const reopened = await FileLog.open(dir, testConfig({ flush: { kind: 'never' } }));
      try {
        expect(reopened.endOffset).toBe(20);
        expect(readHeaders(await reopened.read(0, 1 << 20)).map((h) => h.baseOffset)).toEqual([
          0, 1, 4, 5, 8, 9, 12, 13, 16, 17,
        ]);
      } finally {
        await reopened.close();
      }
    });
  });

  it('without durableWrites the same crash loses the unsynced appends (the simulation is real)', async () => {
    await withTempDir(async (dir) => {
      const log = await FileLog.open(dir, testConfig({ flush: { kind: 'never' } }), { simulatePowerLoss: true });
      for (let i = 0; i < 5; i++) await log.append(makeBatch(1));
      await log.simulateCrash();
      const reopened = await FileLog.open(dir, testConfig({ flush: { kind: 'never' } }));
      try {
        expect(reopened.endOffset).toBe(0);
      } finally {
        await reopened.close();
      }
    });
  });
});
