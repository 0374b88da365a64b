import { afterEach, describe, expect, it } from 'vitest';
import type { ManualTicker } from '../driver/ticker.ts';
import { encodePut } from '../examples/kv-state-machine.ts';
import { MemoryCluster } from './memory-cluster.ts';

const tuning = { electionTicks: 10, heartbeatTicks: 1 };

describe('MultiRaftHost over the in-process hub', () => {
  let cluster: MemoryCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('elects, replicates a proposal to every node and serves a linearizable read', async () => {
    cluster = await MemoryCluster.start({ nodes: 3, tick: 'manual', tuning });
    cluster.createGroup(1);
    const leader = await cluster.waitForLeader(1);
    const g = cluster.group(leader, 1);
    await expect(g.propose(encodePut('a', '1'))).resolves.toBeUndefined();
    await expect(g.propose(encodePut('a', '2'))).resolves.toBe('1');
    await cluster.until(() => cluster!.ids.every((id) => cluster!.sm(id, 1).get('a') === '2'));
    await g.readIndex();
    expect(cluster.sm(leader, 1).get('a')).toBe('2');
  });

  it('many groups share one frame per peer per tick, and idle groups quiesce', async () => {
    cluster = await MemoryCluster.start({ nodes: 3, tick: 'manual', tuning });
    const groups = 50;
    for (let g = 1; g <= groups; g++) cluster.createGroup(g);
    await cluster.until(() => {
      for (let g = 1; g <= groups; g++) if (cluster!.leaderOf(g) === 0) return false;
      return true;
    });
    const quiesced = () => [...cluster!.hosts.values()].reduce((n, e) => n + e.host.stats.quiescedGroups, 0);
    await cluster.until(() => quiesced() === groups * 3);
    // Now idle: a tick costs no group ticks and one (liveness) frame per peer.
    const before = [...cluster.hosts.values()].map((e) => ({ ...e.host.stats }));
    for (let i = 0; i < 20; i++) {
      cluster.tickAll();
      await new Promise((r) => setImmediate(r));
    }
    const after = [...cluster.hosts.values()].map((e) => e.host.stats);
    after.forEach((s, i) => {
      expect(s.groupTicks - before[i]!.groupTicks).toBe(0);
      expect(s.framesSent - before[i]!.framesSent).toBe(20 * 2);
    });
    // A proposal wakes its group and still commits everywhere.
    const leader = cluster.leaderOf(7);
    await cluster.group(leader, 7).propose(encodePut('k', 'v'));
    await cluster.until(() => cluster!.ids.every((id) => cluster!.sm(id, 7).get('k') === 'v'));
  });

  it('a leader stuck in a slow log sync keeps its followers: no election, then the proposal commits', async () => {
    cluster = await MemoryCluster.start({ nodes: 3, tick: 'manual', tuning, quiesce: false });
    cluster.createGroup(1);
    const leader = await cluster.waitForLeader(1);
    const g = cluster.group(leader, 1);
    await g.propose(encodePut('a', '1'));
    const term = g.status().term;
    // The leader's next sync hangs (a disk stalled far past the election timeout) until released.
    let release: () => void = () => {};
    const storage = g.storage as { sync(): Promise<void> };
    const realSync = storage.sync.bind(storage);
    storage.sync = () => new Promise<void>((resolve) => (release = resolve)).then(realSync);
    const committed = g.propose(encodePut('a', '2'));
    // Two of the longest election timeouts (10..20 ticks randomized) while the leader's Ready waits.
    for (let i = 0; i < 40; i++) {
      cluster.tickAll();
      await new Promise((r) => setImmediate(r));
    }
    expect(cluster.hosts.get(leader)!.host.stats.busyLeaderBeats).toBeGreaterThan(0);
    for (const id of cluster.ids) {
      expect(cluster.group(id, 1).status().term).toBe(term);
      expect(cluster.group(id, 1).leaderId).toBe(leader);
    }
    storage.sync = realSync;
    release();
    await expect(committed).resolves.toBe('1');
  });

  it('a leader whose log sync never returns stops being covered: the followers elect another', async () => {
    cluster = await MemoryCluster.start({ nodes: 3, tick: 'manual', tuning, quiesce: false });
    cluster.createGroup(1);
    const leader = await cluster.waitForLeader(1);
    const g = cluster.group(leader, 1);
    await g.propose(encodePut('a', '1'));
    (g.storage as { sync(): Promise<void> }).sync = () => new Promise<void>(() => {}); // a dead disk
    void g.propose(encodePut('a', '2')).catch(() => {});
    await cluster.until(() => cluster!.ids.some((id) => id !== leader && cluster!.group(id, 1).role === 'leader'));
  });

  it('a quiesced group elects a new leader after its leader node dies', async () => {
    cluster = await MemoryCluster.start({ nodes: 3, tick: 'manual', tuning });
    cluster.createGroup(1);
    const leader = await cluster.waitForLeader(1);
    await cluster.group(leader, 1).propose(encodePut('x', '1'));
    await cluster.until(() => cluster!.hosts.get(leader)!.host.isQuiesced(1));
    await cluster.stopHost(leader);
    await cluster.until(() => {
      const l = cluster!.leaderOf(1);
      return l !== 0 && l !== leader;
    });
    const next = cluster.leaderOf(1);
    await cluster.group(next, 1).propose(encodePut('x', '2'));
    expect(cluster.sm(next, 1).get('x')).toBe('2');
  });

  it('followers woken by a stalled (not dead) leader node go back to sleep when it speaks again: no election', async () => {
    cluster = await MemoryCluster.start({ nodes: 3, tick: 'manual', tuning });
    const groups = 4;
    for (let g = 1; g <= groups; g++) cluster.createGroup(g);
    for (let g = 1; g <= groups; g++) await cluster.waitForLeader(g);
    const hosts = [...cluster.hosts.values()];
    const quiesced = () => hosts.reduce((n, e) => n + e.host.stats.quiescedGroups, 0);
    await cluster.until(() => quiesced() === groups * 3);
    const terms = () =>
      [...cluster!.hosts.keys()].flatMap((id) => [1, 2, 3, 4].map((g) => cluster!.group(id, g).status().term));
    const before = terms();
    // The leader of group 1 stalls: nothing of it reaches the others while they tick past peerDeadTicks (5).
    const stalledId = cluster.leaderOf(1);
    const stalled = cluster.hosts.get(stalledId)!;
    const others = hosts.filter((e) => e !== stalled);
    const ledByStalled = [1, 2, 3, 4].filter((g) => cluster!.leaderOf(g) === stalledId);
    for (const id of cluster.ids) if (id !== stalledId) cluster.hub.cut(stalledId, id);
    for (let t = 0; t < 7; t++) {
      for (const e of others) (e.ticker as ManualTicker).tick();
      await new Promise((r) => setTimeout(r, 1));
    }
    // Its followers elsewhere woke (so did every other group: the others' leaders, then their followers).
    for (const g of ledByStalled) for (const e of others) expect(e.host.isQuiesced(g)).toBe(false);
    // It speaks again (one liveness frame): they sleep again, and stay asleep, with no election.
    cluster.hub.heal();
    (stalled.ticker as ManualTicker).tick();
    await cluster.until(() => quiesced() === groups * 3, { timeoutMs: 5_000 });
    for (let t = 0; t < 60; t++) {
      cluster.tickAll();
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(quiesced()).toBe(groups * 3);
    expect(terms()).toEqual(before);
  });

  it('transfers leadership and changes membership', async () => {
    cluster = await MemoryCluster.start({ nodes: 3, tick: 'manual', tuning });
    cluster.createGroup(1);
    const leader = await cluster.waitForLeader(1);
    await cluster.group(leader, 1).propose(encodePut('a', '1'));
    const target = cluster.ids.find((id) => id !== leader)!;
    const transfer = cluster.group(leader, 1).transferLeadership(target);
    await cluster.until(() => cluster!.leaderOf(1) === target);
    await transfer;
    // A membership change needs an entry of the new leader's term committed first (Raft thesis §4.1 bug fix).
    await cluster.until(() => cluster!.group(target, 1).role === 'leader');
    await cluster.group(target, 1).propose(encodePut('b', '1'));
    const conf = await cluster.group(target, 1).removeVoter(leader);
    expect([...conf.voters].sort()).toEqual(cluster.ids.filter((id) => id !== leader).sort());
    expect(cluster.group(target, 1).confState.voters).toHaveLength(2);
  });

  it('works on file storage and takes snapshots by applied count', async () => {
    cluster = await MemoryCluster.start({ nodes: 3, tick: 'manual', tuning, fileStorage: true });
    cluster.createGroup(1);
    const leader = await cluster.waitForLeader(1);
    const g = cluster.group(leader, 1);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) writes.push(g.propose(encodePut(`k${i}`, `v${i}`)));
    await Promise.all(writes);
    await cluster.until(() => cluster!.ids.every((id) => cluster!.sm(id, 1).map.size === 200));
    expect(g.stats.syncs).toBeLessThan(200);
  });

  it('a follower cut off during compaction catches up through a snapshot after the partition heals', async () => {
    cluster = await MemoryCluster.start({ nodes: 3, tick: 'manual', tuning, fileStorage: true });
    cluster.createGroup(1, cluster.ids, { snapshotEntriesMax: 20, compactLagEntries: 5 });
    const leader = await cluster.waitForLeader(1);
    const lagging = cluster.ids.find((id) => id !== leader)!;
    cluster.hub.isolate(lagging);
    const g = cluster.group(leader, 1);
    for (let i = 0; i < 100; i++) await g.propose(encodePut(`k${i}`, `v${i}`));
    expect(g.storage.firstIndex()).toBeGreaterThan(50); // compacted past what the lagging node has
    cluster.hub.heal();
    await cluster.until(() => cluster!.sm(lagging, 1).map.size === 100);
    expect(cluster.group(lagging, 1).storage.snapshot().meta.index).toBeGreaterThan(0);
    expect(cluster.sm(lagging, 1).get('k99')).toBe('v99');
  });

  it('an isolated leader loses its group; the majority elects and commits; pending writes fail', async () => {
    cluster = await MemoryCluster.start({ nodes: 3, tick: 'manual', tuning, quiesce: false });
    cluster.createGroup(1);
    const old = await cluster.waitForLeader(1);
    await cluster.group(old, 1).propose(encodePut('a', '1'));
    cluster.hub.isolate(old);
    const pending = cluster
      .group(old, 1)
      .propose(encodePut('a', 'lost'))
      .catch((e: Error) => e.name);
    await cluster.until(() => {
      const others = cluster!.ids.filter((id) => id !== old);
      return others.some((id) => cluster!.group(id, 1).role === 'leader');
    });
    const next = cluster.ids.find((id) => id !== old && cluster!.group(id, 1).role === 'leader')!;
    await cluster.group(next, 1).propose(encodePut('a', '2'));
    // Check-quorum deposes the isolated leader; its pending write never commits.
    await cluster.until(() => cluster!.group(old, 1).role !== 'leader');
    expect(['LeadershipLostError', 'RequestTimeoutError']).toContain(await pending);
    cluster.hub.heal();
    await cluster.until(() => cluster!.sm(old, 1).get('a') === '2');
    expect(cluster.ids.every((id) => cluster!.sm(id, 1).get('a') === '2')).toBe(true);
  });

  it('creates and removes groups at runtime; traffic for a removed group is counted, not fatal', async () => {
    cluster = await MemoryCluster.start({ nodes: 3, tick: 'manual', tuning });
    cluster.createGroup(5);
    const leader = await cluster.waitForLeader(5);
    await cluster.group(leader, 5).propose(encodePut('a', '1'));
    const follower = cluster.ids.find((id) => id !== leader)!;
    const fh = cluster.hosts.get(follower)!.host;
    fh.removeGroup(5);
    expect(fh.hasGroup(5)).toBe(false);
    expect(() => fh.group(5)).toThrow(/not hosted/);
    await cluster.hosts.get(leader)!.host.group(5).propose(encodePut('a', '2')); // 2 of 3 still commit
    await cluster.until(() => fh.stats.unknownGroupMessages > 0);
    cluster.createGroup(6);
    await cluster.waitForLeader(6);
  });
});
