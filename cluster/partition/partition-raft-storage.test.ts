import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeBatch, readBatchHeader } from '../../node/storage/batch.ts';
import { defaultLogConfig } from '../../node/storage/config.ts';
import { FileLog } from '../../node/storage/file-log.ts';
import { encodeConfChange } from '../raft/core/config.ts';
import { CompactedError, type Entry, EntryType } from '../raft/types.ts';
import { PartitionRaftStorage } from './partition-raft-storage.ts';

function dataEntry(index: number, term: number, tag: string, records = 2): Entry {
  const batch = encodeBatch(
    Array.from({ length: records }, (_, i) => ({ value: `${tag}-${i}`.padEnd(100, '.') })),
    undefined,
    1_700_000_000_000,
  );
  return { index, term, type: EntryType.Normal, data: batch };
}

const noop = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array(0) });

describe('PartitionRaftStorage', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftbus-prs-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stamps offsets, term and index; one sync is one fdatasync round; reopening rebuilds the same log', async () => {
    const s = await PartitionRaftStorage.open({ dir, bootstrapConf: { voters: [1, 2, 3] } });
    const cc = encodeConfChange({ changes: [{ type: 'addLearner', nodeId: 4 }] });
    const entries = [noop(1, 1), dataEntry(2, 1, 'a'), { index: 3, term: 1, type: EntryType.ConfChange, data: cc }];
    for (let i = 4; i <= 40; i++) entries.push(dataEntry(i, 1, `e${i}`, 3));
    s.append(entries);
    s.setHardState({ term: 1, vote: 1, commit: 40 });
    const syncsBefore = s.log.stats.datasyncs;
    await s.sync();
    // One round: the segment (the hard state file is its own fd, outside the log's stats).
    expect(s.log.stats.datasyncs - syncsBefore).toBe(1);
    expect(readBatchHeader(entries[1]!.data)).toMatchObject({ baseOffset: 1, term: 1, raftIndex: 2 });
    expect(s.nextOffsetAt(3)).toBe(4);
    expect(s.endOffset).toBe(4 + 37 * 3);
    const before = s.entries(1, 41, Number.MAX_SAFE_INTEGER);
    await s.closeAndWait();

    const r = await PartitionRaftStorage.open({ dir });
    expect(r.firstIndex()).toBe(1);
    expect(r.lastIndex()).toBe(40);
    expect(r.initialState().hardState).toEqual({ term: 1, vote: 1, commit: 40 });
    expect(r.initialState().confState.voters).toEqual([1, 2, 3]);
    const after = r.entries(1, 41, Number.MAX_SAFE_INTEGER);
    expect(after.map((e) => [e.index, e.term, e.type])).toEqual(before.map((e) => [e.index, e.term, e.type]));
    for (let k = 0; k < after.length; k++) {
      expect(Buffer.from(after[k]!.data).equals(Buffer.from(before[k]!.data))).toBe(true);
    }
    await r.closeAndWait();
  });

  it('an entry at an existing index replaces the suffix in memory and on disk', async () => {
    const s = await PartitionRaftStorage.open({ dir, bootstrapConf: { voters: [1] } });
    s.append([noop(1, 1), dataEntry(2, 1, 'keep'), dataEntry(3, 1, 'lose'), dataEntry(4, 1, 'lose')]);
    await s.sync();
    s.append([dataEntry(3, 2, 'new', 5)]);
    await s.sync();
    expect(s.lastIndex()).toBe(3);
    expect(s.term(3)).toBe(2);
    expect(s.endOffset).toBe(3 + 5);
    expect(s.log.endOffset).toBe(8);
    await s.closeAndWait();
    const r = await PartitionRaftStorage.open({ dir });
    expect(r.lastIndex()).toBe(3);
    expect(r.term(3)).toBe(2);
    await r.closeAndWait();
  });

  it('a batch arriving stamped for another place is refused (Log Matching would be broken)', async () => {
    const s = await PartitionRaftStorage.open({ dir, bootstrapConf: { voters: [1] } });
    s.append([noop(1, 1)]);
    const e = dataEntry(2, 1, 'x');
    const other = await PartitionRaftStorage.open({ dir: path.join(dir, 'other'), bootstrapConf: { voters: [1] } });
    other.append([noop(1, 1), noop(2, 1), { ...e, index: 3 }]); // stamps e's bytes for index 3
    expect(() => s.append([e])).toThrow(/arrived stamped/);
    await s.closeAndWait();
    await other.closeAndWait();
  });

  it('the window keeps a byte bound over applied entries; its base is the snapshot', async () => {
    const s = await PartitionRaftStorage.open({ dir, bootstrapConf: { voters: [1] }, windowBytesMax: 4096 });
    const entries = [noop(1, 1)];
    for (let i = 2; i <= 100; i++) entries.push(dataEntry(i, 1, `w${i}`, 2));
    s.append(entries);
    s.setHardState({ term: 1, vote: 1, commit: 100 });
    await s.sync();
    // Nothing applied yet: nothing may leave.
    s.noteApplied(0);
    expect(s.firstIndex()).toBe(1);
    s.noteApplied(100);
    expect(s.firstIndex()).toBeGreaterThan(50);
    expect(() => s.entries(1, 2, 1 << 20)).toThrow(CompactedError);
    const snap = s.snapshot();
    expect(snap.meta.index).toBe(s.firstIndex() - 1);
    expect(snap.meta.term).toBe(1);
    await s.closeAndWait();
    // Reopened: starts from the recorded base, not from offset 0.
    const r = await PartitionRaftStorage.open({ dir, windowBytesMax: 4096 });
    expect(r.lastIndex()).toBe(100);
    expect(r.firstIndex()).toBeGreaterThan(1);
    await r.closeAndWait();
  });
});

describe('PartitionRaftStorage flush policy under a simulated power cut', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftbus-prs-flush-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function syncedThenCut(flush: 'always' | 'never'): Promise<number> {
    const s = await PartitionRaftStorage.open({
      dir,
      bootstrapConf: { voters: [1] },
      flush: { kind: flush },
      fileLogOptions: { simulatePowerLoss: true },
    });
    const entries = [noop(1, 1)];
    for (let i = 2; i <= 20; i++) entries.push(dataEntry(i, 1, `e${i}`));
    s.append(entries);
    s.setHardState({ term: 1, vote: 1, commit: 20 });
    const syncsBefore = s.log.stats.datasyncs;
    // sync() resolving is what lets Raft acknowledge entries 1..20.
    await s.sync();
    expect(s.log.stats.datasyncs - syncsBefore).toBe(flush === 'always' ? 1 : 0);
    await s.simulateCrash();
    const r = await PartitionRaftStorage.open({ dir });
    const last = r.lastIndex();
    // The hard state is durable either way; recovery clamps commit to what the log still holds.
    expect(r.initialState().hardState.commit).toBe(Math.min(20, last));
    await r.closeAndWait();
    return last;
  }

  it("'always' (the default): everything sync() acknowledged survives the cut", async () => {
    expect(await syncedThenCut('always')).toBe(20);
  });

  it("'never' acknowledges before fsync: the cut loses what sync() acknowledged", async () => {
    expect(await syncedThenCut('never')).toBe(0);
  });
});

describe('PartitionRaftStorage over an adopted FileLog', () => {
  it('uses the given log (the broker opens partition logs itself)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftbus-prs-adopt-'));
    try {
      const log = await FileLog.open(dir, { ...defaultLogConfig(), flush: { kind: 'never' } });
      const s = await PartitionRaftStorage.open({ dir, log, bootstrapConf: { voters: [1] } });
      expect(s.log).toBe(log);
      s.append([noop(1, 1), dataEntry(2, 1, 'a')]);
      await s.sync();
      expect(log.endOffset).toBe(3);
      await s.closeAndWait();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
