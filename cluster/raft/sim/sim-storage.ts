import {
  CompactedError,
  type ConfState,
  type Entry,
  type HardState,
  type RaftLogStorage,
  type Snapshot,
  UnavailableError,
} from '../types.ts';
import { cloneConf, imageLastIndex, type SimDisk } from './disk.ts';

/** Bytes an entry counts for against maxBytes: its payload plus a fixed header estimate. */
export function entrySizeBytes(e: Entry): number {
  return e.data.length + 16;
}

/**
 * The RaftLogStorage the core reads from, backed by the node's simulated disk
 * (its current image: durable plus unsynced writes, as a process reading its
 * own files sees them). Rebuilt over the durable image after a crash.
 */
export class SimLogStorage implements RaftLogStorage {
  private readonly disk: SimDisk;

  constructor(disk: SimDisk) {
    this.disk = disk;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    const img = this.disk.current;
    return { hardState: { ...img.hardState }, confState: cloneConf(img.snapshot.meta.conf) };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const img = this.disk.current;
    const base = img.snapshot.meta.index;
    if (lo <= base) throw new CompactedError(lo);
    if (hi > imageLastIndex(img) + 1) throw new UnavailableError(hi - 1);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = img.entries[i - base - 1]!;
      bytes += entrySizeBytes(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  term(i: number): number {
    const img = this.disk.current;
    const base = img.snapshot.meta.index;
    if (i === base) return img.snapshot.meta.term;
    if (i < base) throw new CompactedError(i);
    const e = img.entries[i - base - 1];
    if (e === undefined) throw new UnavailableError(i);
    return e.term;
  }

  firstIndex(): number {
    return this.disk.current.snapshot.meta.index + 1;
  }

  lastIndex(): number {
    return imageLastIndex(this.disk.current);
  }

  snapshot(): Snapshot {
    return this.disk.current.snapshot;
  }
}
