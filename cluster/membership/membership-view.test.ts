import { describe, expect, it } from 'vitest';
import {
  MembershipConfigError,
  MembershipStateError,
  MembersLimitError,
  NodeIdSpoofedError,
  PeerIdReusedError,
  SignerMismatchError,
} from './errors.ts';
import { MembershipView } from './membership-view.ts';
import { heartbeat } from './testing/heartbeats.ts';
import type { MemberEvent } from './types.ts';

const opts = { suspectAfterMs: 3000, deadAfterMs: 10_000, membersMax: 8, selfNodeId: 1 };
const kinds = (events: MemberEvent[]) => events.map((e) => `${e.type}:${e.member.nodeId}`);

describe('MembershipView (virtual clock)', () => {
  it('a new node joins alive, goes suspect after suspectAfterMs and dead after deadAfterMs of silence', () => {
    const v = new MembershipView(opts);
    expect(kinds(v.observe(heartbeat({ nodeId: 2 }), 'peer-2', 0).events)).toEqual(['joined:2']);
    expect(v.tick(2999)).toEqual([]);
    expect(kinds(v.tick(3000))).toEqual(['suspect:2']);
    expect(v.member(2)?.state).toBe('suspect');
    expect(v.tick(9999)).toEqual([]);
    const dead = v.tick(10_000);
    expect(kinds(dead)).toEqual(['dead:2']);
    expect(dead[0]?.previousState).toBe('suspect');
    expect(dead[0]?.reason).toBe('timeout');
    expect(v.member(2)?.lastSeenMs).toBe(0);
    expect(v.member(2)?.stateSinceMs).toBe(10_000);
  });

  it('one long gap crosses both thresholds in one tick: suspect then dead, in order', () => {
    const v = new MembershipView(opts);
    v.observe(heartbeat({ nodeId: 2 }), 'peer-2', 0);
    expect(kinds(v.tick(50_000))).toEqual(['suspect:2', 'dead:2']);
  });

  it('heartbeats keep a member alive; a newer seq revives a suspect, a newer incarnation revives the dead', () => {
    const v = new MembershipView(opts);
    v.observe(heartbeat({ nodeId: 2, seq: 0 }), 'peer-2', 0);
    for (let t = 1000, seq = 1; t <= 20_000; t += 1000, seq++) {
      expect(v.observe(heartbeat({ nodeId: 2, seq }), 'peer-2', t).accepted).toBe(true);
      expect(v.tick(t + 500)).toEqual([]);
    }
    v.tick(24_000);
    expect(v.member(2)?.state).toBe('suspect');
    expect(kinds(v.observe(heartbeat({ nodeId: 2, seq: 21 }), 'peer-2', 24_100).events)).toEqual(['alive:2']);
    v.tick(40_000);
    expect(v.member(2)?.state).toBe('dead');
    // Restarted: seq starts again at 0 but the incarnation is higher.
    const back = v.observe(heartbeat({ nodeId: 2, incarnation: 2, seq: 0 }), 'peer-2', 41_000);
    expect(kinds(back.events)).toEqual(['alive:2']);
    expect(back.events[0]?.previousState).toBe('dead');
    expect(v.member(2)?.incarnation).toBe(2);
  });

  it('a heartbeat no newer than the last accepted one is stale and changes nothing', () => {
    const v = new MembershipView(opts);
    v.observe(heartbeat({ nodeId: 2, incarnation: 2, seq: 5 }), 'peer-2', 0);
    v.tick(3000);
    for (const old of [
      heartbeat({ nodeId: 2, incarnation: 2, seq: 5 }),
      heartbeat({ nodeId: 2, incarnation: 1, seq: 99 }),
    ]) {
      expect(v.observe(old, 'peer-2', 3100)).toEqual({ accepted: false, events: [] });
    }
    expect(v.member(2)?.state).toBe('suspect');
    expect(v.member(2)?.lastSeenMs).toBe(0);
  });

  it('a closed connection makes a member suspect early but never dead before deadAfterMs', () => {
    const v = new MembershipView(opts);
    v.observe(heartbeat({ nodeId: 2 }), 'peer-2', 1000);
    const ev = v.suspect(2, 1200, 'connection-closed');
    expect(kinds(ev)).toEqual(['suspect:2']);
    expect(ev[0]?.reason).toBe('connection-closed');
    expect(v.suspect(2, 1300, 'connection-closed')).toEqual([]); // already suspect
    expect(v.tick(10_999)).toEqual([]);
    expect(kinds(v.tick(11_000))).toEqual(['dead:2']);
  });

  it('never suspects or kills itself', () => {
    const v = new MembershipView(opts);
    v.observe(heartbeat({ nodeId: 1 }), 'peer-1', 0);
    expect(v.suspect(1, 10, 'connection-closed')).toEqual([]);
    expect(v.tick(1_000_000)).toEqual([]);
    expect(v.member(1)?.state).toBe('alive');
  });

  it('updated event when addresses, rack, version change; none for load or seq alone', () => {
    const v = new MembershipView(opts);
    v.observe(heartbeat({ nodeId: 2 }), 'peer-2', 0);
    expect(
      v.observe(heartbeat({ nodeId: 2, seq: 1, load: { partitionsLed: 7, cpu: 0.9 } }), 'peer-2', 1).events,
    ).toEqual([]);
    expect(v.member(2)?.load.partitionsLed).toBe(7);
    const up = v.observe(heartbeat({ nodeId: 2, seq: 2, rack: 'r2' }), 'peer-2', 2).events;
    expect(kinds(up)).toEqual(['updated:2']);
    expect(up[0]?.member.rack).toBe('r2');
  });

  it('rejects a heartbeat whose peer id is not its signer, and a node id spoofed by another peer', () => {
    const v = new MembershipView(opts);
    v.observe(heartbeat({ nodeId: 2 }), 'peer-2', 0);
    expect(() => v.observe(heartbeat({ nodeId: 3, peerId: 'peer-3' }), 'peer-9', 1)).toThrow(SignerMismatchError);
    expect(() => v.observe(heartbeat({ nodeId: 2, peerId: 'peer-9', seq: 7 }), 'peer-9', 1)).toThrow(
      NodeIdSpoofedError,
    );
    expect(() => v.observe(heartbeat({ nodeId: 4, peerId: 'peer-2', seq: 7 }), 'peer-2', 1)).toThrow(PeerIdReusedError);
    expect(v.members().map((m) => [m.nodeId, m.peerId])).toEqual([[2, 'peer-2']]);
    expect(v.nodeIdOfPeer('peer-9')).toBeUndefined();
  });

  it('a dead node id can be taken over by a new key (wiped data dir), and the old key loses it', () => {
    const v = new MembershipView(opts);
    v.observe(heartbeat({ nodeId: 2 }), 'peer-2', 0);
    v.tick(10_000);
    const ev = v.observe(heartbeat({ nodeId: 2, peerId: 'peer-2b' }), 'peer-2b', 10_001).events;
    expect(kinds(ev)).toEqual(['alive:2']);
    expect(v.nodeIdOfPeer('peer-2')).toBeUndefined();
    expect(v.nodeIdOfPeer('peer-2b')).toBe(2);
    expect(() => v.observe(heartbeat({ nodeId: 2, seq: 50 }), 'peer-2', 10_002)).toThrow(NodeIdSpoofedError);
  });

  it('bounds the number of members and lets the controller forget only dead ones', () => {
    const v = new MembershipView({ ...opts, membersMax: 2 });
    v.observe(heartbeat({ nodeId: 2 }), 'peer-2', 0);
    v.observe(heartbeat({ nodeId: 3 }), 'peer-3', 0);
    expect(() => v.observe(heartbeat({ nodeId: 4 }), 'peer-4', 0)).toThrow(MembersLimitError);
    expect(() => v.forget(2)).toThrow(MembershipStateError);
    v.tick(10_000);
    expect(v.forget(2)).toBe(true);
    expect(v.forget(2)).toBe(false);
    expect(kinds(v.observe(heartbeat({ nodeId: 4 }), 'peer-4', 10_001).events)).toEqual(['joined:4']);
    expect(v.countByState()).toEqual({ alive: 1, suspect: 0, dead: 1 });
  });

  it('refuses a clock that goes backwards and unsafe timeouts', () => {
    const v = new MembershipView(opts);
    v.tick(100);
    expect(() => v.tick(99)).toThrow(MembershipStateError);
    expect(() => new MembershipView({ ...opts, deadAfterMs: 3000 })).toThrow(MembershipConfigError);
    expect(() => new MembershipView({ ...opts, suspectAfterMs: 0 })).toThrow(MembershipConfigError);
  });

  it('snapshots are copies: mutating one does not change the view', () => {
    const v = new MembershipView(opts);
    v.observe(heartbeat({ nodeId: 2 }), 'peer-2', 0);
    const m = v.member(2)!;
    m.addresses.client = 'x:1';
    m.load.partitionsLed = 99;
    expect(v.member(2)?.addresses.client).toBe('127.0.0.1:9002');
    expect(v.member(2)?.load.partitionsLed).toBe(0);
  });
});
