/**
 * Cluster mode end to end: three `raftbus node` processes on loopback with a
 * static peer list. The controller elects; topics created through any node
 * reach every node's metadata; the controller survives kill -9 of its
 * leader; a 3-replica partition keeps every acknowledged record (acks quorum,
 * idempotent producer) across kill -9 of its leader, read back from the new one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Admin } from '../../client/admin.ts';
import { RaftbusClient } from '../../client/client.ts';
import { Consumer } from '../../client/consumer.ts';
import { Producer } from '../../client/producer.ts';
import { eventually } from '../../client/test-support/eventually.ts';
import { ProcessCluster } from './process-cluster.ts';

let cluster: ProcessCluster | undefined;
const clients: RaftbusClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  await cluster?.stop();
  cluster = undefined;
});

function clientOf(c: ProcessCluster, ids: number[]): RaftbusClient {
  const client = new RaftbusClient({
    brokers: ids.map((id) => c.address(id)),
    clientId: 'cluster-test',
    metadataMaxAgeMs: 500,
    retry: { attemptsMax: 100, delayMsMin: 20, delayMsMax: 200 },
  });
  clients.push(client);
  return client;
}

/** The controller leader every running node agrees on (itself running: a dead leader is only remembered). */
async function controllerLeader(c: ProcessCluster): Promise<number> {
  return eventually(
    async () => {
      const ids = await Promise.all(c.running().map(async (id) => (await c.metadata(id)).controllerId));
      const [first] = ids;
      const agreed = first !== undefined && ids.every((x) => x === first);
      return agreed && c.running().includes(first) ? first : 0;
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
}

async function registered(c: ProcessCluster, count: number): Promise<void> {
  await eventually(
    async () => {
      for (const id of c.running()) if ((await c.metadata(id)).brokers.length < count) return false;
      return true;
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
}

/** Every running node's metadata lists the topic with `partitions` partitions of `rf` replicas, each with a leader. */
async function visibleEverywhere(c: ProcessCluster, topic: string, partitions: number, rf: number): Promise<void> {
  await eventually(
    async () => {
      for (const id of c.running()) {
        const t = (await c.metadata(id, [topic])).topics[0];
        if (!t || t.error || t.partitions.length !== partitions) return false;
        if (!t.partitions.every((p) => new Set(p.replicas).size === rf && p.leader > 0)) return false;
      }
      return true;
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
}

describe('raftbus node in cluster mode (3 processes)', () => {
  it('elects a controller; topics created through any node appear in every node; survives kill -9 of the controller leader', async () => {
    cluster = await ProcessCluster.start({ nodes: 3 });
    const leader = await controllerLeader(cluster);
    await registered(cluster, 3);
    // Through a node that does NOT lead the controller: the request is forwarded to the leader.
    const follower = cluster.ids.find((id) => id !== leader)!;
    await new Admin(clientOf(cluster, [follower])).createTopics([
      { name: 'orders', partitions: 6, replicationFactor: 3 },
    ]);
    await visibleEverywhere(cluster, 'orders', 6, 3);
    const meta = await cluster.metadata(follower, ['orders']);
    // Placement spreads the preferred replicas over the three brokers.
    expect(new Set(meta.topics[0]!.partitions.map((p) => p.replicas[0])).size).toBe(3);
    expect(meta.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);

    await cluster.kill9(leader);
    const next = await controllerLeader(cluster);
    expect(next).not.toBe(leader);
    const other = cluster.running().find((id) => id !== next)!;
    await new Admin(clientOf(cluster, [other])).createTopics([{ name: 'after', partitions: 2, replicationFactor: 2 }]);
    await visibleEverywhere(cluster, 'after', 2, 2);
    // Nothing committed before the kill was lost.
    expect((await cluster.metadata(other, ['orders'])).topics[0]!.error ?? null).toBeNull();
  }, 60_000);

  it('acks quorum through an idempotent producer: kill -9 of the partition leader mid-run loses and duplicates nothing; the restarted node rejoins the ISR, the preferred replica leads again; /metrics shows it', async () => {
    cluster = await ProcessCluster.start({ nodes: 3 });
    await controllerLeader(cluster);
    await registered(cluster, 3);
    const client = clientOf(cluster, cluster.ids);
    await new Admin(client).createTopics([{ name: 'events', partitions: 1, replicationFactor: 3 }]);
    await visibleEverywhere(cluster, 'events', 1, 3);
    const producer = new Producer(client, { acks: 'quorum', idempotent: true, lingerMs: 2, deliveryTimeoutMs: 30_000 });
    const total = 3000;
    const acked: Promise<unknown>[] = [];
    let victim = -1;
    for (let i = 0; i < total; i++) {
      acked.push(producer.send('events', { partition: 0, value: `v${i}` }));
      if (i === total / 2) {
        // Mid-run: records before this are in flight or acknowledged, the rest not yet sent.
        await Promise.all(acked.slice(0, total / 4));
        victim = (await cluster.metadata(cluster.ids[0]!, ['events'])).topics[0]!.partitions[0]!.leader;
        await cluster.kill9(victim);
      }
      if (i % 100 === 99) await Promise.resolve();
    }
    await Promise.all(acked);
    await producer.close();
    expect(victim).toBeGreaterThan(0);

    const survivor = cluster.running()[0]!;
    const newLeader = (await cluster.metadata(survivor, ['events'])).topics[0]!.partitions[0]!.leader;
    expect(newLeader).not.toBe(victim);
    const reader = clientOf(cluster, cluster.running());
    const values: string[] = [];
    const consumer = new Consumer(reader, { topic: 'events', from: 'earliest' });
    const decoder = new TextDecoder();
    for await (const r of consumer.records({ signal: AbortSignal.timeout(20_000) })) {
      values.push(decoder.decode(r.value));
      if (values.length >= total) break;
    }
    expect(values.length).toBe(total);
    expect(values).toEqual(Array.from({ length: total }, (_, i) => `v${i}`));

    // The killed node restarts from its data dir, catches up and, as the preferred replica of
    // nothing here (RF 3 of 1 partition: replicas[0] decides), rejoins the in-sync set.
    await cluster.startNode(victim);
    const leaderNow = (await cluster.metadata(survivor, ['events'])).topics[0]!.partitions[0]!;
    await eventually(
      async () => {
        const p = (await cluster!.metadata(victim, ['events'])).topics[0]!.partitions[0]!;
        const fromLeader = (await cluster!.metadata(p.leader > 0 ? p.leader : leaderNow.leader, ['events'])).topics[0]!
          .partitions[0]!;
        return fromLeader.isr.length === 3 && fromLeader.isr.includes(victim);
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    const preferred = leaderNow.replicas[0]!;
    await eventually(
      async () => (await cluster!.metadata(victim, ['events'])).topics[0]!.partitions[0]!.leader === preferred,
      {
        timeoutMs: 15_000,
        intervalMs: 100,
      },
    );
    // The victim may learn of the new term before the preferred node's own gauge is scraped: wait for the gauge.
    const metrics = await eventually(
      async () => {
        const text = await cluster!.metricsText(preferred);
        return /raftbus_partitions_led\{node="\d+"\} 1/.test(text) ? text : null;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(metrics).toMatch(/raftbus_partitions_led\{node="\d+"\} 1/);
    expect(metrics).toMatch(/raftbus_raft_term\{group="1",kind="controller"/);
    expect(metrics).toMatch(/raftbus_raft_sync_seconds_count\{node="\d+",kind="partition"\} [1-9]/);
    // Produced records were counted by whichever node led while the producer ran.
    const texts = await Promise.all(cluster.running().map((id) => cluster!.metricsText(id)));
    expect(texts.some((t) => /raftbus_produced_records_total\{node="\d+"\} [1-9]/.test(t))).toBe(true);
  }, 60_000);
});
