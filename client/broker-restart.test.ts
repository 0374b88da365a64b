/**
 * One client process, a 3-node cluster of real node processes: while a
 * producer and a consumer run, the partition leader is killed -9 and
 * restarted (on a new client port). Nothing may reach the host process as an
 * unhandled rejection or an uncaught exception, every acknowledged record is
 * read back, and the client finds the node again at its new address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster } from '../test/cluster/process-cluster.ts';
import { Admin } from './admin.ts';
import { RaftbusClient } from './client.ts';
import { Consumer } from './consumer.ts';
import { Producer } from './producer.ts';
import { eventually } from './test-support/eventually.ts';

const TOPIC = 'restart';
/** Bounds of the load loop: records, and wall time. */
const RECORDS_MAX = 5_000;
const LOAD_MS_MAX = 60_000;

let cluster: ProcessCluster;
let client: RaftbusClient;
const failures: unknown[] = [];
const onFailure = (err: unknown): void => {
  failures.push(err);
};

beforeAll(async () => {
  process.on('unhandledRejection', onFailure);
  process.on('uncaughtException', onFailure);
  cluster = await ProcessCluster.start({ nodes: 3 });
  await eventually(async () => (await cluster.metadata(1)).brokers.length === 3, { timeoutMs: 20_000 });
  client = new RaftbusClient({ brokers: cluster.ids.map((id) => cluster.address(id)) });
  await new Admin(client).createTopics([{ name: TOPIC, partitions: 1, replicationFactor: 3 }]);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
  process.off('unhandledRejection', onFailure);
  process.off('uncaughtException', onFailure);
});

/** The partition's leader once all three replicas are in sync (asked of a running node). */
async function syncedLeader(): Promise<number> {
  return eventually(
    async () => {
      const id = cluster.running()[0]!;
      const p = (await cluster.metadata(id, [TOPIC])).topics[0]?.partitions[0];
      return p && p.leader > 0 && p.isr.length === 3 ? p.leader : 0;
    },
    { timeoutMs: 30_000 },
  );
}

describe('a broker killed -9 and restarted under a running producer and consumer', () => {
  it('crashes nothing in the client process and loses no acknowledged record', async () => {
    const producer = new Producer(client, { acks: 'quorum', lingerMs: 0, idempotent: true });
    const consumer = new Consumer(client, { topic: TOPIC, from: 'earliest', maxWaitMs: 100 });
    const stopConsumer = new AbortController();
    const seen = new Set<string>();
    const consuming = (async () => {
      for await (const r of consumer.records({ signal: stopConsumer.signal })) {
        seen.add(Buffer.from(r.value ?? new Uint8Array()).toString());
      }
    })();

    const acked: string[] = [];
    let phase: 'before' | 'down' | 'restarted' = 'before';
    let ackedAfterRestart = 0;
    let victim = 0;
    const startedMs = Date.now();
    for (let i = 0; i < RECORDS_MAX && Date.now() - startedMs < LOAD_MS_MAX; i++) {
      const value = `v${i}`;
      await producer.send(TOPIC, { partition: 0, value });
      acked.push(value);
      if (phase === 'restarted' && ++ackedAfterRestart >= 50) break;
      if (phase === 'before' && i === 50) {
        victim = await syncedLeader();
        await cluster.kill9(victim);
        phase = 'down';
      } else if (phase === 'down' && i === 100) {
        await cluster.startNode(victim);
        phase = 'restarted';
      }
    }
    expect(phase).toBe('restarted');
    expect(ackedAfterRestart).toBe(50);

    // The restarted node rejoins; its new address reaches the client through metadata.
    await syncedLeader();
    const restartedAddress = cluster.address(victim);
    await eventually(
      async () => {
        await client.refreshMetadata(null);
        const link = await client.linkFor(victim);
        await link.get();
        return link.address === restartedAddress;
      },
      { timeoutMs: 20_000 },
    );

    await eventually(() => acked.every((v) => seen.has(v)), { timeoutMs: 20_000 });
    stopConsumer.abort();
    await consuming;
    await producer.close();
    // Rejections surface after a macrotask turn: let any that are pending be reported before asserting.
    await new Promise((r) => setTimeout(r, 50));
    expect(failures).toEqual([]);
  }, 120_000);
});
