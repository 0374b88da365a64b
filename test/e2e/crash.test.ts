/**
 * kill -9 during a produce run (acks quorum, flush always), restart on the
 * same data dir: every record whose produce promise resolved before the kill
 * is still there at the offset it was given. Records whose promise rejected or
 * never settled may or may not be there; nothing else may be, and no record
 * may appear twice. (Jepsen's rule for a log: no acknowledged write lost.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Admin } from '../../client/admin.ts';
import { RaftbusClient } from '../../client/client.ts';
import { Consumer } from '../../client/consumer.ts';
import { Producer } from '../../client/producer.ts';
import { eventually } from '../../client/test-support/eventually.ts';
import { NodeProcess } from '../../client/test-support/node-process.ts';

const PARTITIONS = 3;
const ATTEMPTS_MAX = 200_000;
const KILL_AFTER_ACKED = 20_000;

const dir = mkdtempSync(join(tmpdir(), 'raftbus-e2e-crash-'));
const started: NodeProcess[] = [];
const clients: RaftbusClient[] = [];

afterAll(async () => {
  for (const c of clients) await c.close();
  for (const n of started) await n.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('kill -9 during produce', () => {
  it('keeps every acknowledged record', async () => {
    const dataDir = join(dir, 'data');
    const first = await NodeProcess.start({ dataDir, flush: 'always' });
    started.push(first);
    const client = new RaftbusClient({
      brokers: [first.address],
      clientId: 'e2e-crash',
      reconnect: { delayMsMin: 10, delayMsMax: 50, attemptsMax: 2 },
      retry: { delayMsMin: 10, delayMsMax: 50, attemptsMax: 2 },
      requestTimeoutMs: 5_000,
    });
    clients.push(client);
    await client.connect();
    await new Admin(client).createTopics([{ name: 'ledger', partitions: PARTITIONS }]);

    // History: value -> acknowledged position; attempted values are 0..attempted-1.
    const acked = new Map<number, { partition: number; offset: number }>();
    let attempted = 0;
    let rejected = 0;
    const producer = new Producer(client, {
      acks: 'quorum',
      lingerMs: 2,
      batchBytesMax: 16 * 1024,
      retry: { delayMsMin: 10, delayMsMax: 50, attemptsMax: 2 },
      deliveryTimeoutMs: 10_000,
    });
    const outstanding = new Set<Promise<void>>();
    let killed = false;
    const killing = (async () => {
      await eventually(() => acked.size >= KILL_AFTER_ACKED, { timeoutMs: 60_000 });
      await first.kill9();
      killed = true;
    })();
    while (!killed && attempted < ATTEMPTS_MAX) {
      const v = attempted++;
      const p = producer.send('ledger', { key: `k${v % 101}`, value: String(v) }).then(
        (m) => {
          // Recorded only if the ack was seen before the kill was observed: conservative either way.
          acked.set(v, { partition: m.partition, offset: m.offset });
        },
        () => {
          rejected++;
        },
      );
      const tracked: Promise<void> = p.finally(() => outstanding.delete(tracked));
      outstanding.add(tracked);
      if (outstanding.size >= 2_000) await Promise.race(outstanding);
    }
    await killing;
    const ackedAtKill = new Map(acked);
    await Promise.race([Promise.all(outstanding), new Promise((r) => setTimeout(r, 20_000))]);
    expect(first.child.signalCode).toBe('SIGKILL');
    expect(ackedAtKill.size).toBeGreaterThanOrEqual(KILL_AFTER_ACKED);
    await client.close();

    const second = await NodeProcess.start({ dataDir, flush: 'always' });
    started.push(second);
    const reader = new RaftbusClient({ brokers: [second.address], clientId: 'e2e-crash-reader' });
    clients.push(reader);
    await reader.connect();
    const ends = await new Admin(reader).listOffsets('ledger', 'latest');
    const total = ends.reduce((s, e) => s + e.offset, 0);
    const found = new Map<number, { partition: number; offset: number }>();
    const problems: string[] = [];
    if (total > 0) {
      const consumer = new Consumer(reader, { topic: 'ledger', from: 'earliest', maxWaitMs: 100 });
      let n = 0;
      for await (const batch of consumer.batches({ signal: AbortSignal.timeout(30_000) })) {
        for (const r of batch.records) {
          const v = Number(Buffer.from(r.value).toString());
          if (!(Number.isInteger(v) && v >= 0 && v < attempted))
            problems.push(`unexpected value ${v} at ${r.partition}/${r.offset}`);
          else if (found.has(v))
            problems.push(`value ${v} at ${r.partition}/${r.offset} and ${JSON.stringify(found.get(v))}`);
          found.set(v, { partition: r.partition, offset: r.offset });
          n++;
        }
        if (n >= total) break;
      }
      expect(n).toBe(total);
    }
    for (const [v, at] of ackedAtKill) {
      const f = found.get(v);
      if (!f) problems.push(`acknowledged value ${v} (${at.partition}/${at.offset}) lost`);
      else if (f.partition !== at.partition || f.offset !== at.offset) {
        problems.push(`acknowledged value ${v} moved from ${JSON.stringify(at)} to ${JSON.stringify(f)}`);
      }
      if (problems.length > 20) break;
    }
    expect(problems).toEqual([]);
    // Informational bounds: the history is consistent with what the node kept.
    expect(found.size).toBeGreaterThanOrEqual(ackedAtKill.size);
    expect(found.size).toBeLessThanOrEqual(attempted);
    expect(rejected + acked.size).toBeLessThanOrEqual(attempted);
  });
});
