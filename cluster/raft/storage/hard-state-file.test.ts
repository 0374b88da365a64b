import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileCheckedAsync, writeFileAtomic, writeFileAtomicAsync } from './atomic-file.ts';
import { StorageCorruptError } from './errors.ts';
import { HardStateFile } from './hard-state-file.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'raftbus-hs-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('HardStateFile.openAsync', () => {
  it('a new file is created empty and holds no state; writes survive a reopen, sync or async', async () => {
    const file = join(dir, 'hs');
    const a = await HardStateFile.openAsync(file, { syncDir: false });
    expect(a.created).toBe(true);
    expect(a.state).toBeUndefined();
    expect(statSync(file).size).toBe(0); // nothing to fsync but the directory entry
    await a.file.write({ term: 3, vote: 2, commit: 7 });
    await a.file.write({ term: 4, vote: 1, commit: 9 });
    a.file.close();

    const b = await HardStateFile.openAsync(file);
    expect(b.created).toBe(false);
    expect(b.state).toEqual({ term: 4, vote: 1, commit: 9 });
    // The sequence continues: the next write goes to the other slot and wins.
    await b.file.write({ term: 5, vote: 0, commit: 9 });
    b.file.close();
    const c = HardStateFile.open(file, dir);
    expect(c.state).toEqual({ term: 5, vote: 0, commit: 9 });
    c.file.close();
  });

  it('a torn latest slot falls back to the other one', async () => {
    const file = join(dir, 'hs');
    const a = await HardStateFile.openAsync(file);
    await a.file.write({ term: 1, vote: 1, commit: 0 }); // seq 1: slot 1
    await a.file.write({ term: 2, vote: 3, commit: 0 }); // seq 2: slot 0
    a.file.close();
    const bytes = readFileSync(file);
    bytes[8 + 9] = (bytes[8 + 9] ?? 0) ^ 0xff; // inside slot 0's payload
    writeFileSync(file, bytes);
    const b = await HardStateFile.openAsync(file);
    expect(b.state).toEqual({ term: 1, vote: 1, commit: 0 });
    b.file.close();
  });
});

describe('atomic file, async', () => {
  it('round-trips with the sync writer, and detects damage', async () => {
    const file = join(dir, 'f');
    expect(await readFileCheckedAsync(file)).toBeUndefined();
    await writeFileAtomicAsync(file, new Uint8Array([1, 2, 3]), { syncDir: false });
    expect([...((await readFileCheckedAsync(file)) ?? [])]).toEqual([1, 2, 3]);
    writeFileAtomic(file, new Uint8Array([4, 5]));
    expect([...((await readFileCheckedAsync(file)) ?? [])]).toEqual([4, 5]);
    writeFileSync(file, Buffer.from([2, 0, 0, 0, 0, 0, 0, 0, 4, 5]));
    await expect(readFileCheckedAsync(file)).rejects.toBeInstanceOf(StorageCorruptError);
  });
});
