/**
 * Failover time of a replicated partition, measured from outside: per round,
 * a fresh cluster of 3 node processes (cluster mode), one partition RF 3, a
 * producer sending one record at a time (acks quorum, idempotent, the
 * client's DEFAULT retry and reconnect settings); after 200 records the
 * partition leader is killed -9.
 * Failover = the longest gap between consecutive acknowledgements after the
 * kill (which includes the client noticing, the election and the new
 * leader's catch-up read). Prints each round, the median, p99 and the max.
 * Before the client failed fast on a dead node's link, the defaults gave
 * 1.1-2.1 s (the producer waited out the dead leader's reconnect backoff).
 *
 *   npx node cluster/runtime/bench-failover.ts [rounds=5]
 *
 * A fresh cluster per round, so every round starts from three in-sync
 * replicas. (Killing and restarting a node under one client process is
 * covered by client/broker-restart.test.ts.)
 */
import { Admin } from '../../client/admin.ts';
import { RaftbusClient } from '../../client/client.ts';
import { Producer } from '../../client/producer.ts';
import { eventually } from '../../client/test-support/eventually.ts';
import { ProcessCluster } from '../../test/cluster/process-cluster.ts';

const rounds = Number(process.argv[2] ?? 5);
const RECORDS_BEFORE_KILL = 200;
const WATCH_AFTER_KILL_MS = 3000;
const ROUND_RECORDS_MAX = 100_000;

async function round(n: number): Promise<number> {
  const cluster = await ProcessCluster.start({ nodes: 3 });
  const client = new RaftbusClient({
    brokers: cluster.ids.map((id) => cluster.address(id)),
    // The client's default metadata age, retry and reconnect settings: the figure is what users get.
  });
  try {
    await eventually(async () => (await cluster.metadata(1)).brokers.length === 3, { timeoutMs: 20_000 });
    await new Admin(client).createTopics([{ name: 'failover', partitions: 1, replicationFactor: 3 }]);
    const producer = new Producer(client, { acks: 'quorum', lingerMs: 0, idempotent: true, deliveryTimeoutMs: 30_000 });
    let last = 0;
    let gap = 0;
    let killedAt = 0;
    let leader = 0;
    for (let i = 0; i < ROUND_RECORDS_MAX; i++) {
      await producer.send('failover', { partition: 0, value: `r${n}-${i}` });
      const now = performance.now();
      if (killedAt > 0) gap = Math.max(gap, now - last);
      last = now;
      if (i === RECORDS_BEFORE_KILL) {
        leader = await eventually(async () => {
          const p = (await cluster.metadata(1, ['failover'])).topics[0]?.partitions[0];
          return p && p.leader > 0 && p.isr.length === 3 ? p.leader : 0;
        });
        // The metadata round trip is not part of the failover: start the clock at the kill.
        killedAt = performance.now();
        last = killedAt;
        await cluster.kill9(leader);
      }
      if (killedAt > 0 && now - killedAt > WATCH_AFTER_KILL_MS) break;
    }
    await producer.close();
    process.stdout.write(`round ${n}: killed leader ${leader}, longest ack gap ${gap.toFixed(0)} ms\n`);
    return gap;
  } finally {
    await client.close();
    await cluster.stop();
  }
}

const gaps: number[] = [];
for (let n = 1; n <= rounds; n++) gaps.push(await round(n));
const sorted = [...gaps].sort((a, b) => a - b);
const median = sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
// Nearest-rank p99: with fewer than 100 rounds this is the max.
const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)] ?? 0;
process.stdout.write(
  `failover over ${gaps.length} leader kills: median ${median.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${(sorted.at(-1) ?? 0).toFixed(0)} ms\n`,
);
