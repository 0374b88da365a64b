/**
 * The client's routing against a real 3-node cluster started by the local
 * launcher: kill -9 the node leading most partitions while an idempotent
 * producer runs; every send resolves, every record is stored exactly once,
 * in per-key order, at the offset its send reported. The killed node then
 * restarts, registers again, catches up and takes back the leadership of the
 * partitions whose preferred leader it is (issue #4's first two acceptance checks).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from '../../client/admin.ts';
import { RaftbusClient } from '../../client/client.ts';
import { Consumer } from '../../client/consumer.ts';
import { Producer, type RecordMetadata } from '../../client/producer.ts';
import { eventually } from '../../client/test-support/eventually.ts';
import { detectMode, type LocalCluster, startLocalCluster } from '../local.ts';

const clustered = detectMode() === 'cluster';
const recordsTotal = 200_000;
const keysTotal = 600;

let dir: string;
let cluster: LocalCluster | null = null;

beforeAll(async () => {
  if (!clustered) return;
  dir = mkdtempSync(join(tmpdir(), 'raftbus-failover-'));
  cluster = await startLocalCluster({ nodes: 3, basePort: 0, dataDir: dir, onNodeExit: 'keep-running' });
});
afterAll(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.runIf(clustered)('client failover on a real cluster', () => {
  it('kill -9 of the busiest leader mid-run: no error, every record once and in order; the node comes back and leads again', async () => {
    const c = cluster!;
    const client = new RaftbusClient({ brokers: c.nodes.map((n) => n.client) });
    try {
      await client.connect();
      await new Admin(client).createTopics([{ name: 'failover', partitions: 6, replicationFactor: 3 }]);
      const info = await client.topic('failover', { refresh: true });
      const led = new Map<number, number>();
      for (const p of info.partitions) led.set(p.leader, (led.get(p.leader) ?? 0) + 1);
      const victim = [...led].sort((a, b) => b[1] - a[1])[0]![0];
      expect(victim).toBeGreaterThan(0);

      const producer = new Producer(client, { lingerMs: 2 });
      const sends: Promise<RecordMetadata>[] = [];
      let killed: Promise<void> | null = null;
      for (let i = 0; i < recordsTotal; i++) {
        const send = producer.send('failover', { key: `k${i % keysTotal}`, value: String(i) });
        send.catch(() => {}); // judged below, all together
        sends.push(send);
        if (i === recordsTotal / 2) killed = c.kill(victim);
        if (i % 500 === 0) await new Promise((r) => setTimeout(r, 2)); // let records flow while sending
      }
      const results = await Promise.allSettled(sends);
      const failures = results.filter((r) => r.status === 'rejected');
      expect(failures.map((f) => String((f as PromiseRejectedResult).reason)).slice(0, 3)).toEqual([]);
      expect(producer.idempotent).toBe(true);
      await producer.close();
      await killed;

      // Read everything back from the survivors.
      const consumer = new Consumer(client, { topic: 'failover', from: 'earliest' });
      const offsetOf = new Map<number, string>();
      const lastByKey = new Map<number, number>();
      let duplicates = 0;
      let outOfOrder = 0;
      for await (const r of consumer.records({ signal: AbortSignal.timeout(30_000) })) {
        const v = Number(Buffer.from(r.value).toString());
        if (offsetOf.has(v)) duplicates++;
        offsetOf.set(v, `${r.partition}/${r.offset}`);
        const k = v % keysTotal;
        if ((lastByKey.get(k) ?? -1) > v) outOfOrder++;
        lastByKey.set(k, v);
        if (offsetOf.size === recordsTotal) break;
      }
      expect({ records: offsetOf.size, duplicates, outOfOrder }).toEqual({
        records: recordsTotal,
        duplicates: 0,
        outOfOrder: 0,
      });
      for (let i = 0; i < recordsTotal; i += 997) {
        const m = (results[i] as PromiseFulfilledResult<RecordMetadata>).value;
        expect(offsetOf.get(i)).toBe(`${m.partition}/${m.offset}`);
      }

      await c.restart(victim);
      const health = (await (await fetch(c.nodes.find((n) => n.nodeId === victim)!.healthUrl)).json()) as {
        status: string;
        cluster?: { registered?: boolean };
      };
      expect(health).toMatchObject({ status: 'ok', cluster: { registered: true } });

      // Rebalancing: the victim is the preferred (first) replica of some partitions and leads them again,
      // which it can only do once caught up (a Raft leader holds every committed entry).
      const preferred = info.partitions.filter((p) => p.replicas[0] === victim).map((p) => p.partition);
      expect(preferred.length).toBeGreaterThan(0);
      await eventually(
        async () => {
          const now = await client.topic('failover', { refresh: true });
          const back = now.partitions.filter((p) => preferred.includes(p.partition) && p.leader === victim);
          return back.length === preferred.length;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      const after = new Producer(client, { lingerMs: 2 });
      const m = await after.send('failover', { key: 'after-restart', value: 'x' });
      expect(m.offset).toBeGreaterThanOrEqual(0);
      await after.close();
    } finally {
      await client.close();
    }
  });
});
