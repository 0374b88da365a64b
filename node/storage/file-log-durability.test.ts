import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { AppendQueueFullError, LogClosedError } from './errors.ts';
import { FileLog } from './file-log.ts';
import { eventually, makeBatch, readHeaders, testConfig, withTempDir } from './test-helpers.ts';

const childScript = fileURLToPath(new URL('./crash-child.fixture.ts', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts the child and resolves with its stdout lines as they come. */
function startChild(dir: string, mode: string): { child: ChildProcess; lines: string[]; exited: Promise<void> } {
  const child = spawn(process.execPath, [childScript, dir, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  child.on('exit', (code) => {
    if (code !== null && code !== 0) lines.push(`exit ${code}: ${stderr}`);
  });
  return { child, lines, exited };
}

describe('FileLog durability', () => {
  it('group commit: many concurrent appends share far fewer fdatasyncs', async () => {
    await withTempDir(async (dir) => {
      const log = await FileLog.open(dir, testConfig({ flush: { kind: 'always' }, segmentBytes: 1 << 20 }));
      try {
        const n = 2000;
        const results = await Promise.all(Array.from({ length: n }, () => log.append(makeBatch(1, 50))));
        expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(log.stats.datasyncs).toBeGreaterThan(0);
        expect(log.stats.datasyncs).toBeLessThan(n / 10);
        expect(log.stats.writes).toBeLessThan(n / 10);
      } finally {
        await log.close();
      }
    });
  });

  it("flush 'never' resolves without fdatasync until flush() is called", async () => {
    await withTempDir(async (dir) => {
      const log = await FileLog.open(dir, testConfig({ flush: { kind: 'never' } }));
      try {
        for (let i = 0; i < 20; i++) await log.append(makeBatch(1));
        expect(log.stats.datasyncs).toBe(0);
        await log.flush();
        expect(log.stats.datasyncs).toBe(1);
        await log.flush(); // nothing dirty: no fdatasync needed
        expect(log.stats.datasyncs).toBe(1);
      } finally {
        await log.close();
      }
    });
  });

  it("flush 'interval' syncs in the background", async () => {
    await withTempDir(async (dir) => {
      const log = await FileLog.open(dir, testConfig({ flush: { kind: 'interval', intervalMs: 10 } }));
      try {
        await log.append(makeBatch(1));
        expect(log.stats.datasyncs).toBe(0);
        await eventually(() => log.stats.datasyncs >= 1);
      } finally {
        await log.close();
      }
    });
  });

  it('simulatePowerLoss: a crash loses exactly the unsynced bytes', async () => {
    await withTempDir(async (dir) => {
      const log = await FileLog.open(dir, testConfig({ flush: { kind: 'never' } }), { simulatePowerLoss: true });
      for (let i = 0; i < 5; i++) await log.append(makeBatch(2));
      await log.flush();
      for (let i = 0; i < 3; i++) await log.append(makeBatch(2));
      expect(log.endOffset).toBe(16);
      // Reads see written-but-unsynced data before the crash.
      expect(readHeaders(await log.read(0, 1 << 20))).toHaveLength(8);
      await log.simulateCrash();
      await expect(log.append(makeBatch(1))).rejects.toBeInstanceOf(LogClosedError);
      const reopened = await FileLog.open(dir, testConfig());
      try {
        expect(reopened.endOffset).toBe(10);
        expect(readHeaders(await reopened.read(0, 1 << 20)).map((h) => h.baseOffset)).toEqual([0, 2, 4, 6, 8]);
      } finally {
        await reopened.close();
      }
    });
  });

  it("simulatePowerLoss with flush 'always': every acknowledged append survives a crash", async () => {
    await withTempDir(async (dir) => {
      const config = testConfig({ flush: { kind: 'always' }, segmentBytes: 4096 });
      const log = await FileLog.open(dir, config, { simulatePowerLoss: true });
      const acked = await Promise.all(Array.from({ length: 300 }, () => log.append(makeBatch(1, 30))));
      expect(log.segmentCount).toBeGreaterThan(2);
      await log.simulateCrash();
      const reopened = await FileLog.open(dir, config);
      try {
        expect(reopened.endOffset).toBe(acked[acked.length - 1]!.lastOffset + 1);
        expect(reopened.recovery.truncated).toEqual([]);
      } finally {
        await reopened.close();
      }
    });
  });

  it('close() flushes, so a clean close loses nothing even under simulatePowerLoss', async () => {
    await withTempDir(async (dir) => {
      const log = await FileLog.open(dir, testConfig({ flush: { kind: 'never' } }), { simulatePowerLoss: true });
      for (let i = 0; i < 4; i++) await log.append(makeBatch(1));
      await log.close();
      const reopened = await FileLog.open(dir, testConfig());
      expect(reopened.endOffset).toBe(4);
      await reopened.close();
    });
  });

  it('kill -9 of a process with simulatePowerLoss loses the unsynced tail only', async () => {
    await withTempDir(async (dir) => {
      const { child, lines, exited } = startChild(dir, 'partial');
      await eventually(() => lines.length > 0, 20_000);
      expect(lines[0]).toBe('ready 16');
      child.kill('SIGKILL');
      await exited;
      const log = await FileLog.open(dir, testConfig());
      try {
        expect(log.endOffset).toBe(10);
      } finally {
        await log.close();
      }
    });
  });

  it("kill -9 under load with flush 'always': no acknowledged append is lost", async () => {
    await withTempDir(async (dir) => {
      const { child, lines, exited } = startChild(dir, 'acked');
      await eventually(() => lines.length >= 50, 20_000);
      child.kill('SIGKILL');
      await exited;
      const acked = lines.filter((l) => l.startsWith('acked ')).map((l) => Number(l.slice(6)));
      expect(acked.length).toBeGreaterThanOrEqual(50);
      const lastAcked = Math.max(...acked);
      const log = await FileLog.open(dir, testConfig({ segmentBytes: 8192 }));
      try {
        expect(log.endOffset).toBeGreaterThan(lastAcked);
        const r = await log.read(0, 1 << 26);
        const headers = readHeaders(r);
        expect(headers[0]!.baseOffset).toBe(0);
        expect(r.nextOffset).toBe(log.endOffset);
      } finally {
        await log.close();
      }
    });
  });

  it('rejects appends beyond the queued-bytes limit', async () => {
    await withTempDir(async (dir) => {
      const batch = makeBatch(1, 100);
      const log = await FileLog.open(dir, testConfig({ flush: { kind: 'always' } }), {
        queuedBytesMax: batch.byteLength * 3,
      });
      try {
        const ps = Array.from({ length: 3 }, () => log.append(batch.slice()));
        await expect(log.append(batch.slice())).rejects.toBeInstanceOf(AppendQueueFullError);
        await Promise.all(ps);
        expect((await log.append(batch.slice())).baseOffset).toBe(3);
      } finally {
        await log.close();
      }
    });
  });
});
