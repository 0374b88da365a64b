import { describe, expect, it } from 'vitest';
import { CompactedError, UnavailableError } from '../types.ts';
import { SnapshotOutOfDateError, StorageGapError } from './errors.ts';
import { MemoryStorage } from './memory-storage.ts';
import { ent } from './testing/helpers.ts';

const filled = () => {
  const s = new MemoryStorage({ voters: [1, 2, 3] });
  s.append([ent(1, 1, 'a'), ent(1, 2, 'b'), ent(2, 3, 'c'), ent(2, 4, 'd'), ent(3, 5, 'e')]);
  return s;
};

describe('MemoryStorage (etcd MemoryStorage semantics)', () => {
  it('reports first/last index and terms, including the snapshot term at firstIndex-1', () => {
    const s = filled();
    expect([s.firstIndex(), s.lastIndex()]).toEqual([1, 5]);
    expect(s.term(0)).toBe(0);
    expect(s.term(3)).toBe(2);
    expect(() => s.term(6)).toThrow(UnavailableError);
  });

  it('append overwrites a conflicting suffix', () => {
    const s = filled();
    s.append([ent(4, 3, 'x')]);
    expect(s.lastIndex()).toBe(3);
    expect(s.term(3)).toBe(4);
  });

  it('append refuses to leave a gap', () => {
    const s = filled();
    expect(() => s.append([ent(3, 8)])).toThrow(StorageGapError);
  });

  it('entries honours maxBytes but always returns at least one entry', () => {
    const s = filled();
    expect(s.entries(1, 6, 0).map((e) => e.index)).toEqual([1]);
    expect(s.entries(1, 6, 1 << 20).map((e) => e.index)).toEqual([1, 2, 3, 4, 5]);
    expect(s.entries(2, 4, 1 << 20).map((e) => e.index)).toEqual([2, 3]);
    expect(() => s.entries(2, 9, 100)).toThrow(UnavailableError);
  });

  it('compact drops the prefix; compacted indexes throw CompactedError', () => {
    const s = filled();
    s.compact(3);
    expect(s.firstIndex()).toBe(4);
    expect(s.term(3)).toBe(2); // still answerable
    expect(() => s.term(2)).toThrow(CompactedError);
    expect(() => s.entries(3, 5, 100)).toThrow(CompactedError);
    expect(() => s.compact(2)).toThrow(CompactedError);
    expect(() => s.compact(9)).toThrow(UnavailableError);
    // Appending entries that are already compacted is a no-op for that part.
    s.append([ent(2, 3), ent(2, 4), ent(5, 5)]);
    expect(s.term(5)).toBe(5);
  });

  it('createSnapshot records index, term and conf; applySnapshot replaces the log', () => {
    const s = filled();
    const snap = s.createSnapshot(4, { voters: [1, 2], learners: [3], votersOutgoing: [] }, new Uint8Array([9]));
    expect(snap.meta).toEqual({ index: 4, term: 2, conf: { voters: [1, 2], learners: [3], votersOutgoing: [] } });
    expect(() => s.createSnapshot(3, undefined, new Uint8Array())).toThrow(SnapshotOutOfDateError);
    expect(() => s.createSnapshot(9, undefined, new Uint8Array())).toThrow(UnavailableError);
    const other = new MemoryStorage({ voters: [1] });
    other.append([ent(1, 1)]);
    other.applySnapshot(snap);
    expect([other.firstIndex(), other.lastIndex(), other.term(4)]).toEqual([5, 4, 2]);
    expect(other.initialState().confState.voters).toEqual([1, 2]);
    expect(() => other.applySnapshot(snap)).toThrow(SnapshotOutOfDateError);
  });

  it('initialState returns copies of the hard state and conf', () => {
    const s = filled();
    s.setHardState({ term: 3, vote: 2, commit: 4 });
    const st = s.initialState();
    st.hardState.term = 99;
    st.confState.voters.push(42);
    expect(s.initialState()).toEqual({
      hardState: { term: 3, vote: 2, commit: 4 },
      confState: { voters: [1, 2, 3], learners: [], votersOutgoing: [] },
    });
  });
});
