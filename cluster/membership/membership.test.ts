/**
 * Five Membership components in one process over real libp2p (TCP on 127.0.0.1, port 0).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Membership } from './membership.ts';
import { eventually } from './testing/heartbeats.ts';
import { LocalMembers } from './testing/local-members.ts';
import type { MemberEvent } from './types.ts';

const ids = [1, 2, 3, 4, 5];
let cluster: LocalMembers | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('Membership over libp2p, 5 nodes in one process', () => {
  it('with default timings every node sees all 5 alive within 3 s of start, joining through one host:port seed', async () => {
    cluster = new LocalMembers({});
    const c = cluster;
    const t0 = Date.now();
    await c.start(1);
    await Promise.all(ids.slice(1).map((id) => c.start(id)));
    await eventually(() => c.allSeeAlive(ids), 'all 5 see all 5 alive', { timeoutMs: 3000 - (Date.now() - t0) });
    console.log(`membership: 5 nodes all alive everywhere ${Date.now() - t0} ms after the first start`);
    const m3 = c.members.get(3)!.member(4)!;
    expect(m3.addresses).toEqual({ client: '127.0.0.1:19004', raft: '127.0.0.1:19104' });
    expect(m3.rack).toBe('rack-0');
    expect(m3.peerId).toBe(c.members.get(4)!.peerId);
    const counters = c.members.get(2)!.counters();
    expect(counters.heartbeatsReceived).toBeGreaterThan(0);
    expect(counters.membersByState).toEqual({ alive: 5, suspect: 0, dead: 0 });
    expect(Object.values(counters.heartbeatsRejected).every((n) => n === 0)).toBe(true);
  });

  it('a stopped node becomes suspect then dead (never dead before deadAfterMs); restarted, it is alive again with the same peer id', async () => {
    const timing = { heartbeatIntervalMs: 200, suspectAfterMs: 600, deadAfterMs: 1500, connectIntervalMs: 200 };
    cluster = new LocalMembers(timing);
    const c = cluster;
    await c.start(1);
    await Promise.all(ids.slice(1).map((id) => c.start(id)));
    await eventually(() => c.allSeeAlive(ids), 'all alive');

    const victim = 1; // the seed itself: the others must stay connected without it
    const oldPeerId = c.members.get(victim)!.peerId;
    const events: MemberEvent[] = [];
    const watcher: Membership = c.members.get(4)!;
    watcher.on('change', (e) => {
      if (e.member.nodeId === victim) events.push(e);
    });
    const stoppedAt = Date.now();
    await c.stop(victim);
    const suspectMs = await eventually(
      () => c.stateEverywhere(victim, 'suspect') || c.stateEverywhere(victim, 'dead'),
      'suspect',
    );
    await eventually(() => c.stateEverywhere(victim, 'dead'), 'dead', { timeoutMs: 5000 });
    const deadMs = Date.now() - stoppedAt;
    console.log(`membership: stopped node suspect everywhere after ${suspectMs} ms, dead after ${deadMs} ms`);
    expect(events.map((e) => e.type)).toEqual(['suspect', 'dead']);
    const dead = events[1]!;
    // Dead only by the timeout, counted from the last heartbeat heard.
    expect(dead.member.stateSinceMs - dead.member.lastSeenMs).toBeGreaterThanOrEqual(timing.deadAfterMs);
    // The survivors still hear each other with the seed gone.
    expect(c.allSeeAlive([2, 3, 4, 5])).toBe(true);

    const back = await c.start(victim);
    expect(back.peerId).toBe(oldPeerId);
    await eventually(() => c.allSeeAlive(ids), 'restarted node alive everywhere');
    expect(events.at(-1)?.type).toBe('alive');
    expect(events.at(-1)?.previousState).toBe('dead');
    expect(watcher.member(victim)?.incarnation).toBe(2);
  });
});
