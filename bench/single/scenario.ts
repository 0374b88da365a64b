/**
 * One benchmark case: produce `records` records of `sizeBytes` into a topic
 * with `partitions` partitions through the real client, then consume them all
 * back. Bounded in count and in time; reports a rate only when
 * sent + failed == requested (and consumed == sent).
 */
import { Admin } from '../../client/admin.ts';
import { RaftbusClient } from '../../client/client.ts';
import { Consumer } from '../../client/consumer.ts';
import { type AcksMode, Producer, type ProducerRecord } from '../../client/producer.ts';
import { pidCpuMs, selfCpuMs } from './cpu.ts';
import { valuePool } from './payload.ts';

export interface Scenario {
  sizeBytes: number;
  records: number;
  partitions: number;
  acks: AcksMode;
  lingerMs: number;
  batchBytesMax: number;
  /** Records per sendBatch call, and how many such calls may be outstanding. */
  chunkRecords: number;
  chunksInFlightMax: number;
  timeLimitMs: number;
}

export interface PhaseResult {
  requested: number;
  done: number;
  failed: number;
  elapsedMs: number;
  recordsPerSec: number;
  mbPerSec: number;
  timedOut: boolean;
  /** CPU time spent during the phase by this (client) process and by the node process. */
  clientCpuMs: number;
  nodeCpuMs: number;
}

export function scenarioName(s: Scenario, flush: string): string {
  return `nodes=1,rf=1,size=${s.sizeBytes}B,partitions=${s.partitions},acks=${s.acks},flush=${flush},linger=${s.lingerMs}ms,batch=${Math.round(s.batchBytesMax / 1024)}KiB`;
}

function rate(done: number, bytesEach: number, elapsedMs: number): { recordsPerSec: number; mbPerSec: number } {
  const secs = elapsedMs / 1000;
  return { recordsPerSec: done / secs, mbPerSec: (done * bytesEach) / secs / 1e6 };
}

export async function runScenario(
  address: string,
  nodePid: number,
  s: Scenario,
  topic: string,
): Promise<{ produce: PhaseResult; consume: PhaseResult }> {
  const client = new RaftbusClient({ brokers: [address], clientId: 'bench' });
  try {
    await client.connect();
    await new Admin(client).createTopics([{ name: topic, partitions: s.partitions }]);
    const produce = await measured(nodePid, () => producePhase(client, s, topic));
    const consume = await measured(nodePid, () => consumePhase(client, s, topic, produce.done));
    return { produce, consume };
  } finally {
    await client.close();
  }
}

async function measured(
  nodePid: number,
  phase: () => Promise<Omit<PhaseResult, 'clientCpuMs' | 'nodeCpuMs'>>,
): Promise<PhaseResult> {
  const c0 = selfCpuMs();
  const n0 = pidCpuMs(nodePid);
  const r = await phase();
  return { ...r, clientCpuMs: selfCpuMs() - c0, nodeCpuMs: pidCpuMs(nodePid) - n0 };
}

async function producePhase(
  client: RaftbusClient,
  s: Scenario,
  topic: string,
): Promise<Omit<PhaseResult, 'clientCpuMs' | 'nodeCpuMs'>> {
  const producer = new Producer(client, {
    acks: s.acks,
    lingerMs: s.lingerMs,
    batchBytesMax: s.batchBytesMax,
    requestBytesMax: Math.max(s.batchBytesMax, Number(process.env.BENCH_REQUEST_BYTES ?? 4 * 1024 * 1024)),
  });
  const pool = valuePool(s.sizeBytes, 256);
  const deadline = AbortSignal.timeout(s.timeLimitMs);
  let done = 0;
  let failed = 0;
  let submitted = 0;
  let firstError: unknown = null;
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  while (submitted < s.records && !deadline.aborted) {
    while (inFlight.size >= s.chunksInFlightMax) await Promise.race(inFlight);
    const n = Math.min(s.chunkRecords, s.records - submitted);
    const chunk: ProducerRecord[] = new Array(n);
    // Keyless: the sticky partitioner fills one partition's batch, then moves on.
    for (let i = 0; i < n; i++) chunk[i] = { value: pool[(submitted + i) & 255]! };
    submitted += n;
    const p = producer.sendBatch(topic, chunk).then(
      () => {
        done += n;
      },
      (err: unknown) => {
        failed += n;
        firstError ??= err;
      },
    );
    const tracked: Promise<void> = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }
  await Promise.all(inFlight);
  await producer.close();
  const elapsedMs = performance.now() - started;
  if (firstError) console.error('first produce error:', firstError);
  // Records never submitted because of the time limit count as failed: nothing is silently dropped.
  failed += s.records - submitted;
  if (done + failed !== s.records) throw new Error(`produce accounting: ${done} + ${failed} != ${s.records}`);
  return {
    requested: s.records,
    done,
    failed,
    elapsedMs,
    timedOut: deadline.aborted,
    ...rate(done, s.sizeBytes, elapsedMs),
  };
}

async function consumePhase(
  client: RaftbusClient,
  s: Scenario,
  topic: string,
  expected: number,
): Promise<Omit<PhaseResult, 'clientCpuMs' | 'nodeCpuMs'>> {
  const consumer = new Consumer(client, {
    topic,
    from: 'earliest',
    maxWaitMs: 100,
    fetchBytesMax: Number(process.env.BENCH_FETCH_BYTES ?? 16 * 1024 * 1024 - 256 * 1024),
    partitionBytesMax: 4 * 1024 * 1024,
  });
  const deadline = AbortSignal.timeout(s.timeLimitMs);
  let done = 0;
  let bytes = 0;
  const started = performance.now();
  if (expected > 0) {
    for await (const batch of consumer.batches({ signal: deadline })) {
      done += batch.records.length;
      for (const r of batch.records) bytes += r.value.byteLength;
      if (done >= expected) break;
    }
  }
  const elapsedMs = performance.now() - started;
  if (bytes !== done * s.sizeBytes)
    throw new Error(`consumed ${bytes} value bytes for ${done} records of ${s.sizeBytes}`);
  const failed = expected - done;
  return {
    requested: expected,
    done,
    failed,
    elapsedMs,
    timedOut: deadline.aborted,
    ...rate(done, s.sizeBytes, elapsedMs),
  };
}
