/**
 * Five `raftbus node` processes with gossip membership: kill -9 of a broker;
 * gossip declares it dead, the controller moves its replicas to live brokers,
 * each partition leader carries the move out in Raft (learner, promote,
 * remove) and every partition is back to 3 in-sync replicas, with every
 * acknowledged record still readable.
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

function clientOf(c: ProcessCluster): RaftbusClient {
  const client = new RaftbusClient({
    brokers: c.running().map((id) => c.address(id)),
    clientId: 'reassign-test',
    metadataMaxAgeMs: 500,
    retry: { attemptsMax: 100, delayMsMin: 20, delayMsMax: 200 },
  });
  clients.push(client);
  return client;
}

describe('dead broker re-replication (5 processes, gossip)', () => {
  it('kill -9 of a broker: its replicas move to live brokers and every partition is back to 3 in-sync replicas', async () => {
    cluster = await ProcessCluster.start({ nodes: 5, gossip: true });
    const c = cluster;
    await eventually(async () => (await c.metadata(1)).brokers.length === 5 && (await c.metadata(1)).controllerId > 0, {
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    const client = clientOf(c);
    await new Admin(client).createTopics([{ name: 'moves', partitions: 6, replicationFactor: 3 }]);
    const producer = new Producer(client, { acks: 'quorum', lingerMs: 2 });
    const total = 600;
    await Promise.all(
      Array.from({ length: total }, (_, i) => producer.send('moves', { partition: i % 6, value: `r${i}` })),
    );
    await producer.close();

    const meta = await c.metadata(1, ['moves']);
    const controller = meta.controllerId;
    // The busiest broker that does not lead the controller (its clocks keep running through the test).
    const load = new Map<number, number>();
    for (const p of meta.topics[0]!.partitions) for (const r of p.replicas) load.set(r, (load.get(r) ?? 0) + 1);
    const victim = [...load].filter(([id]) => id !== controller).sort((a, b) => b[1] - a[1])[0]![0];
    await c.kill9(victim);

    await eventually(
      async () => {
        const survivor = c.running()[0]!;
        const t = (await c.metadata(survivor, ['moves'])).topics[0]!;
        for (const p of t.partitions) {
          if (p.replicas.includes(victim) || p.replicas.length !== 3 || p.leader <= 0) return false;
          if (!c.running().includes(p.leader)) return false;
          // The leader's own view: its group holds exactly the 3 assigned replicas, all in sync.
          const fromLeader = (await c.metadata(p.leader, ['moves'])).topics[0]!.partitions[p.partition]!;
          if (fromLeader.isr.length !== 3 || fromLeader.isr.includes(victim)) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );

    const values = new Set<string>();
    const consumer = new Consumer(clientOf(c), { topic: 'moves', from: 'earliest' });
    const decoder = new TextDecoder();
    for await (const r of consumer.records({ signal: AbortSignal.timeout(20_000) })) {
      values.add(decoder.decode(r.value));
      if (values.size >= total) break;
    }
    expect(values.size).toBe(total);
  }, 60_000);
});
