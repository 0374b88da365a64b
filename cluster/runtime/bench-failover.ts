/**
 * Failover time of a replicated partition, measured from outside: 3 node
 * processes (cluster mode), one partition RF 3, a producer sending one record
 * at a time (acks quorum, idempotent); each round kills -9 the partition
 * leader, then restarts it. Failover = the longest gap between consecutive
 * acknowledgements around the kill. Prints each round, the median and the max.
 *
 *   npx node cluster/runtime/bench-failover.ts [rounds=10]
 */
import { Admin } from '../../client/admin.ts';
import { RaftbusClient } from '../../client/client.ts';
import { Producer } from '../../client/producer.ts';
import { eventually } from '../../client/test-support/eventually.ts';
import { ProcessCluster } from '../../test/cluster/process-cluster.ts';

const rounds = Number(process.argv[2] ?? 10);
const ROUND_RECORDS_MAX = 100_000;
const cluster = await ProcessCluster.start({ nodes: 3 });
const gaps: number[] = [];
try {
  await eventually(async () => (await cluster.metadata(1)).brokers.length === 3, { timeoutMs: 20_000 });
  const client = new RaftbusClient({
    brokers: cluster.ids.map((id) => cluster.address(id)),
    metadataMaxAgeMs: 200,
    retry: { attemptsMax: 1000, delayMsMin: 5, delayMsMax: 50 },
  });
  await new Admin(client).createTopics([{ name: 'failover', partitions: 1, replicationFactor: 3 }]);
  const producer = new Producer(client, { acks: 'quorum', lingerMs: 0, idempotent: true, deliveryTimeoutMs: 30_000 });
  for (let round = 0; round < rounds; round++) {
    const leader = await eventually(async () => {
      const p = (await cluster.metadata(cluster.running()[0]!, ['failover'])).topics[0]?.partitions[0];
      return p && p.leader > 0 && p.isr.length === 3 ? p.leader : 0;
    });
    let last = performance.now();
    let gap = 0;
    let killedAt = 0;
    for (let i = 0; i < ROUND_RECORDS_MAX; i++) {
      await producer.send('failover', { partition: 0, value: `r${round}-${i}` });
      const now = performance.now();
      if (killedAt > 0) gap = Math.max(gap, now - last);
      last = now;
      if (i === 200) {
        killedAt = performance.now();
        last = killedAt;
        await cluster.kill9(leader);
      }
      if (killedAt > 0 && now - killedAt > 3000) break;
    }
    gaps.push(gap);
    process.stdout.write(`round ${round + 1}: killed leader ${leader}, longest ack gap ${gap.toFixed(0)} ms\n`);
    await cluster.startNode(leader);
  }
  await producer.close();
  await client.close();
} finally {
  await cluster.stop();
}
const sorted = [...gaps].sort((a, b) => a - b);
const median = sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
process.stdout.write(
  `failover over ${gaps.length} leader kills: median ${median.toFixed(0)} ms, max ${(sorted.at(-1) ?? 0).toFixed(0)} ms\n`,
);
