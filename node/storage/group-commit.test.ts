import { describe, expect, it } from 'vitest';
import { LogFailedError } from './errors.ts';
import { GroupCommit } from './group-commit.ts';
import type { LogFile } from './log-file.ts';

/** A LogFile whose datasync calls wait until the test releases them. */
function fakeFile(): LogFile & { syncs: Array<{ resolve(): void; reject(e: Error): void }> } {
  const syncs: Array<{ resolve(): void; reject(e: Error): void }> = [];
  return {
    path: 'fake',
    size: 0,
    syncs,
    append: async () => {},
    read: async () => 0,
    datasync: () => new Promise<void>((resolve, reject) => syncs.push({ resolve, reject })),
    truncate: async () => {},
    close: async () => {},
    abandon: async () => {},
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('GroupCommit', () => {
  it('resolves a waiter only after an fdatasync that started after it was enqueued', async () => {
    const file = fakeFile();
    const gc = new GroupCommit(() => {});
    const done: string[] = [];
    gc.markDirty(file);
    gc.enqueue({ resolve: () => done.push('a'), reject: () => done.push('a!') });
    await tick();
    expect(file.syncs).toHaveLength(1); // round 1 runs for a
    // b and c are written while round 1 runs: they must wait for round 2.
    gc.markDirty(file);
    gc.enqueue({ resolve: () => done.push('b'), reject: () => done.push('b!') });
    gc.enqueue({ resolve: () => done.push('c'), reject: () => done.push('c!') });
    await tick();
    expect(file.syncs).toHaveLength(1);
    file.syncs[0]!.resolve();
    await tick();
    expect(done).toEqual(['a']);
    expect(file.syncs).toHaveLength(2); // one round for both b and c
    file.syncs[1]!.resolve();
    await tick();
    expect(done).toEqual(['a', 'b', 'c']);
    await gc.idle();
  });

  it('fails every waiter, now and later, after an fdatasync error', async () => {
    const file = fakeFile();
    const failures: unknown[] = [];
    const gc = new GroupCommit((err) => failures.push(err));
    gc.markDirty(file);
    const first = gc.sync();
    await tick();
    const second = gc.sync();
    file.syncs[0]!.reject(new Error('EIO'));
    await expect(first).rejects.toBeInstanceOf(LogFailedError);
    await expect(second).rejects.toBeInstanceOf(LogFailedError);
    await expect(gc.sync()).rejects.toBeInstanceOf(LogFailedError);
    expect(failures).toHaveLength(1);
  });

  it('holds rounds back while paused', async () => {
    const file = fakeFile();
    const gc = new GroupCommit(() => {});
    await gc.pause();
    gc.markDirty(file);
    let resolved = false;
    const p = gc.sync().then(() => {
      resolved = true;
    });
    await tick();
    expect(file.syncs).toHaveLength(0);
    gc.resume();
    await tick();
    expect(file.syncs).toHaveLength(1);
    file.syncs[0]!.resolve();
    await p;
    expect(resolved).toBe(true);
  });
});
