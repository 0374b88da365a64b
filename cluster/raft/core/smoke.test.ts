import { describe, expect, it } from 'vitest';
import { TestCluster, utf8 } from './testing/test-cluster.ts';

describe('smoke', () => {
  it('elects, replicates and commits', () => {
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.node(1).raft.propose(utf8('a'));
    c.node(1).raft.propose(utf8('b'));
    c.stabilize();
    for (const id of [1, 2, 3]) expect(c.appliedData(id)).toEqual(['a', 'b']);
  });
});
