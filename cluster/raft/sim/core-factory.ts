import { RaftNode } from '../core/raft-node.ts';
import type { CoreFactory } from './sim-node.ts';

/** The system under test: the real core, built exactly as a driver builds it. */
export const makeRaftNode: CoreFactory = (config, storage) => new RaftNode(config, storage);
