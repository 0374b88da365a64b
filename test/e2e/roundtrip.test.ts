/**
 * End to end on a real node process: 100,000 keyed records with headers go in
 * through the client and come back out exactly once, per partition in offset
 * order, intact, each on the partition its key hashes to.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from '../../client/admin.ts';
import { RaftbusClient } from '../../client/client.ts';
import { type ConsumedRecord, Consumer } from '../../client/consumer.ts';
import { partitionForKey } from '../../client/partitioner.ts';
import { Producer, type ProducerRecord } from '../../client/producer.ts';
import { NodeProcess } from '../../client/test-support/node-process.ts';

const RECORDS = 100_000;
const PARTITIONS = 4;
const CHUNK = 1_000;

let dir: string;
let node: NodeProcess;
let client: RaftbusClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raftbus-e2e-'));
  node = await NodeProcess.start({ dataDir: join(dir, 'data'), flush: 'always' });
  client = new RaftbusClient({ brokers: [node.address], clientId: 'e2e-roundtrip' });
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const recordKey = (i: number): string => `user-${i % 5_003}`;
const recordValue = (i: number): string => `value-${i}-${'v'.repeat(i % 50)}`;

const decoder = new TextDecoder();

function checkRecord(
  r: ConsumedRecord,
  i: number,
  seen: Uint8Array,
  lastOffset: number[],
  offsets: { partition: number; offset: number }[],
): string | null {
  if (!(Number.isInteger(i) && i >= 0 && i < RECORDS))
    return `offset ${r.offset}: bad seq header ${String(r.headers?.seq)}`;
  if (seen[i]) return `record ${i} seen twice`;
  if (r.offset !== lastOffset[r.partition]! + 1)
    return `partition ${r.partition}: offset ${r.offset} after ${lastOffset[r.partition]}`;
  if (r.partition !== partitionForKey(recordKey(i), PARTITIONS)) return `record ${i} on partition ${r.partition}`;
  const acked = offsets[i];
  if (!acked || acked.partition !== r.partition || acked.offset !== r.offset) {
    return `record ${i} acked at ${JSON.stringify(acked)}, read at ${r.partition}/${r.offset}`;
  }
  if (r.key === null || decoder.decode(r.key) !== recordKey(i)) return `record ${i}: key differs`;
  if (decoder.decode(r.value) !== recordValue(i)) return `record ${i}: value differs`;
  const bin = r.headers?.bin;
  if (!(bin instanceof Uint8Array) || bin.length !== 2 || bin[0] !== (i & 255) || bin[1] !== ((i >> 8) & 255)) {
    return `record ${i}: bin header differs`;
  }
  return null;
}

describe('produce and consume 100,000 records on a real node', () => {
  it('every record comes back once, in order, intact, on its key partition', async () => {
    await new Admin(client).createTopics([{ name: 'orders', partitions: PARTITIONS }]);
    const producer = new Producer(client, { acks: 'quorum', lingerMs: 5 });
    const offsets = new Array<{ partition: number; offset: number }>(RECORDS);
    const pending: Promise<void>[] = [];
    for (let start = 0; start < RECORDS; start += CHUNK) {
      const chunk: ProducerRecord[] = [];
      for (let i = start; i < start + CHUNK; i++) {
        chunk.push({
          key: recordKey(i),
          value: recordValue(i),
          headers: { seq: String(i), bin: new Uint8Array([i & 255, (i >> 8) & 255]) },
        });
      }
      pending.push(
        producer.sendBatch('orders', chunk).then((metas) => {
          metas.forEach((m, j) => {
            offsets[start + j] = { partition: m.partition, offset: m.offset };
          });
        }),
      );
      if (pending.length >= 20) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    await producer.close();
    expect(producer.stats.recordsSent).toBe(RECORDS);
    expect(producer.stats.recordsFailed).toBe(0);

    const seen = new Uint8Array(RECORDS);
    const lastOffset = new Array<number>(PARTITIONS).fill(-1);
    const consumer = new Consumer(client, { topic: 'orders', from: 'earliest', maxWaitMs: 200 });
    let count = 0;
    const problems: string[] = [];
    for await (const batch of consumer.batches({ signal: AbortSignal.timeout(60_000) })) {
      for (const r of batch.records) {
        // Plain checks per record (an expect() per field would dominate the run time); one assert at the end.
        const i = Number(r.headers?.seq); // a string header comes back as a string
        const problem = checkRecord(r, i, seen, lastOffset, offsets);
        if (problem && problems.length < 20) problems.push(problem);
        if (Number.isInteger(i) && i >= 0 && i < RECORDS) seen[i] = 1;
        lastOffset[r.partition] = r.offset;
        count++;
      }
      if (count >= RECORDS) break;
    }
    expect(problems).toEqual([]);
    expect(count).toBe(RECORDS);
    expect(seen.every((x) => x === 1)).toBe(true);
    const ends = await new Admin(client).listOffsets('orders', 'latest');
    expect(ends.reduce((s, e) => s + e.offset, 0)).toBe(RECORDS);
    for (const e of ends) expect(e.offset).toBe(lastOffset[e.partition]! + 1);
  });
});
