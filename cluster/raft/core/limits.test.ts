import { describe, expect, it } from 'vitest';
import { MessageType, ProposalDroppedError, type RaftConfig } from '../types.ts';
import { RaftUsageError } from './errors.ts';
import { drainMsgs, handle, makeLeader, msg, newNode } from './testing/helpers.ts';
import { TestCluster, utf8 } from './testing/test-cluster.ts';

/** A leader whose followers are in replicate state (they acked the no-op). */
function replicatingLeader(configure: (c: RaftConfig) => void) {
  const n = newNode(1, { configure });
  makeLeader(n);
  for (const from of [2, 3]) n.raft.step(msg({ type: MessageType.AppResp, from, to: 1, term: 1, index: 1 }));
  drainMsgs(n);
  return n;
}

describe('resource limits', () => {
  it('propose on a non-leader throws ProposalDroppedError naming the leader', () => {
    const n = newNode(2);
    n.raft.step(msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1 }));
    expect(() => n.raft.propose(utf8('x'))).toThrow(ProposalDroppedError);
    expect(() => n.raft.propose(utf8('x'))).toThrow(/leader is 1/);
  });

  it('maxUncommittedBytes drops proposals beyond the bound, and admits again after commit', () => {
    const n = replicatingLeader((c) => (c.maxUncommittedBytes = 100));
    n.raft.propose(new Uint8Array(60));
    expect(() => n.raft.propose(new Uint8Array(60))).toThrow(/maxUncommittedBytes/);
    n.raft.propose(new Uint8Array(40)); // exactly at the bound
    drainMsgs(n);
    for (const from of [2, 3]) n.raft.step(msg({ type: MessageType.AppResp, from, to: 1, term: 1, index: 3 }));
    drainMsgs(n);
    expect(() => n.raft.propose(new Uint8Array(60))).not.toThrow();
  });

  it('a single entry larger than maxUncommittedBytes is admitted when nothing is uncommitted', () => {
    const n = replicatingLeader((c) => (c.maxUncommittedBytes = 10));
    expect(() => n.raft.propose(new Uint8Array(50))).not.toThrow();
  });

  it('maxMsgBytes batches entries into several Apps (at least one entry each)', () => {
    const n = replicatingLeader((c) => (c.maxMsgBytes = 100));
    for (let i = 0; i < 6; i++) n.raft.propose(new Uint8Array(40));
    const apps = n.raft.ready().earlyMessages.filter((m) => m.type === MessageType.App && m.to === 2);
    expect(apps.map((m) => m.entries.length)).toEqual([1, 1, 1, 1, 1, 1]); // 40 + 16 overhead each: one fits
    n.raft.advance();
    const big = replicatingLeader((c) => (c.maxMsgBytes = 10));
    big.raft.propose(new Uint8Array(500));
    const apps2 = big.raft.ready().earlyMessages.filter((m) => m.type === MessageType.App && m.to === 2);
    expect(apps2[0]!.entries).toHaveLength(1);
  });

  it('maxInflightMsgs bounds the pipeline per follower; an ack reopens it', () => {
    const n = replicatingLeader((c) => {
      c.maxInflightMsgs = 2;
      c.maxMsgBytes = 20;
    });
    for (let i = 0; i < 5; i++) n.raft.propose(new Uint8Array(10));
    const sent = drainMsgs(n).filter((m) => m.type === MessageType.App && m.to === 2);
    expect(sent.map((m) => m.entries[0]!.index)).toEqual([2, 3]);
    n.raft.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 1, index: 2 }));
    const more = drainMsgs(n).filter((m) => m.type === MessageType.App && m.to === 2 && m.entries.length > 0);
    expect(more.map((m) => m.entries[0]!.index)).toEqual([4]);
  });

  it('maxInflightBytes bounds the bytes in flight per follower', () => {
    const n = replicatingLeader((c) => {
      c.maxInflightMsgs = 100;
      c.maxMsgBytes = 100;
      c.maxInflightBytes = 200;
    });
    for (let i = 0; i < 10; i++) n.raft.propose(new Uint8Array(84)); // 100 bytes each with overhead
    const sent = drainMsgs(n).filter((m) => m.type === MessageType.App && m.to === 2);
    expect(sent).toHaveLength(2);
  });

  it('the outbox is bounded when the driver stops draining Readies', () => {
    const n = replicatingLeader(() => {});
    for (let i = 0; i < 40_000; i++) n.raft.tick(); // 2 heartbeats per tick
    const rd = n.raft.ready();
    expect(rd.earlyMessages.length + rd.messages.length).toBe(65_536);
  });

  it('a stale rejection (hinting less than the follower has acknowledged since) does not rewind the pipeline', () => {
    const n = replicatingLeader(() => {});
    for (let i = 0; i < 4; i++) n.raft.propose(utf8(`x${i}`));
    drainMsgs(n);
    n.raft.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 1, index: 3 }));
    drainMsgs(n);
    // Produced before the ack above, delivered after it (reordering): hint 1 < match 3.
    n.raft.step(
      msg({
        type: MessageType.AppResp,
        from: 2,
        to: 1,
        term: 1,
        index: 4,
        reject: true,
        rejectHint: 1,
        rejectHintTerm: 1,
      }),
    );
    expect(n.raft.status().progress?.get(2)).toMatchObject({ state: 'replicate', match: 3, next: 6 });
    expect(drainMsgs(n)).toHaveLength(0);
    // One answering an App beyond what this run has sent (prev >= next) is stale as well.
    n.raft.step(
      msg({
        type: MessageType.AppResp,
        from: 2,
        to: 1,
        term: 1,
        index: 6,
        reject: true,
        rejectHint: 3,
        rejectHintTerm: 1,
      }),
    );
    expect(n.raft.status().progress?.get(2)).toMatchObject({ state: 'replicate', next: 6 });
    // A fresh one (hint >= match) rewinds to probing.
    n.raft.step(
      msg({
        type: MessageType.AppResp,
        from: 2,
        to: 1,
        term: 1,
        index: 4,
        reject: true,
        rejectHint: 3,
        rejectHintTerm: 1,
      }),
    );
    expect(n.raft.status().progress?.get(2)).toMatchObject({ state: 'probe', next: 4 });
  });

  it('a follower does not re-forward a ReadIndex it received from another node (BUGS.md #3)', () => {
    const n = newNode(2, { term: 1 });
    n.raft.step(msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1 }));
    drainMsgs(n);
    n.raft.step(msg({ type: MessageType.ReadIndex, from: 3, to: 2, term: 0, context: utf8('r') }));
    expect(drainMsgs(n)).toHaveLength(0);
  });

  it('reportUnreachable moves a replicating follower back to probe', () => {
    const n = replicatingLeader(() => {});
    expect(n.raft.status().progress?.get(2)?.state).toBe('replicate');
    n.raft.reportUnreachable(2);
    expect(n.raft.status().progress?.get(2)?.state).toBe('probe');
  });

  it('ready() twice without advance() is a usage error; advance() without ready() too', () => {
    const n = newNode(1);
    n.raft.campaign();
    n.raft.ready();
    expect(n.raft.hasReady()).toBe(false);
    expect(() => n.raft.ready()).toThrow(RaftUsageError);
    n.raft.advance();
    expect(() => n.raft.advance()).toThrow(RaftUsageError);
  });

  it('messages stepped between ready() and advance() go into the next Ready', () => {
    const n = newNode(2, { term: 1 });
    n.raft.step(msg({ type: MessageType.App, from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: [] }));
    const rd = n.raft.ready();
    n.raft.step(msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1 }));
    n.storage.append(rd.entries);
    n.raft.advance();
    expect(handle(n).messages.map((m) => m.type)).toEqual([MessageType.HeartbeatResp]);
  });

  it('a Prop forwarded by a follower is appended by the leader (non-Normal entries are ignored)', () => {
    const n = replicatingLeader(() => {});
    n.raft.step(
      msg({
        type: MessageType.Prop,
        from: 2,
        to: 1,
        term: 0,
        entries: [
          { term: 0, index: 0, type: 0, data: utf8('fwd') },
          { term: 0, index: 0, type: 1, data: utf8('cc') },
        ],
      }),
    );
    expect(n.raft.status().lastIndex).toBe(2);
    expect(new TextDecoder().decode(n.raft.ready().entries[0]!.data)).toBe('fwd');
  });

  it('status() reports progress only on the leader', () => {
    const c = new TestCluster({ voters: [1, 2, 3] });
    c.elect(2);
    expect(c.node(2).raft.status().progress?.size).toBe(3);
    expect(c.node(1).raft.status().progress).toBeUndefined();
    expect(c.node(1).raft.status()).toMatchObject({ leaderId: 2, role: 'follower' });
  });

  it('ignores malformed messages (non-contiguous entries, wrong recipient)', () => {
    const n = newNode(2, { term: 1 });
    n.raft.step(
      msg({
        type: MessageType.App,
        from: 1,
        to: 2,
        term: 1,
        index: 0,
        entries: [{ term: 1, index: 5, type: 0, data: utf8('') }],
      }),
    );
    n.raft.step(msg({ type: MessageType.App, from: 1, to: 3, term: 9 }));
    expect(n.raft.status()).toMatchObject({ term: 1, lastIndex: 0 });
  });
});
