import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newIoStats } from './log-file.ts';
import { PowerLossLogFile } from './power-loss-file.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function chunk(bytes: number, fill: number): Uint8Array {
  return new Uint8Array(bytes).fill(fill);
}

describe('PowerLossLogFile', () => {
  it('a read racing a datasync returns every byte (pending chunks that reach the disk meanwhile included)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftbus-plf-'));
    dirs.push(dir);
    const f = await PowerLossLogFile.open(join(dir, 'seg'), true, newIoStats());
    const size = 64 * 1024;
    await f.append([chunk(size, 1)]);
    await f.datasync();
    let badReads = 0;
    let reads = 0;
    // Bounded: 30 rounds; in each, reads run back to back for as long as one datasync takes.
    for (let round = 0; round < 30; round++) {
      const fill = 2 + (round % 200);
      await f.append([chunk(size, fill)]);
      let done = false;
      const sync = f.datasync().finally(() => {
        done = true;
      });
      for (let i = 0; i < 10_000 && !done; i++) {
        const into = new Uint8Array(2 * size);
        expect(await f.read(into, (round + 1) * size - size)).toBe(2 * size);
        reads++;
        if (into[size] !== fill || into[2 * size - 1] !== fill) badReads++;
      }
      await sync;
    }
    await f.close();
    expect(reads).toBeGreaterThan(0);
    expect(badReads).toBe(0);
  });
});
