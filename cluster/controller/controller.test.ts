import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, RaftbusError } from '../../node/protocol/errors.ts';
import { MemoryCluster } from '../raft/multiraft/memory-cluster.ts';
import type { NodeId } from '../raft/types.ts';
import { ControllerOp } from './commands.ts';
import { Controller } from './controller.ts';
import { ControllerStoppedError } from './errors.ts';
import { CONTROLLER_GROUP_ID } from './limits.ts';
import { StaticMembership } from './membership-source.ts';
import type { MetadataImage } from './metadata.ts';
import { ControllerReconciler } from './reconciler.ts';
import type { ControllerStateMachine } from './state-machine.ts';

const tuning = { electionTicks: 10, heartbeatTicks: 1 };
const G = CONTROLLER_GROUP_ID;

interface Env {
  cluster: MemoryCluster;
  controllers: Map<NodeId, Controller>;
  reconcilers: ControllerReconciler[];
}

let env: Env | undefined;

afterEach(async () => {
  if (!env) return;
  for (const r of env.reconcilers) await r.stop();
  for (const c of env.controllers.values()) c.stop();
  await env.cluster.close();
  env = undefined;
});

async function start(o: { fileStorage?: boolean; snapshotEntriesMax?: number } = {}): Promise<Env> {
  const cluster = await MemoryCluster.start({
    nodes: 3,
    tick: 5,
    tuning,
    ...(o.fileStorage ? { fileStorage: true } : {}),
  });
  env = { cluster, controllers: new Map(), reconcilers: [] };
  for (const id of cluster.ids) startController(env, id, o.snapshotEntriesMax);
  return env;
}

function startController(e: Env, id: NodeId, snapshotEntriesMax = 10_000): Controller {
  const c = new Controller({
    host: e.cluster.hosts.get(id)!.host,
    storage: e.cluster.storageFor(id, G, e.cluster.ids),
    group: { snapshotEntriesMax, compactLagEntries: 2 },
  });
  c.start();
  e.controllers.set(id, c);
  return c;
}

async function leader(e: Env, not?: NodeId): Promise<Controller> {
  let found: Controller | undefined;
  await e.cluster.until(() => {
    found = [...e.controllers.entries()].find(([id, c]) => id !== not && c.isLeader)?.[1];
    return found !== undefined;
  });
  return found!;
}

function register(c: Controller, nodeId: NodeId, rack = '') {
  return c.propose({
    op: ControllerOp.RegisterBroker,
    nodeId,
    host: '127.0.0.1',
    port: 9000 + nodeId,
    raftHost: '127.0.0.1',
    raftPort: 7000 + nodeId,
    rack,
    incarnation: 1,
  });
}

/** The image's bytes (the state machine's own snapshot encoding) for equality across nodes. */
function bytesOf(m: MetadataImage): Uint8Array {
  return (m as ControllerStateMachine).snapshot();
}

async function converged(e: Env, ids: NodeId[] = [...e.controllers.keys()]): Promise<void> {
  await e.cluster.until(() => {
    const images = ids.map((id) => bytesOf(e.controllers.get(id)!.metadata));
    return images.every((b) => Buffer.compare(b, images[0]!) === 0);
  });
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

describe('Controller on an in-process 3-node cluster', () => {
  it('creates topics on the leader; every node applies the same metadata; followers say NOT_CONTROLLER', async () => {
    const e = await start();
    const l = await leader(e);
    const follower = [...e.controllers.values()].find((c) => !c.isLeader)!;
    const seen: number[] = [];
    follower.onChange((c) => seen.push(c.epoch));
    for (const id of e.cluster.ids) await register(l, id);
    const created = await l.createTopic({ name: 'orders', partitions: 6, replicationFactor: 3 });
    expect(created.value.groupIds).toHaveLength(6);
    await converged(e);
    for (const c of e.controllers.values()) {
      const t = c.metadata.topics.get('orders')!;
      expect(t.partitions.map((p) => new Set(p.replicas).size)).toEqual([3, 3, 3, 3, 3, 3]);
      // Leaders spread: each broker prefers two of the six partitions.
      expect(new Set(t.partitions.map((p) => p.replicas[0])).size).toBe(3);
    }
    expect(seen).toEqual([1, 2, 3, 4]); // the change event fires on followers too, once per change
    const err = await rejection(register(follower, 9));
    expect(err).toBeInstanceOf(RaftbusError);
    expect((err as RaftbusError).code).toBe(ErrorCode.NOT_CONTROLLER.code);
    expect((err as RaftbusError).details.leader).toBe(l.leaderId);
    // A follower's read is linearizable: it sees what the leader committed.
    await l.propose({ op: ControllerOp.AllocateProducerIds, count: 10 });
    expect((await follower.read()).nextProducerId).toBe(11);
    const dup = await rejection(l.createTopic({ name: 'orders', partitions: 1, replicationFactor: 1 }));
    expect((dup as RaftbusError).code).toBe(ErrorCode.TOPIC_ALREADY_EXISTS.code);
    const rf = await rejection(l.createTopic({ name: 'big', partitions: 1, replicationFactor: 4 }));
    expect((rf as RaftbusError).code).toBe(ErrorCode.INVALID_REPLICATION_FACTOR.code);
  });

  it('controller leader killed: a new leader serves proposals and nothing committed is lost', async () => {
    const e = await start();
    const first = await leader(e);
    for (const id of e.cluster.ids) await register(first, id);
    for (let i = 0; i < 5; i++) await first.createTopic({ name: `t${i}`, partitions: 3, replicationFactor: 3 });
    const epoch = first.metadata.epoch;
    const dead = e.cluster.ids.find((id) => e.controllers.get(id) === first)!;
    await e.cluster.stopHost(dead);
    e.controllers.delete(dead);
    const next = await leader(e);
    expect(next).not.toBe(first);
    const image = await next.read();
    expect(image.epoch).toBeGreaterThanOrEqual(epoch);
    for (let i = 0; i < 5; i++) expect(image.topics.has(`t${i}`)).toBe(true);
    await next.createTopic({ name: 'after', partitions: 2, replicationFactor: 2 });
    await converged(e);
    expect([...e.controllers.values()].every((c) => c.metadata.topics.has('after'))).toBe(true);
  });

  it('controller leader isolated: the majority elects and proceeds, the old leader cannot commit, then catches up', async () => {
    const e = await start();
    const old = await leader(e);
    const oldId = e.cluster.ids.find((id) => e.controllers.get(id) === old)!;
    for (const id of e.cluster.ids) await register(old, id);
    await old.createTopic({ name: 'before', partitions: 2, replicationFactor: 3 });
    e.cluster.hub.isolate(oldId);
    const next = await leader(e, oldId);
    await next.createTopic({ name: 'during', partitions: 2, replicationFactor: 3 });
    // The cut-off leader either knows it no longer leads or cannot get a quorum: never a success.
    const err = await rejection(
      old.propose({ op: ControllerOp.AllocateProducerIds, count: 1 }, { signal: AbortSignal.timeout(2000) }),
    );
    expect(err).toBeInstanceOf(Error);
    e.cluster.hub.heal();
    await converged(e);
    expect(old.metadata.topics.has('during')).toBe(true);
    expect(old.metadata.nextProducerId).toBe(next.metadata.nextProducerId);
    expect(old.isLeader && next.isLeader).toBe(false);
  });

  it('a restarted node restores the controller snapshot and replays the log to the same image', async () => {
    const e = await start({ fileStorage: true, snapshotEntriesMax: 4 });
    const l = await leader(e);
    for (const id of e.cluster.ids) await register(l, id);
    const victim = e.cluster.ids.find((id) => e.controllers.get(id) !== l)!;
    for (let i = 0; i < 4; i++) await l.createTopic({ name: `a${i}`, partitions: 2, replicationFactor: 2 });
    await converged(e);
    // The victim's own disk holds a snapshot: its restart goes through restore().
    expect(e.cluster.group(victim, G).storage.snapshot().meta.index).toBeGreaterThan(0);
    const stopped = e.controllers.get(victim)!;
    stopped.stop();
    expect(() => stopped.start()).toThrow(ControllerStoppedError);
    await expect(stopped.read()).rejects.toThrow(ControllerStoppedError);
    e.controllers.delete(victim);
    await e.cluster.stopHost(victim);
    for (let i = 0; i < 6; i++) await l.createTopic({ name: `b${i}`, partitions: 1, replicationFactor: 2 });
    await e.cluster.startHost(victim);
    const back = startController(e, victim, 4);
    await converged(e);
    expect(back.metadata.topics.size).toBe(10);
    expect(e.cluster.group(victim, G).stats.snapshots + e.cluster.group(l.leaderId, G).stats.snapshots).toBeGreaterThan(
      0,
    );
  });
});

describe('Controller history under leader crashes', () => {
  it('every acknowledged change survives repeated leader kills; certainly-failed ones never appear', async () => {
    const e = await start({ fileStorage: true, snapshotEntriesMax: 8 });
    const first = await leader(e);
    for (const id of e.cluster.ids) await register(first, id);
    const acked = new Set<string>();
    const failed = new Set<string>(); // NOT_CONTROLLER: certainly not appended
    const unknown = new Set<string>(); // leadership lost / timeout: may or may not be there
    let seq = 0;
    let writing = true;
    const writer = (async () => {
      // Bounded in count and time: at most 400 attempts, each with its own 2 s budget.
      for (let i = 0; writing && i < 400; i++) {
        const c = [...e.controllers.values()].find((x) => x.isLeader);
        if (!c) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        const name = `w${seq++}`;
        try {
          await c.propose(
            {
              op: ControllerOp.CreateTopic,
              name,
              partitions: 1,
              replicationFactor: 1,
              config: {},
              assignment: [[1 + (seq % 3)]],
            },
            { signal: AbortSignal.timeout(2000) },
          );
          acked.add(name);
        } catch (err) {
          if (err instanceof RaftbusError && err.code === ErrorCode.NOT_CONTROLLER.code) failed.add(name);
          else unknown.add(name);
        }
      }
    })();
    for (let round = 0; round < 3; round++) {
      const before = acked.size;
      await e.cluster.until(() => acked.size >= before + 10);
      const l = await leader(e);
      const id = e.cluster.ids.find((x) => e.controllers.get(x) === l)!;
      l.stop();
      e.controllers.delete(id);
      await e.cluster.stopHost(id);
      await leader(e);
      await e.cluster.startHost(id);
      startController(e, id, 8);
    }
    const settled = acked.size;
    await e.cluster.until(() => acked.size >= settled + 10);
    writing = false;
    await writer;
    await converged(e);
    for (const c of e.controllers.values()) {
      const topics = c.metadata.topics;
      for (const name of acked) expect(topics.has(name), name).toBe(true);
      for (const name of failed) expect(topics.has(name), name).toBe(false);
      for (const name of topics.keys()) expect(acked.has(name) || unknown.has(name), name).toBe(true);
    }
    expect(acked.size).toBeGreaterThanOrEqual(40);
  });
});

describe('ControllerReconciler', () => {
  it('moves the replicas of a broker dead longer than the threshold, on the leader only', async () => {
    const e = await start();
    const l = await leader(e);
    for (const id of [1, 2, 3, 4]) await register(l, id);
    await l.createTopic({ name: 'orders', partitions: 8, replicationFactor: 3 });
    const onFour = () => l.metadata.topics.get('orders')!.partitions.filter((p) => p.replicas.includes(4));
    expect(onFour().length).toBeGreaterThan(0);
    const membership = new StaticMembership();
    let now = 10_000;
    for (const id of [1, 2, 3, 4]) membership.set(id, 'alive', 0);
    for (const c of e.controllers.values()) {
      const r = new ControllerReconciler({
        controller: c,
        membership,
        deadBrokerReassignAfterMs: 1000,
        nowMs: () => now,
        checkIntervalMs: 10,
      });
      e.reconcilers.push(r);
      r.start();
    }
    const leaderRec = e.reconcilers[[...e.controllers.values()].indexOf(l)]!;
    membership.set(4, 'dead', now);
    now += 500; // dead, but not for long enough
    const passes = leaderRec.stats.passes;
    await e.cluster.until(() => leaderRec.stats.passes >= passes + 3);
    expect(leaderRec.stats.movesProposed).toBe(0);
    expect(onFour().length).toBeGreaterThan(0);
    now += 600;
    await e.cluster.until(() => onFour().length === 0);
    await converged(e);
    for (const c of e.controllers.values()) {
      for (const p of c.metadata.topics.get('orders')!.partitions) {
        expect(p.replicas).toHaveLength(3);
        expect([...p.replicas].sort()).toEqual([1, 2, 3]);
      }
    }
    expect(leaderRec.stats.movesApplied).toBeGreaterThan(0);
    expect(e.reconcilers.filter((r) => r !== leaderRec).every((r) => r.stats.movesProposed === 0)).toBe(true);
    const moved = l.metadata.topics.get('orders')!.partitions.filter((p) => p.epoch === 1).length;
    expect(moved).toBe(leaderRec.stats.movesApplied);
  });

  it('reports partitions it cannot repair (no spare broker) and proposes nothing for them', async () => {
    const e = await start();
    const l = await leader(e);
    for (const id of [1, 2, 3]) await register(l, id);
    await l.createTopic({ name: 'full', partitions: 4, replicationFactor: 3 });
    const membership = new StaticMembership();
    membership.set(1, 'alive', 0);
    membership.set(2, 'alive', 0);
    membership.set(3, 'dead', 0);
    const r = new ControllerReconciler({ controller: l, membership, deadBrokerReassignAfterMs: 0, nowMs: () => 1 });
    e.reconcilers.push(r);
    const result = await r.reconcileNow();
    expect(result).toEqual({ proposed: 0, applied: 0 });
    expect(r.stats.stuckPartitions).toBe(4);
    const follower = [...e.controllers.values()].find((c) => !c.isLeader)!;
    const idle = new ControllerReconciler({ controller: follower, membership, deadBrokerReassignAfterMs: 0 });
    expect(await idle.reconcileNow()).toEqual({ skipped: 'not-leader', proposed: 0, applied: 0 });
    await r.stop(); // never started: stop() is a no-op, passes still run by hand
    expect((await r.reconcileNow()).skipped).toBeUndefined();
  });
});
