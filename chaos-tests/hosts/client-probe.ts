/**
 * A one-shot client for the client host: creates a topic (if missing),
 * produces records with the given acks, reads them back from the start,
 * prints one JSON line and exits (0 when every produced record was read back
 * where its send said, else 1). Runs inside the client namespace in netns
 * mode, where only the cluster's private addresses and names are reachable.
 *
 *   node chaos-tests/hosts/client-probe.ts --bootstrap node-1:9092,node-2:9092 \
 *     [--topic probe] [--records 10] [--partitions 3] [--replication 3] [--acks quorum] [--timeout-ms 30000]
 */
import { Admin } from '../../client/admin.ts';
import { RaftbusClient } from '../../client/client.ts';
import { Consumer } from '../../client/consumer.ts';
import { type AcksMode, Producer } from '../../client/producer.ts';

export interface ProbeOptions {
  bootstrap: string[];
  topic: string;
  records: number;
  partitions: number;
  replication: number;
  acks: AcksMode;
  timeoutMs: number;
}

export interface ProbeRecord {
  partition: number;
  offset: number;
  value: string;
}

export type ProbeResult =
  | { ok: true; produced: ProbeRecord[]; consumed: ProbeRecord[]; elapsedMs: number }
  | { ok: false; error: string; name: string };

/** Records one probe may send (it is a check, not a load generator). */
export const probeRecordsMax = 10_000;

export function parseProbeArgs(argv: string[]): ProbeOptions {
  const o: ProbeOptions = {
    bootstrap: [],
    topic: 'probe',
    records: 10,
    partitions: 3,
    replication: 3,
    acks: 'quorum',
    timeoutMs: 30_000,
  };
  const int = (name: string, v: string | undefined, min: number, max: number): number => {
    const n = Number(v);
    if (!(Number.isInteger(n) && n >= min && n <= max))
      throw new Error(`--${name} must be an integer in ${min}..${max}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const v = argv[++i];
    if (name === '--bootstrap') o.bootstrap = (v ?? '').split(',').filter(Boolean);
    else if (name === '--topic') o.topic = v ?? '';
    else if (name === '--records') o.records = int('records', v, 1, probeRecordsMax);
    else if (name === '--partitions') o.partitions = int('partitions', v, 1, 1_000);
    else if (name === '--replication') o.replication = int('replication', v, 1, 5);
    else if (name === '--timeout-ms') o.timeoutMs = int('timeout-ms', v, 1, 600_000);
    else if (name === '--acks' && (v === 'none' || v === 'leader' || v === 'quorum')) o.acks = v;
    else throw new Error(`unknown or bad argument ${name} ${v ?? ''}`);
  }
  if (o.bootstrap.length === 0) throw new Error('--bootstrap host:port,... is required');
  if (o.topic === '') throw new Error('--topic needs a name');
  return o;
}

export async function runProbe(o: ProbeOptions): Promise<ProbeResult> {
  const started = Date.now();
  const signal = AbortSignal.timeout(o.timeoutMs);
  const client = new RaftbusClient({ brokers: o.bootstrap });
  try {
    await client.connect({ signal });
    await new Admin(client).createTopics(
      [{ name: o.topic, partitions: o.partitions, replicationFactor: o.replication }],
      { ignoreExisting: true, signal },
    );
    const producer = new Producer(client, { acks: o.acks, lingerMs: 0 });
    // A unique run mark in every value: a topic reused by an earlier probe does not count.
    const run = `${process.pid}-${started}`;
    let metas: { partition: number; offset: number }[];
    try {
      metas = await producer.sendBatch(
        o.topic,
        Array.from({ length: o.records }, (_, i) => ({ value: `${run}-${i}`, partition: i % o.partitions })),
      );
    } finally {
      await producer.close();
    }
    const produced = metas.map((m, i) => ({ partition: m.partition, offset: m.offset, value: `${run}-${i}` }));
    const consumed: ProbeRecord[] = [];
    const consumer = new Consumer(client, { topic: o.topic, from: 'earliest' });
    for await (const r of consumer.records({ signal })) {
      const value = Buffer.from(r.value).toString();
      if (value.startsWith(`${run}-`)) consumed.push({ partition: r.partition, offset: r.offset, value });
      if (consumed.length === produced.length) break;
    }
    const key = (r: ProbeRecord): string => `${r.partition}/${r.offset}/${r.value}`;
    const want = produced.map(key).sort();
    const got = consumed.map(key).sort();
    if (want.join('\n') !== got.join('\n'))
      return { ok: false, name: 'ProbeMismatch', error: `produced ${want.join(' ')} but read ${got.join(' ')}` };
    return { ok: true, produced, consumed, elapsedMs: Date.now() - started };
  } catch (err) {
    const e = err as Error;
    return { ok: false, name: e.name, error: e.message };
  } finally {
    await client.close();
  }
}

if (import.meta.main) {
  let result: ProbeResult;
  try {
    result = await runProbe(parseProbeArgs(process.argv.slice(2)));
  } catch (err) {
    result = { ok: false, name: (err as Error).name, error: (err as Error).message };
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.ok ? 0 : 1;
}
