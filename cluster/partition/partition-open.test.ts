/**
 * Opening many partition groups at once (PartitionSync opens a topic's replicas concurrently): the
 * bootstrap files are written off the event loop, and a new group's state round-trips a reopen.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PartitionRaftStorage } from './partition-raft-storage.ts';
import { HARD_STATE_FILE, SNAPSHOT_FILE } from './partition-snapshot.ts';

describe('PartitionRaftStorage.open, many groups at once', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'raftbus-open-'));
  });
  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('creates each group directory with its snapshot and an empty hard-state file; a reopen finds the bootstrap', async () => {
    const groups = 48;
    const dirOf = (g: number) => path.join(root, 'partitions', String(g));
    const opened = await Promise.all(
      Array.from({ length: groups }, (_, g) =>
        PartitionRaftStorage.open({ dir: dirOf(g), bootstrapConf: { voters: [1, 2, 3] }, parentDirSynced: g > 0 }),
      ),
    );
    for (let g = 0; g < groups; g++) {
      expect(fs.existsSync(path.join(dirOf(g), SNAPSHOT_FILE))).toBe(true);
      expect(fs.existsSync(path.join(dirOf(g), `${SNAPSHOT_FILE}.tmp`))).toBe(false);
      // Empty: holds no state, so creating it needed no data fsync.
      expect(fs.statSync(path.join(dirOf(g), HARD_STATE_FILE)).size).toBe(0);
      const init = opened[g]!.initialState();
      expect(init.confState.voters).toEqual([1, 2, 3]);
      expect(init.hardState).toEqual({ term: 0, vote: 0, commit: 0 });
    }
    // A vote lands in the hard-state file with the next sync.
    opened[7]!.setHardState({ term: 2, vote: 3, commit: 0 });
    await opened[7]!.sync();
    await Promise.all(opened.map((s) => s.closeAndWait()));

    // The bootstrap configuration is never taken again once the files exist.
    const again = await PartitionRaftStorage.open({ dir: dirOf(7), bootstrapConf: { voters: [4, 5, 6] } });
    expect(again.initialState().confState.voters).toEqual([1, 2, 3]);
    expect(again.initialState().hardState).toMatchObject({ term: 2, vote: 3 });
    await again.closeAndWait();
  });
});
