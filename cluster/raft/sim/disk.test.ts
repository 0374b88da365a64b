import { describe, expect, it } from 'vitest';
import { type Entry, EntryType } from '../types.ts';
import { bootstrapImage, SimDisk } from './disk.ts';
import { SimLogStorage } from './sim-storage.ts';

const conf = { voters: [1, 2, 3], learners: [], votersOutgoing: [] };
const ent = (index: number, term: number, text = `v${index}`): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: new TextEncoder().encode(text),
});

describe('SimDisk', () => {
  it('loses unsynced writes on a crash and keeps synced ones', () => {
    const disk = new SimDisk(bootstrapImage(conf, new Uint8Array()), 100);
    disk.write({ kind: 'entries', entries: [ent(1, 1), ent(2, 1)] });
    disk.write({ kind: 'hardState', hardState: { term: 1, vote: 1, commit: 0 } });
    disk.sync(disk.pendingCount);
    disk.write({ kind: 'entries', entries: [ent(3, 1)] });
    disk.write({ kind: 'hardState', hardState: { term: 2, vote: 3, commit: 2 } });
    expect(disk.current.entries.length).toBe(3);
    expect(disk.durable.entries.length).toBe(2);
    const lost = disk.crash(0);
    expect(lost).toBe(2);
    expect(disk.current.entries.map((e) => e.index)).toEqual([1, 2]);
    expect(disk.current.hardState).toEqual({ term: 1, vote: 1, commit: 0 });
  });

  it('may keep a prefix of unsynced writes, never a later write without an earlier one', () => {
    const disk = new SimDisk(bootstrapImage(conf, new Uint8Array()), 100);
    disk.write({ kind: 'entries', entries: [ent(1, 1)] });
    disk.write({ kind: 'hardState', hardState: { term: 1, vote: 2, commit: 1 } });
    disk.crash(1);
    expect(disk.current.entries.length).toBe(1);
    expect(disk.current.hardState.vote).toBe(0);
  });

  it('syncs only the writes issued before the fsync began', () => {
    const disk = new SimDisk(bootstrapImage(conf, new Uint8Array()), 100);
    disk.write({ kind: 'entries', entries: [ent(1, 1)] });
    const covered = disk.pendingCount;
    disk.write({ kind: 'entries', entries: [ent(2, 1)] });
    disk.sync(covered);
    expect(disk.durable.entries.length).toBe(1);
    expect(disk.pendingCount).toBe(1);
  });

  it('truncates a conflicting suffix, compacts, installs snapshots, and serves them through storage', () => {
    const disk = new SimDisk(bootstrapImage(conf, new Uint8Array()), 100);
    const storage = new SimLogStorage(disk);
    disk.write({ kind: 'entries', entries: [ent(1, 1), ent(2, 1), ent(3, 1)] });
    disk.write({ kind: 'entries', entries: [ent(2, 2, 'x')] });
    expect(storage.lastIndex()).toBe(2);
    expect(storage.term(2)).toBe(2);
    expect(() => disk.write({ kind: 'entries', entries: [ent(5, 2)] })).toThrow(/gap/);
    disk.write({ kind: 'compact', snapshot: { meta: { index: 1, term: 1, conf }, data: new Uint8Array() } });
    expect(storage.firstIndex()).toBe(2);
    expect(storage.term(1)).toBe(1);
    expect(() => storage.term(0)).toThrow(expect.objectContaining({ code: 'RAFT_LOG_COMPACTED' }));
    expect(() => storage.entries(2, 4, 1000)).toThrow(expect.objectContaining({ code: 'RAFT_LOG_UNAVAILABLE' }));
    expect(storage.entries(2, 3, 0).length).toBe(1); // at least one entry even over the byte limit
    disk.write({ kind: 'installSnapshot', snapshot: { meta: { index: 10, term: 4, conf }, data: new Uint8Array() } });
    expect(storage.firstIndex()).toBe(11);
    expect(storage.lastIndex()).toBe(10);
    expect(storage.term(10)).toBe(4);
  });

  it('bounds the unsynced backlog', () => {
    const disk = new SimDisk(bootstrapImage(conf, new Uint8Array()), 1);
    disk.write({ kind: 'hardState', hardState: { term: 1, vote: 0, commit: 0 } });
    expect(() => disk.write({ kind: 'hardState', hardState: { term: 2, vote: 0, commit: 0 } })).toThrow(
      expect.objectContaining({ code: 'SIM_LIMIT_EXCEEDED' }),
    );
  });
});
