import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CompactedError, type Entry, EntryType, UnavailableError } from '../types.ts';
import { CompactBeyondSnapshotError } from './errors.ts';
import { FileLogStorage, type FileLogStorageOptions } from './file-storage.ts';

function ent(index: number, term: number, text = `v${index}t${term}`): Entry {
  return { index, term, type: EntryType.Normal, data: new TextEncoder().encode(text) };
}

function texts(es: Entry[]): string[] {
  return es.map((e) => new TextDecoder().decode(e.data));
}

function range(lo: number, hi: number, term: number): Entry[] {
  return Array.from({ length: hi - lo + 1 }, (_, k) => ent(lo + k, term));
}

describe('FileLogStorage', () => {
  let dir: string;
  const open: FileLogStorage[] = [];
  const openStorage = (o: Partial<FileLogStorageOptions> = {}) => {
    const s = FileLogStorage.open({ dir, bootstrapConf: { voters: [1, 2, 3] }, ...o });
    open.push(s);
    return s;
  };
  const reopen = (s: FileLogStorage, o: Partial<FileLogStorageOptions> = {}) => {
    s.close();
    return openStorage(o);
  };
  const lastSegment = () => {
    const segs = fs
      .readdirSync(dir)
      .filter((n) => n.startsWith('seg-'))
      .sort();
    return path.join(dir, segs[segs.length - 1]!);
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-fs-'));
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips entries, hard state and the bootstrap configuration across reopen', async () => {
    let s = openStorage();
    s.append(range(1, 50, 1));
    s.setHardState({ term: 2, vote: 3, commit: 40 });
    s.append(range(51, 60, 2));
    await s.sync();
    s = reopen(s);
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(60);
    expect(s.term(0)).toBe(0);
    expect(s.term(55)).toBe(2);
    expect(texts(s.entries(49, 52, Number.MAX_SAFE_INTEGER))).toEqual(['v49t1', 'v50t1', 'v51t2']);
    const st = s.initialState();
    expect(st.hardState).toEqual({ term: 2, vote: 3, commit: 40 });
    expect(st.confState.voters).toEqual([1, 2, 3]);
    expect(s.recovery.truncatedBytes).toBe(0);
  });

  it('group commit: one fdatasync covers many appends, and concurrent syncs chain', async () => {
    const s = openStorage();
    for (let i = 1; i <= 100; i++) s.append([ent(i, 1)]);
    // Both syncs start after append 101, so one fdatasync covers all 101 appends.
    const a = s.sync();
    s.append([ent(101, 1)]);
    const b = s.sync();
    await Promise.all([a, b]);
    expect(s.syncCount).toBe(1);
    await s.sync();
    expect(s.syncCount).toBe(1);
    s.append([ent(102, 1)]);
    await s.sync();
    expect(s.syncCount).toBe(2);
  });

  it('truncates a torn tail on recovery and keeps every whole record', async () => {
    let s = openStorage();
    s.append(range(1, 20, 1));
    await s.sync();
    s.close();
    const file = lastSegment();
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 5);
    s = openStorage();
    expect(s.lastIndex()).toBe(19);
    expect(s.recovery.truncatedBytes).toBeGreaterThan(0);
    expect(s.recovery.truncatedReason).toMatch(/short/);
    s.append([ent(20, 1, 'again')]);
    await s.sync();
    s = reopen(s);
    expect(s.lastIndex()).toBe(20);
    expect(texts(s.entries(20, 21, 1000))).toEqual(['again']);
  });

  it('detects a flipped byte by CRC and cuts the log at that record', async () => {
    let s = openStorage();
    s.append(Array.from({ length: 10 }, (_, k) => ent(k + 1, 1, 'same-size')));
    await s.sync();
    s.close();
    const file = lastSegment();
    const buf = fs.readFileSync(file);
    // Records are equal-sized here: flip a payload byte of the 6th record.
    const recordBytes = buf.length / 10;
    const flipAt = 5 * recordBytes + 20;
    buf[flipAt] = (buf[flipAt] ?? 0) ^ 0x40;
    fs.writeFileSync(file, buf);
    s = openStorage();
    expect(s.lastIndex()).toBe(5);
    expect(s.recovery.truncatedReason).toMatch(/crc/);
    expect(fs.statSync(file).size).toBe(5 * recordBytes);
  });

  it('suffix overwrite replaces the tail, in memory and after recovery', async () => {
    let s = openStorage();
    s.append(range(1, 10, 1));
    s.append(range(6, 8, 2));
    expect(s.lastIndex()).toBe(8);
    expect(s.term(6)).toBe(2);
    expect(() => s.term(9)).toThrow(UnavailableError);
    s.append([ent(9, 2)]);
    await s.sync();
    s = reopen(s);
    expect(s.lastIndex()).toBe(9);
    expect(texts(s.entries(4, 10, 1e9))).toEqual(['v4t1', 'v5t1', 'v6t2', 'v7t2', 'v8t2', 'v9t2']);
  });

  it('compacts: drops whole segments, keeps term(first-1), reads old entries from disk', async () => {
    let s = openStorage({ segmentBytesMax: 300, cacheBytesMax: 40 });
    for (const e of range(1, 40, 1)) s.append([e]);
    await s.sync();
    const segmentsBefore = fs.readdirSync(dir).filter((n) => n.startsWith('seg-')).length;
    expect(segmentsBefore).toBeGreaterThan(3);
    // Old entries are evicted from the cache and come back from disk, CRC-checked.
    expect(texts(s.entries(2, 4, 1e9))).toEqual(['v2t1', 'v3t1']);
    expect(() => s.compact(30)).toThrow(CompactBeyondSnapshotError);
    s.createSnapshot(30, undefined, new TextEncoder().encode('image@30'));
    s.compact(30);
    expect(s.firstIndex()).toBe(31);
    expect(s.term(30)).toBe(1);
    expect(() => s.term(29)).toThrow(CompactedError);
    expect(() => s.entries(30, 32, 1e9)).toThrow(CompactedError);
    const segmentsAfter = fs.readdirSync(dir).filter((n) => n.startsWith('seg-')).length;
    expect(segmentsAfter).toBeLessThan(segmentsBefore);
    s = reopen(s, { segmentBytesMax: 300, cacheBytesMax: 40 });
    expect(s.firstIndex()).toBe(31);
    expect(s.lastIndex()).toBe(40);
    expect(new TextDecoder().decode(s.snapshot().data)).toBe('image@30');
    expect(s.initialState().hardState.commit).toBe(30);
    expect(texts(s.entries(31, 33, 1e9))).toEqual(['v31t1', 'v32t1']);
  });

  it('entries() honours maxBytes but returns at least one entry', () => {
    const s = openStorage();
    s.append(range(1, 10, 1));
    expect(s.entries(1, 11, 0)).toHaveLength(1);
    expect(s.entries(1, 11, 2 * (16 + 5))).toHaveLength(2);
  });

  it('applySnapshot replaces the whole log durably', async () => {
    let s = openStorage();
    s.append(range(1, 10, 1));
    await s.sync();
    s.applySnapshot({
      meta: { index: 100, term: 5, conf: { voters: [1, 2, 4], learners: [], votersOutgoing: [] } },
      data: new TextEncoder().encode('img'),
    });
    s.append([ent(101, 5)]);
    await s.sync();
    s = reopen(s);
    expect(s.firstIndex()).toBe(101);
    expect(s.lastIndex()).toBe(101);
    expect(s.term(100)).toBe(5);
    expect(s.initialState().confState.voters).toEqual([1, 2, 4]);
    expect(s.initialState().hardState.commit).toBe(100);
  });

  it('hard state survives a torn write of its newest slot (the older slot wins)', async () => {
    let s = openStorage();
    s.setHardState({ term: 1, vote: 1, commit: 0 });
    await s.sync();
    s.setHardState({ term: 2, vote: 3, commit: 0 });
    await s.sync();
    s.close();
    const file = path.join(dir, 'hardstate');
    const buf = fs.readFileSync(file);
    // seq 2 lives in slot 0: tear it.
    buf[12] = (buf[12] ?? 0) ^ 0xff;
    fs.writeFileSync(file, buf);
    s = openStorage();
    expect(s.initialState().hardState).toMatchObject({ term: 1, vote: 1 });
  });
});
