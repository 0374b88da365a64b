import { defaultRaftConfig } from '../core/config.ts';
import { SeededPrng } from '../core/prng.ts';
import { RaftNode } from '../core/raft-node.ts';
import type { RaftStorage } from '../storage/raft-storage.ts';
import type { NodeId, RaftConfig, RaftCore } from '../types.ts';

/** Raft settings a driver may override; id, prng and applied are decided here. */
export type RaftTuning = Partial<Omit<RaftConfig, 'id' | 'prng' | 'applied'>>;

/**
 * A core over `storage`, starting at applied = the snapshot's index: the
 * driver restores that snapshot into the state machine and re-applies the
 * committed entries after it (the state machine itself is not durable).
 */
export function createRaftCore(id: NodeId, storage: RaftStorage, tuning: RaftTuning = {}, seed?: number): RaftCore {
  const prng = new SeededPrng(seed ?? (Math.random() * 0x1_0000_0000) >>> 0);
  const config: RaftConfig = {
    ...defaultRaftConfig(id, prng),
    ...tuning,
    id,
    prng,
    applied: storage.snapshot().meta.index,
  };
  return new RaftNode(config, storage);
}
