/**
 * Tests tied to Ongaro's thesis ("Consensus: Bridging Theory and Practice",
 * 2014): pre-vote, check-quorum, leadership transfer, ReadIndex, snapshots and
 * membership changes. Each names the section whose rule it checks.
 */
import { describe, expect, it } from 'vitest';
import { MessageType, ProposalDroppedError } from '../types.ts';
import { drainMsgs, makeLeader, msg, newNode } from './testing/helpers.ts';
import { TestCluster, utf8 } from './testing/test-cluster.ts';

const withPreVote = { configure: (c: { preVote: boolean; checkQuorum: boolean }) => (c.preVote = true) };

describe('§9.6 pre-vote', () => {
  it('§9.6 a pre-candidate asks for votes at term+1 without changing its term or vote', () => {
    const n = newNode(1, { term: 3, vote: 2, ...withPreVote });
    n.raft.campaign();
    expect(n.raft.status()).toMatchObject({ role: 'pre-candidate', term: 3, vote: 2 });
    const rd = n.raft.ready();
    expect(rd.mustSync).toBe(false);
    const pre = rd.earlyMessages.filter((m) => m.type === MessageType.PreVote);
    expect(pre.map((m) => [m.to, m.term])).toEqual([
      [2, 4],
      [3, 4],
    ]);
  });

  it('§9.6 granting a pre-vote changes neither the term nor the vote of the voter', () => {
    const n = newNode(2, { term: 3, ...withPreVote });
    n.raft.step(msg({ type: MessageType.PreVote, from: 1, to: 2, term: 4 }));
    expect(n.raft.status()).toMatchObject({ term: 3, vote: 0 });
    const out = drainMsgs(n);
    expect(out[0]).toMatchObject({ type: MessageType.PreVoteResp, term: 4, reject: false });
  });

  it('§9.6 after a quorum of pre-votes the node runs a real election at term+1', () => {
    const n = newNode(1, withPreVote);
    n.raft.campaign();
    n.raft.step(msg({ type: MessageType.PreVoteResp, from: 2, to: 1, term: 1 }));
    expect(n.raft.status()).toMatchObject({ role: 'candidate', term: 1, vote: 1 });
  });

  it('§9.6 a rejected pre-vote at a higher term makes the pre-candidate a follower of that term', () => {
    const n = newNode(1, withPreVote);
    n.raft.campaign();
    n.raft.step(msg({ type: MessageType.PreVoteResp, from: 2, to: 1, term: 5, reject: true }));
    expect(n.raft.status()).toMatchObject({ role: 'follower', term: 5 });
  });

  it('§9.6 a partitioned node with pre-vote does not disrupt a stable leader when it returns', () => {
    const c = new TestCluster({
      voters: [1, 2, 3],
      configure: (cfg) => {
        cfg.preVote = true;
        cfg.checkQuorum = true;
      },
    });
    c.elect(1);
    const term = c.node(1).raft.status().term;
    c.isolated.add(3);
    for (let i = 0; i < 100; i++) {
      c.tick(3);
      c.tick(1);
      c.tick(2);
      c.stabilize();
    }
    expect(c.node(3).raft.status().term).toBe(term); // pre-votes failed: no term inflation
    c.isolated.delete(3);
    for (let i = 0; i < 30; i++) {
      c.tickAll();
      c.stabilize();
    }
    expect(c.node(1).raft.status()).toMatchObject({ role: 'leader', term });
    expect(c.node(3).raft.status()).toMatchObject({ role: 'follower', leaderId: 1, term });
  });
});

describe('§6.2 check-quorum and leader stickiness (§4.2.3)', () => {
  const cq = { configure: (c: { checkQuorum: boolean }) => (c.checkQuorum = true) };

  it('§6.2 a leader that has not heard from a quorum within an election timeout steps down', () => {
    const n = newNode(1, cq);
    makeLeader(n);
    // The first check consumes the activity of the election; the second finds none.
    for (let i = 0; i < 2 * n.config.electionTicks; i++) n.raft.tick();
    expect(n.raft.status()).toMatchObject({ role: 'follower', leaderId: 0 });
  });

  it('§6.2 a leader that hears from a quorum keeps leading', () => {
    const n = newNode(1, cq);
    makeLeader(n);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < n.config.electionTicks - 1; i++) n.raft.tick();
      n.raft.step(msg({ type: MessageType.HeartbeatResp, from: 2, to: 1, term: 1 }));
      n.raft.tick();
    }
    expect(n.raft.status().role).toBe('leader');
  });

  it('§4.2.3 a follower that recently heard from its leader ignores vote requests at a higher term', () => {
    const n = newNode(2, cq);
    n.raft.step(msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1 }));
    drainMsgs(n);
    n.raft.step(msg({ type: MessageType.Vote, from: 3, to: 2, term: 2 }));
    expect(n.raft.status()).toMatchObject({ term: 1, vote: 0, leaderId: 1 });
    expect(drainMsgs(n)).toHaveLength(0);
  });

  it('§4.2.3 after an election timeout without the leader, the follower votes again', () => {
    const n = newNode(2, cq);
    n.raft.step(msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1 }));
    for (let i = 0; i < n.config.electionTicks; i++) n.raft.tick();
    n.raft.step(msg({ type: MessageType.Vote, from: 3, to: 2, term: 2 }));
    expect(n.raft.status().vote).toBe(3);
  });
});

describe('§3.10 leadership transfer', () => {
  const cluster = () => {
    const c = new TestCluster({
      voters: [1, 2, 3],
      configure: (cfg) => {
        cfg.preVote = true;
        cfg.checkQuorum = true;
      },
    });
    c.elect(1);
    return c;
  };

  it('§3.10 transfer to an up-to-date follower makes it leader at once (TimeoutNow bypasses pre-vote and stickiness)', () => {
    const c = cluster();
    c.node(1).raft.transferLeadership(2);
    c.stabilize();
    expect(c.leaders()).toEqual([2]);
    expect(c.node(2).raft.status().term).toBe(2);
  });

  it('§3.10 transfer to a lagging follower first catches it up, then hands over', () => {
    const c = cluster();
    c.isolated.add(3);
    for (let i = 0; i < 3; i++) c.node(1).raft.propose(utf8(`p${i}`));
    c.stabilize();
    c.isolated.delete(3);
    c.node(1).raft.transferLeadership(3);
    expect(() => c.node(1).raft.propose(utf8('during'))).toThrow(ProposalDroppedError);
    c.tickAll(); // a heartbeat round lets the leader learn where node 3 stands
    c.stabilize();
    expect(c.leaders()).toEqual([3]);
    expect(c.appliedData(3)).toEqual(['p0', 'p1', 'p2']);
  });

  it('§3.10 a transfer that does not complete within an election timeout is aborted', () => {
    const c = cluster();
    c.isolated.add(2);
    c.node(1).raft.transferLeadership(2);
    expect(c.node(1).raft.status().leadTransferee).toBe(2);
    for (let i = 0; i < c.node(1).config.electionTicks; i++) {
      c.tick(1);
      c.stabilize();
    }
    expect(c.node(1).raft.status()).toMatchObject({ role: 'leader', leadTransferee: 0 });
    expect(() => c.node(1).raft.propose(utf8('after'))).not.toThrow();
  });

  it('§3.10 a transfer to a learner or unknown node is ignored', () => {
    const c = new TestCluster({ voters: [1, 2, 3], learners: [4] });
    c.elect(1);
    c.node(1).raft.transferLeadership(4);
    c.node(1).raft.transferLeadership(9);
    expect(c.node(1).raft.status().leadTransferee).toBe(0);
  });

  it('§3.10 a follower forwards a transfer request to the leader', () => {
    const c = cluster();
    c.node(3).raft.transferLeadership(3);
    c.stabilize();
    expect(c.leaders()).toEqual([3]);
  });
});

describe('§6.4 ReadIndex', () => {
  it('§6.4 safe mode answers after a heartbeat quorum with the commit index at request time', () => {
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.node(1).raft.propose(utf8('w'));
    c.stabilize();
    const commit = c.node(1).raft.status().commit;
    c.node(1).raft.readIndex(utf8('ctx'));
    c.isolated.add(2);
    c.isolated.add(3);
    c.stabilize();
    expect(c.node(1).readStates).toHaveLength(0); // no quorum: no answer
    c.isolated.clear();
    c.node(1).raft.readIndex(utf8('ctx2'));
    c.stabilize();
    // Confirming the later request also confirms the earlier one.
    expect(c.node(1).readStates.map((r) => [r.index, new TextDecoder().decode(r.context)])).toEqual([
      [commit, 'ctx'],
      [commit, 'ctx2'],
    ]);
  });

  it('§6.4 a follower forwards the read and receives the index', () => {
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.node(3).raft.readIndex(utf8('f'));
    c.stabilize();
    expect(c.node(3).readStates.map((r) => r.index)).toEqual([c.node(1).raft.status().commit]);
  });

  it('§6.4 a new leader answers only after committing an entry of its term', () => {
    const n = newNode(1);
    n.raft.campaign();
    n.raft.step(msg({ type: MessageType.VoteResp, from: 2, to: 1, term: 1 }));
    n.raft.readIndex(utf8('early'));
    drainMsgs(n);
    expect(n.raft.ready().readStates).toHaveLength(0);
    n.raft.advance();
    n.raft.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 1, index: 1 }));
    const hb = drainMsgs(n).filter((m) => m.type === MessageType.Heartbeat);
    expect(hb.length).toBeGreaterThan(0); // the read now runs its heartbeat round
    n.raft.step(msg({ type: MessageType.HeartbeatResp, from: 2, to: 1, term: 1, context: utf8('early') }));
    const rd = n.raft.ready();
    expect(rd.readStates).toEqual([{ index: 1, context: utf8('early') }]);
  });

  it('§6.4.1 lease mode answers at once (and requires check-quorum)', () => {
    const n = newNode(1, {
      configure: (c) => {
        c.readOnly = 'lease';
        c.checkQuorum = true;
      },
    });
    makeLeader(n);
    n.raft.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 1, index: 1 }));
    drainMsgs(n);
    n.raft.readIndex(utf8('l'));
    const rd = n.raft.ready();
    expect(rd.readStates).toEqual([{ index: 1, context: utf8('l') }]);
    expect(rd.earlyMessages.filter((m) => m.type === MessageType.Heartbeat)).toHaveLength(0);
  });

  it('§6.4 a read without a known leader is refused', () => {
    const n = newNode(2);
    expect(() => n.raft.readIndex(utf8('x'))).toThrow(ProposalDroppedError);
  });
});

describe('§5.7 / thesis §5 log compaction and InstallSnapshot', () => {
  it('a follower behind the leader’s first index receives and installs a snapshot', () => {
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.isolated.add(3);
    for (let i = 0; i < 5; i++) c.node(1).raft.propose(utf8(`s${i}`));
    c.stabilize();
    const leader = c.node(1);
    const applied = leader.raft.status().applied;
    leader.storage.createSnapshot(applied, leader.raft.status().conf, utf8('image'));
    leader.storage.compact(applied);
    c.isolated.delete(3);
    c.tickAll();
    c.queue.length = 0;
    c.tick(1);
    c.stabilize();
    const st3 = c.node(3).raft.status();
    expect(c.node(3).storage.snapshot().meta.index).toBe(applied);
    expect(c.node(3).storage.snapshot().data).toEqual(utf8('image'));
    expect(st3.applied).toBe(applied);
    c.node(1).raft.propose(utf8('after'));
    c.stabilize();
    expect(c.appliedData(3)).toEqual(['after']);
    expect(c.node(1).raft.status().progress?.get(3)?.state).toBe('replicate');
  });

  it('reportSnapshot(failure) returns the follower to probing; a lost snapshot is retried', () => {
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.isolated.add(3);
    for (let i = 0; i < 3; i++) c.node(1).raft.propose(utf8(`s${i}`));
    c.stabilize();
    const leader = c.node(1);
    const applied = leader.raft.status().applied;
    leader.storage.createSnapshot(applied, undefined, utf8('image'));
    leader.storage.compact(applied);
    c.isolated.delete(3);
    c.tick(1);
    // Deliver everything except Snapshot messages.
    for (let i = 0; i < 10; i++) {
      for (const id of [1, 2, 3]) while (c.handleReady(id));
      c.deliver((m) => m.type !== MessageType.Snapshot);
    }
    expect(leader.raft.status().progress?.get(3)?.state).toBe('snapshot');
    leader.raft.reportSnapshot(3, false);
    expect(leader.raft.status().progress?.get(3)?.state).toBe('probe');
    c.tick(1);
    c.stabilize();
    expect(c.node(3).storage.snapshot().meta.index).toBe(applied);
  });

  it('a snapshot lost without any reportSnapshot is retried after about three election timeouts', () => {
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.isolated.add(3);
    for (let i = 0; i < 3; i++) c.node(1).raft.propose(utf8(`s${i}`));
    c.stabilize();
    const leader = c.node(1);
    const applied = leader.raft.status().applied;
    leader.storage.createSnapshot(applied, undefined, utf8('image'));
    leader.storage.compact(applied);
    c.isolated.delete(3);
    let snapshotsSent = 0;
    const dropSnapshots = (m: { type: number }) => {
      if (m.type !== MessageType.Snapshot) return true;
      snapshotsSent++;
      return false;
    };
    const electionTicks = leader.config.electionTicks;
    for (let tick = 0; tick < 2 * electionTicks; tick++) {
      c.tickAll();
      for (let i = 0; i < 5; i++) {
        for (const id of [1, 2, 3]) while (c.handleReady(id));
        c.deliver(dropSnapshots);
      }
    }
    expect(snapshotsSent).toBe(1); // still waiting for the first one
    for (let tick = 0; tick < 2 * electionTicks && snapshotsSent < 2; tick++) {
      c.tickAll();
      for (let i = 0; i < 5; i++) {
        for (const id of [1, 2, 3]) while (c.handleReady(id));
        c.deliver(dropSnapshots);
      }
    }
    expect(snapshotsSent).toBe(2);
  });

  it('a follower installs a snapshot in Ready.snapshot, then applies entries after it', () => {
    const n = newNode(2, { term: 1 });
    const snap = {
      meta: { index: 10, term: 1, conf: { voters: [1, 2, 3], learners: [], votersOutgoing: [] } },
      data: utf8('img'),
    };
    n.raft.step(msg({ type: MessageType.Snapshot, from: 1, to: 2, term: 1, snapshot: snap }));
    const rd = n.raft.ready();
    expect(rd.snapshot?.meta.index).toBe(10);
    expect(rd.messages).toEqual([expect.objectContaining({ type: MessageType.AppResp, index: 10 })]);
    n.storage.applySnapshot(rd.snapshot!);
    n.raft.advance();
    expect(n.raft.status()).toMatchObject({ commit: 10, applied: 10, lastIndex: 10 });
  });

  it('a stale snapshot (at or below commit) is not installed', () => {
    const n = newNode(2, { term: 1, logTerms: [1, 1, 1], commit: 3 });
    const snap = {
      meta: { index: 2, term: 1, conf: { voters: [1, 2, 3], learners: [], votersOutgoing: [] } },
      data: utf8('old'),
    };
    n.raft.step(msg({ type: MessageType.Snapshot, from: 1, to: 2, term: 1, snapshot: snap }));
    const rd = n.raft.ready();
    expect(rd.snapshot).toBeUndefined();
    expect(rd.messages[0]).toMatchObject({ type: MessageType.AppResp, index: 3 });
  });
});

describe('§4.1 membership changes (single-server) and §4.2.1 learners', () => {
  it('§4.1 a change is refused until the leader committed an entry of its term, and while another is pending', () => {
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.node(1).raft.campaign();
    for (let k = 0; k < 10 && c.node(1).raft.status().role !== 'leader'; k++) {
      for (const id of [1, 2, 3]) while (c.handleReady(id));
      c.deliver((m) => m.type !== MessageType.App && m.type !== MessageType.AppResp);
    }
    expect(c.node(1).raft.status().role).toBe('leader');
    expect(() => c.node(1).raft.proposeConfChange({ changes: [{ type: 'addLearner', nodeId: 4 }] })).toThrow(
      /not committed an entry of its term/,
    );
    c.stabilize();
    c.node(1).raft.proposeConfChange({ changes: [{ type: 'addLearner', nodeId: 4 }] });
    expect(() => c.node(1).raft.proposeConfChange({ changes: [{ type: 'addVoter', nodeId: 5 }] })).toThrow(
      /not applied yet/,
    );
  });

  it('§4.1 joint changes (several changes at once) are refused', () => {
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    expect(() =>
      c.node(1).raft.proposeConfChange({
        changes: [
          { type: 'addVoter', nodeId: 4 },
          { type: 'addVoter', nodeId: 5 },
        ],
      }),
    ).toThrow(ProposalDroppedError);
  });

  it('§4.1 removing the last voter or re-adding a voter is refused', () => {
    const c = new TestCluster({ voters: [1] });
    c.elect(1);
    c.stabilize();
    expect(() => c.node(1).raft.proposeConfChange({ changes: [{ type: 'removeVoter', nodeId: 1 }] })).toThrow(
      /last voter/,
    );
    expect(() => c.node(1).raft.proposeConfChange({ changes: [{ type: 'addVoter', nodeId: 1 }] })).toThrow(
      /already a voter/,
    );
  });

  it('§4.2.1 a learner replicates the log but neither votes in the quorum nor campaigns', () => {
    const c = new TestCluster({ voters: [1, 2, 3], learners: [4] });
    c.elect(1);
    c.isolated.add(2);
    c.isolated.add(3);
    const { index } = c.node(1).raft.propose(utf8('l'));
    c.stabilize();
    expect(c.node(4).raft.status().lastIndex).toBe(index);
    expect(c.node(1).raft.status().commit).toBeLessThan(index); // the learner's ack does not count
    for (let i = 0; i < 50; i++) c.tick(4);
    expect(c.node(4).raft.status().role).toBe('follower');
  });

  it('§4.1 a configuration takes effect when applied: adding a voter changes the quorum', () => {
    const c = new TestCluster({ voters: [1, 2, 3], learners: [4] });
    c.elect(1);
    c.node(1).raft.proposeConfChange({ changes: [{ type: 'addVoter', nodeId: 4 }] });
    c.stabilize();
    expect(c.node(1).raft.status().conf.voters).toEqual([1, 2, 3, 4]);
    // With 4 voters, 2 acknowledgements (leader + one) are no longer a majority.
    c.isolated.add(3);
    c.isolated.add(4);
    const { index } = c.node(1).raft.propose(utf8('q'));
    c.stabilize();
    expect(c.node(1).raft.status().commit).toBeLessThan(index);
    c.isolated.delete(4);
    c.tickAll();
    c.stabilize();
    expect(c.node(1).raft.status().commit).toBeGreaterThanOrEqual(index);
  });

  it('§4.2.2 a removed leader steps down once the change is applied, and the rest elect a new leader', () => {
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.node(1).raft.proposeConfChange({ changes: [{ type: 'removeVoter', nodeId: 1 }] });
    c.stabilize();
    expect(c.node(1).raft.status().role).toBe('follower');
    c.node(1).raft.campaign();
    expect(c.node(1).raft.status().role).toBe('follower');
    // It handed leadership to an up-to-date voter on the way out: no election timeout needed.
    const [leader] = c.leaders();
    expect([2, 3]).toContain(leader);
    c.node(leader!).raft.propose(utf8('two-node group'));
    c.stabilize();
    expect(c.appliedData(2)).toEqual(['two-node group']);
  });

  it('a node with committed but unapplied configuration changes does not campaign', () => {
    const n = newNode(2, { term: 1 });
    const data = new Uint8Array([1, 1, 3, 0, 0, 0, 4]); // addLearner(4)
    n.raft.step(
      msg({
        type: MessageType.App,
        from: 1,
        to: 2,
        term: 1,
        index: 0,
        logTerm: 0,
        commit: 1,
        entries: [{ term: 1, index: 1, type: 1, data }],
      }),
    );
    n.raft.ready(); // persisted but not yet advanced (not applied)
    n.storage.append([{ term: 1, index: 1, type: 1, data }]);
    n.raft.advance();
    n.raft.campaign();
    expect(n.raft.status().role).toBe('follower');
  });
});
