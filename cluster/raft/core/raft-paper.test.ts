/**
 * Tests tied to the Raft paper (Ongaro & Ousterhout 2014), in the style of
 * etcd's raft_paper_test.go: each names the section whose rule it checks.
 */
import { describe, expect, it } from 'vitest';
import { MessageType } from '../types.ts';
import { drainMsgs, ent, handle, makeLeader, msg, newNode, types } from './testing/helpers.ts';
import { TestCluster, utf8 } from './testing/test-cluster.ts';

describe('§5.1 terms', () => {
  it('§5.1 a follower that sees a higher term adopts it and clears its vote', () => {
    const n = newNode(1, { term: 2, vote: 3 });
    n.raft.step(msg({ type: MessageType.App, from: 2, to: 1, term: 5 }));
    const st = n.raft.status();
    expect(st.term).toBe(5);
    expect(st.vote).toBe(0);
    expect(st.leaderId).toBe(2);
  });

  it('§5.1 a candidate steps down to follower on a higher term', () => {
    const n = newNode(1);
    n.raft.campaign();
    expect(n.raft.status().role).toBe('candidate');
    n.raft.step(msg({ type: MessageType.Heartbeat, from: 3, to: 1, term: 4 }));
    expect(n.raft.status()).toMatchObject({ role: 'follower', term: 4, leaderId: 3 });
  });

  it('§5.1 a leader steps down to follower on a higher term', () => {
    const n = newNode(1);
    makeLeader(n);
    n.raft.step(msg({ type: MessageType.Vote, from: 3, to: 1, term: 7, logTerm: 1, index: 1 }));
    expect(n.raft.status()).toMatchObject({ role: 'follower', term: 7 });
  });

  it('§5.1 a request with a stale term is rejected and does not touch the log', () => {
    const n = newNode(1, { term: 3, logTerms: [1] });
    n.raft.step(msg({ type: MessageType.App, from: 2, to: 1, term: 2, index: 1, logTerm: 1, entries: [ent(2, 2)] }));
    expect(n.raft.status().lastIndex).toBe(1);
    expect(n.raft.status().term).toBe(3);
  });

  it('§5.1 with check-quorum, a stale leader is told the newer term so it can step down', () => {
    const n = newNode(1, { term: 3, configure: (c) => (c.checkQuorum = true) });
    n.raft.step(msg({ type: MessageType.Heartbeat, from: 2, to: 1, term: 2 }));
    const out = drainMsgs(n);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ type: MessageType.AppResp, to: 2, term: 3 });
  });
});

describe('§5.2 leader election', () => {
  it('§5.2 a follower that hears nothing for an election timeout becomes candidate, votes for itself and asks for votes', () => {
    const n = newNode(1);
    for (let i = 0; i < 2 * n.config.electionTicks; i++) n.raft.tick();
    expect(n.raft.status()).toMatchObject({ role: 'candidate', term: 1, vote: 1 });
    const rd = n.raft.ready();
    expect(rd.hardState).toMatchObject({ term: 1, vote: 1 });
    expect(rd.mustSync).toBe(true);
    // The vote requests depend on the persisted term/vote: they may only leave after the sync.
    expect(types(rd.messages)).toEqual([`${MessageType.Vote}:2`, `${MessageType.Vote}:3`]);
    expect(rd.earlyMessages).toHaveLength(0);
  });

  it('§5.2 election timeouts are randomized in [electionTicks, 2*electionTicks)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const n = newNode(1, { seed });
      let ticks = 0;
      while (n.raft.status().role === 'follower' && ticks < 100) {
        n.raft.tick();
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(n.config.electionTicks);
      expect(ticks).toBeLessThan(2 * n.config.electionTicks);
      seen.add(ticks);
    }
    expect(seen.size).toBeGreaterThan(3);
  });

  it('§5.2 a candidate wins with votes from a majority (including its own)', () => {
    for (const [size, needed] of [
      [3, 1],
      [5, 2],
    ] as const) {
      const voters = Array.from({ length: size }, (_, k) => k + 1);
      const n = newNode(1, { voters });
      n.raft.campaign();
      drainMsgs(n);
      for (let k = 0; k < needed; k++) {
        expect(n.raft.status().role).toBe('candidate');
        n.raft.step(msg({ type: MessageType.VoteResp, from: k + 2, to: 1, term: 1 }));
      }
      expect(n.raft.status().role).toBe('leader');
    }
  });

  it('§5.2 a candidate that receives a majority of rejections returns to follower', () => {
    const n = newNode(1);
    n.raft.campaign();
    n.raft.step(msg({ type: MessageType.VoteResp, from: 2, to: 1, term: 1, reject: true }));
    n.raft.step(msg({ type: MessageType.VoteResp, from: 3, to: 1, term: 1, reject: true }));
    expect(n.raft.status()).toMatchObject({ role: 'follower', term: 1 });
  });

  it('§5.2 a candidate that hears from a leader of the same term becomes its follower', () => {
    const n = newNode(1);
    n.raft.campaign();
    n.raft.step(msg({ type: MessageType.App, from: 2, to: 1, term: 1, index: 0, logTerm: 0, entries: [ent(1, 1)] }));
    expect(n.raft.status()).toMatchObject({ role: 'follower', term: 1, leaderId: 2 });
  });

  it('§5.2 after a split vote the candidate times out and starts a new election with a higher term', () => {
    const n = newNode(1);
    n.raft.campaign();
    expect(n.raft.status().term).toBe(1);
    for (let i = 0; i < 2 * n.config.electionTicks; i++) n.raft.tick();
    expect(n.raft.status()).toMatchObject({ role: 'candidate', term: 2 });
  });

  it('§5.2 a server grants at most one vote per term, first come first served', () => {
    const n = newNode(1);
    n.raft.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 1 }));
    n.raft.step(msg({ type: MessageType.Vote, from: 3, to: 1, term: 1 }));
    n.raft.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 1 })); // retransmission: granted again
    const resps = drainMsgs(n).filter((m) => m.type === MessageType.VoteResp);
    expect(resps.map((m) => [m.to, m.reject])).toEqual([
      [2, false],
      [3, true],
      [2, false],
    ]);
    expect(n.raft.status().vote).toBe(2);
  });

  it('§5.2 the leader sends heartbeats every heartbeatTicks', () => {
    const n = newNode(1, { configure: (c) => (c.heartbeatTicks = 2) });
    makeLeader(n);
    n.raft.tick();
    expect(drainMsgs(n).filter((m) => m.type === MessageType.Heartbeat)).toHaveLength(0);
    n.raft.tick();
    const hbs = drainMsgs(n).filter((m) => m.type === MessageType.Heartbeat);
    expect(hbs.map((m) => m.to)).toEqual([2, 3]);
  });

  it('§5.2 a new leader appends an empty entry of its term', () => {
    const n = newNode(1, { logTerms: [1, 1], term: 1 });
    makeLeader(n);
    expect(n.storage.lastIndex()).toBe(3);
    expect(n.storage.term(3)).toBe(2);
    expect(n.storage.entries(3, 4, 1000)[0]!.data.byteLength).toBe(0);
  });
});

describe('§5.3 log replication', () => {
  it('§5.3 the leader appends a proposal and sends it to followers without waiting for its own fsync', () => {
    const n = newNode(1);
    makeLeader(n);
    // Followers acknowledge the no-op, which moves them from probe to replicate.
    for (const from of [2, 3]) n.raft.step(msg({ type: MessageType.AppResp, from, to: 1, term: 1, index: 1 }));
    drainMsgs(n);
    const { index, term } = n.raft.propose(utf8('x'));
    expect([index, term]).toEqual([2, 1]);
    const rd = n.raft.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([2]);
    expect(rd.mustSync).toBe(true);
    const apps = rd.earlyMessages.filter((m) => m.type === MessageType.App);
    expect(apps.map((m) => m.to)).toEqual([2, 3]);
    expect(apps[0]!.entries.map((e) => e.index)).toEqual([2]);
  });

  it('§5.3 a follower appends entries after a matching prev entry and acknowledges only after persisting', () => {
    const n = newNode(2, { logTerms: [1], term: 1 });
    n.raft.step(msg({ type: MessageType.App, from: 1, to: 2, term: 1, index: 1, logTerm: 1, entries: [ent(1, 2)] }));
    const rd = n.raft.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([2]);
    expect(rd.mustSync).toBe(true);
    expect(rd.earlyMessages).toHaveLength(0);
    expect(rd.messages).toEqual([expect.objectContaining({ type: MessageType.AppResp, index: 2, reject: false })]);
  });

  it('§5.3 a follower rejects an App whose prevLogIndex/prevLogTerm do not match, with a backtracking hint', () => {
    const n = newNode(2, { logTerms: [1, 1, 1], term: 2 });
    n.raft.step(msg({ type: MessageType.App, from: 1, to: 2, term: 2, index: 3, logTerm: 2, entries: [ent(2, 4)] }));
    const out = drainMsgs(n);
    expect(out[0]).toMatchObject({
      type: MessageType.AppResp,
      reject: true,
      index: 3,
      rejectHint: 3,
      rejectHintTerm: 1,
    });
    expect(n.raft.status().lastIndex).toBe(3);
  });

  it('§5.3 a follower rejects an App past the end of its log', () => {
    const n = newNode(2, { logTerms: [1], term: 1 });
    n.raft.step(msg({ type: MessageType.App, from: 1, to: 2, term: 1, index: 5, logTerm: 1 }));
    expect(drainMsgs(n)[0]).toMatchObject({ reject: true, rejectHint: 1, rejectHintTerm: 1 });
  });

  it('§5.3 a conflicting entry and all that follow it are deleted before appending', () => {
    const n = newNode(2, { logTerms: [1, 1, 1, 1], term: 2 });
    n.raft.step(
      msg({ type: MessageType.App, from: 1, to: 2, term: 2, index: 2, logTerm: 1, entries: [ent(2, 3, 'new')] }),
    );
    drainMsgs(n);
    expect(n.storage.lastIndex()).toBe(3);
    expect(n.storage.term(3)).toBe(2);
  });

  it('§5.3 an App that only repeats entries the follower has does not truncate its log', () => {
    const n = newNode(2, { logTerms: [1, 1, 1], term: 1 });
    n.raft.step(msg({ type: MessageType.App, from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: [ent(1, 1)] }));
    expect(n.raft.status().lastIndex).toBe(3);
  });

  it('§5.3 the leader commits once a majority stores the entry, and followers learn the commit index', () => {
    const c = new TestCluster({ voters: [1, 2, 3, 4, 5] });
    c.elect(1);
    c.isolated.add(4);
    c.isolated.add(5);
    const { index } = c.node(1).raft.propose(utf8('m'));
    c.stabilize();
    for (const id of [1, 2, 3]) expect(c.node(id).raft.status().commit).toBe(index);
    expect(c.appliedData(2)).toEqual(['m']);
    expect(c.node(4).raft.status().commit).toBeLessThan(index);
  });

  it('§5.3 the leader repairs a follower that missed entries (nextIndex backs up)', () => {
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(1);
    c.isolated.add(3);
    for (let i = 0; i < 5; i++) c.node(1).raft.propose(utf8(`e${i}`));
    c.stabilize();
    c.isolated.delete(3);
    c.tickAll(c.node(1).config.heartbeatTicks);
    c.stabilize();
    expect(c.appliedData(3)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
  });
});

describe('§5.4.1 election restriction', () => {
  it('§5.4.1 rejects a vote for a candidate whose last term is lower', () => {
    const n = newNode(1, { logTerms: [1, 2], term: 2 });
    n.raft.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 3, logTerm: 1, index: 5 }));
    expect(drainMsgs(n)[0]).toMatchObject({ type: MessageType.VoteResp, reject: true });
    expect(n.raft.status().vote).toBe(0);
  });

  it('§5.4.1 rejects a vote for a candidate with the same last term but a shorter log', () => {
    const n = newNode(1, { logTerms: [1, 1, 1], term: 1 });
    n.raft.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 2, logTerm: 1, index: 2 }));
    expect(drainMsgs(n)[0]).toMatchObject({ type: MessageType.VoteResp, reject: true });
  });

  it('§5.4.1 grants a vote to a candidate whose log is at least as up-to-date', () => {
    const n = newNode(1, { logTerms: [1, 1, 1], term: 1 });
    n.raft.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 2, logTerm: 1, index: 3 }));
    expect(drainMsgs(n)[0]).toMatchObject({ type: MessageType.VoteResp, reject: false, term: 2 });
    expect(n.raft.status().vote).toBe(2);
  });

  it('§5.4.1 unsafe switch (a) voteWithoutLogCheck grants the stale candidate', () => {
    const n = newNode(1, { logTerms: [1, 2], term: 2, configure: (c) => (c.unsafe = { voteWithoutLogCheck: true }) });
    n.raft.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 3, logTerm: 1, index: 1 }));
    expect(drainMsgs(n)[0]).toMatchObject({ type: MessageType.VoteResp, reject: false });
  });
});

describe('§5.4.2 committing entries from previous terms (Figure 8)', () => {
  // Node 1 holds an entry of term 2 that was never committed, becomes leader of term 3.
  const setup = (unsafe: boolean) => {
    const n = newNode(1, {
      logTerms: [1, 2],
      term: 2,
      commit: 1,
      configure: (c) => {
        if (unsafe) c.unsafe = { commitPreviousTermByCount: true };
      },
    });
    makeLeader(n);
    expect(n.raft.status().term).toBe(3);
    return n;
  };

  it('§5.4.2 a leader does not commit an entry of a previous term by counting replicas', () => {
    const n = setup(false);
    n.raft.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 3, index: 2 }));
    drainMsgs(n);
    expect(n.raft.status().commit).toBe(1);
    // Once an entry of the current term (the no-op at 3) is replicated, everything before it commits too.
    n.raft.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 3, index: 3 }));
    drainMsgs(n);
    expect(n.raft.status().commit).toBe(3);
  });

  it('§5.4.2 unsafe switch (b) commitPreviousTermByCount commits the old-term entry', () => {
    const n = setup(true);
    n.raft.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 3, index: 2 }));
    drainMsgs(n);
    expect(n.raft.status().commit).toBe(2);
  });
});

describe('§5.4.3 safety argument relies on durable state before replies', () => {
  it('the leader counts its own copy only after advance() confirms it durable', () => {
    const n = newNode(1, { voters: [1, 2, 3, 4, 5] });
    n.raft.campaign();
    drainMsgs(n);
    n.raft.step(msg({ type: MessageType.VoteResp, from: 2, to: 1, term: 1 }));
    n.raft.step(msg({ type: MessageType.VoteResp, from: 3, to: 1, term: 1 }));
    expect(n.raft.status().role).toBe('leader');
    n.raft.ready(); // the no-op is being persisted; not yet advanced
    n.raft.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 1, index: 1 }));
    n.raft.step(msg({ type: MessageType.AppResp, from: 3, to: 1, term: 1, index: 1 }));
    expect(n.raft.status().commit).toBe(0); // 2 of 5 durable: not a majority without the leader's own
    n.storage.append([ent(1, 1)]);
    n.raft.advance();
    expect(n.raft.status().commit).toBe(1);
  });

  it('committedEntries only carry entries that are durable locally', () => {
    const n = newNode(2, { term: 1 });
    n.raft.step(
      msg({
        type: MessageType.App,
        from: 1,
        to: 2,
        term: 1,
        index: 0,
        logTerm: 0,
        commit: 1,
        entries: [ent(1, 1, 'a')],
      }),
    );
    const rd1 = handle(n);
    expect(rd1.entries).toHaveLength(1);
    expect(rd1.committedEntries).toHaveLength(0);
    const rd2 = handle(n);
    expect(rd2.committedEntries.map((e) => e.index)).toEqual([1]);
  });

  it('a vote grant leaves only after the vote is persisted; unsafe switch (c) sends it early', () => {
    const safe = newNode(1);
    safe.raft.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 1 }));
    const rd = safe.raft.ready();
    expect(rd.mustSync).toBe(true);
    expect(rd.messages.map((m) => m.type)).toEqual([MessageType.VoteResp]);
    expect(rd.earlyMessages).toHaveLength(0);

    const unsafe = newNode(1, { configure: (c) => (c.unsafe = { replyBeforePersistingVote: true }) });
    unsafe.raft.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 1 }));
    const rd2 = unsafe.raft.ready();
    expect(rd2.earlyMessages.map((m) => m.type)).toEqual([MessageType.VoteResp]);
  });

  it('mustSync is false when only the commit index changed', () => {
    const n = newNode(2, { logTerms: [1], term: 1 });
    n.raft.step(msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1, commit: 1 }));
    const rd = n.raft.ready();
    expect(rd.hardState).toMatchObject({ commit: 1 });
    expect(rd.mustSync).toBe(false);
  });

  it('§5.3 unsafe switch (d) acceptWithoutPrevCheck appends over a mismatched prev entry', () => {
    const n = newNode(2, {
      logTerms: [1, 1],
      term: 2,
      configure: (c) => (c.unsafe = { acceptWithoutPrevCheck: true }),
    });
    n.raft.step(msg({ type: MessageType.App, from: 1, to: 2, term: 2, index: 2, logTerm: 2, entries: [ent(2, 3)] }));
    expect(drainMsgs(n)[0]).toMatchObject({ type: MessageType.AppResp, reject: false, index: 3 });
  });
});
