/**
 * Replicated produce through real processes: 3 `raftbus node` processes
 * (startLocalCluster, base port 0, temp data dir, `--flush always`), a topic
 * at replication 3, and the client Producer in THIS process (the 4th).
 *
 *   npx node bench/partition/cluster-produce.ts [--size 100] [--partitions 6] [--producers 4]
 *       [--in-flight 1000] [--duration 10] [--warmup 2] [--linger default|<ms>] [--latency]
 *       [--records-max N] [--prof DIR] [--node-log FILE]
 *
 * Throughput mode: `producers` Producer instances, each keeping `in-flight`
 * single-record send() calls outstanding, partitions round-robin (the shape of
 * bench/cluster/run.ts with batching on). Latency mode (--latency): one
 * producer, linger 0, one record in flight: each send is awaited before the
 * next. Bounded by --duration and --records-max; checks acked + failed == sent
 * before it prints a rate. --prof DIR makes every node write a V8 CPU profile
 * there (NODE_OPTIONS=--cpu-prof, written at the graceful stop).
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Admin } from '../../client/admin.ts';
import { RaftbusClient } from '../../client/client.ts';
import { Producer, type ProducerOptions } from '../../client/producer.ts';
import { type LocalCluster, startLocalCluster } from '../../cluster/local.ts';
import { pidCpuMs, selfCpuMs } from '../single/cpu.ts';
import { valuePool } from '../single/payload.ts';

interface Args {
  sizeBytes: number;
  partitions: number;
  producers: number;
  inFlight: number;
  durationSec: number;
  warmupSec: number;
  lingerMs: number | undefined;
  latency: boolean;
  recordsMax: number;
  profDir: string | undefined;
  nodeLog: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    sizeBytes: 100,
    partitions: 6,
    producers: 4,
    inFlight: 1000,
    durationSec: 10,
    warmupSec: 2,
    lingerMs: undefined,
    latency: false,
    recordsMax: 20_000_000,
    profDir: undefined,
    nodeLog: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = (lo: number, hi: number): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`${flag}: expected an integer in ${lo}..${hi}`);
      return n;
    };
    if (flag === '--size') a.sizeBytes = int(16, 1024 * 1024);
    else if (flag === '--partitions') a.partitions = int(1, 10_000);
    else if (flag === '--producers') a.producers = int(1, 256);
    else if (flag === '--in-flight') a.inFlight = int(1, 100_000);
    else if (flag === '--duration') a.durationSec = int(1, 600);
    else if (flag === '--warmup') a.warmupSec = int(0, 60);
    else if (flag === '--linger') {
      const v = value();
      a.lingerMs = v === 'default' ? undefined : Number(v);
    } else if (flag === '--latency') a.latency = true;
    else if (flag === '--records-max') a.recordsMax = int(1, 1_000_000_000);
    else if (flag === '--prof') a.profDir = resolve(value());
    else if (flag === '--node-log') a.nodeLog = resolve(value());
    else throw new Error(`unknown flag ${flag}`);
  }
  return a;
}

/** Nearest-rank percentile of sorted values. */
function pct(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)]!;
}

/** Bounded latency sample store (first `max` samples of the measured phase). */
class Samples {
  private readonly buf: Float64Array;
  count = 0;
  constructor(max: number) {
    this.buf = new Float64Array(max);
  }
  add(ms: number): void {
    if (this.count < this.buf.length) this.buf[this.count++] = ms;
  }
  sorted(): Float64Array {
    return this.buf.slice(0, this.count).sort();
  }
}

interface PhaseCounts {
  sent: number;
  acked: number;
  failed: number;
  firstError: unknown;
}

async function throughputPhase(
  producers: Producer[],
  topic: string,
  a: Args,
  pool: Uint8Array[],
  seconds: number,
  samples: Samples | null,
): Promise<PhaseCounts & { elapsedMs: number }> {
  const c: PhaseCounts = { sent: 0, acked: 0, failed: 0, firstError: null };
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const perProducerMax = Math.ceil(a.recordsMax / producers.length);
  // One closed loop per in-flight slot: keeps `inFlight` sends outstanding per producer.
  const loop = async (p: Producer, slot: number, counter: { n: number }): Promise<void> => {
    let part = slot % a.partitions;
    while (performance.now() < deadline && counter.n < perProducerMax) {
      counter.n++;
      c.sent++;
      const t0 = performance.now();
      try {
        await p.send(topic, { value: pool[c.sent & 255]!, partition: part });
        c.acked++;
        samples?.add(performance.now() - t0);
      } catch (err) {
        c.failed++;
        c.firstError ??= err;
      }
      part = (part + 1) % a.partitions;
    }
  };
  await Promise.all(
    producers.flatMap((p, pi) => {
      const counter = { n: 0 };
      return Array.from({ length: a.inFlight }, (_, s) => loop(p, pi * a.inFlight + s, counter));
    }),
  );
  return { ...c, elapsedMs: performance.now() - started };
}

async function latencyPhase(
  p: Producer,
  topic: string,
  a: Args,
  pool: Uint8Array[],
  seconds: number,
  samples: Samples | null,
): Promise<PhaseCounts & { elapsedMs: number }> {
  const c: PhaseCounts = { sent: 0, acked: 0, failed: 0, firstError: null };
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  while (performance.now() < deadline && c.sent < a.recordsMax) {
    c.sent++;
    const t0 = performance.now();
    try {
      await p.send(topic, { value: pool[c.sent & 255]!, partition: 0 });
      c.acked++;
      samples?.add(performance.now() - t0);
    } catch (err) {
      c.failed++;
      c.firstError ??= err;
    }
  }
  return { ...c, elapsedMs: performance.now() - started };
}

/** Sums of the node metrics this bench reports, from one /metrics scrape. */
type Scrape = Map<string, number>;

async function scrape(url: string): Promise<Scrape> {
  const out: Scrape = new Map();
  try {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
    for (const line of text.split('\n')) {
      const m =
        /^(raftbus_request_duration_seconds_(?:sum|count)\{[^}]*api="Produce"|raftbus_raft_sync_seconds_(?:sum|count)\{[^}]*kind="partition"|raftbus_raft_leader_changes_total\{[^}]*kind="partition")[^ ]* ([0-9.e+-]+)$/.exec(
          line,
        );
      if (m) {
        const key = m[1]!.replace(/\{.*$/, '');
        out.set(key, (out.get(key) ?? 0) + Number(m[2]));
      }
    }
  } catch {
    // A node without /metrics: the figures are left out.
  }
  return out;
}

/** Mean produce handling and Raft sync time per node over the phase, and leader changes seen. */
function metricsLine(before: Scrape[], after: Scrape[]): string {
  const d = (i: number, k: string) => (after[i]!.get(k) ?? 0) - (before[i]!.get(k) ?? 0);
  return before
    .map((_, i) => {
      const produceMs =
        (1000 * d(i, 'raftbus_request_duration_seconds_sum')) / d(i, 'raftbus_request_duration_seconds_count');
      const syncMs = (1000 * d(i, 'raftbus_raft_sync_seconds_sum')) / d(i, 'raftbus_raft_sync_seconds_count');
      return `node${i + 1}: produce ${produceMs.toFixed(2)}ms x${d(i, 'raftbus_request_duration_seconds_count')}, sync ${syncMs.toFixed(2)}ms x${d(i, 'raftbus_raft_sync_seconds_count')}, leader changes ${d(i, 'raftbus_raft_leader_changes_total')}`;
    })
    .join('; ');
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'raftbus-cluster-produce-'));
  if (a.profDir) {
    // Inherited by the node processes (spawned with process.env); this process is already running.
    process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${a.profDir}`.trim();
  }
  let cluster: LocalCluster | undefined;
  let client: RaftbusClient | undefined;
  try {
    const log = a.nodeLog;
    cluster = await startLocalCluster({
      nodes: 3,
      basePort: 0,
      dataDir: dir,
      onNodeExit: 'stop-all',
      onLine: log ? (line) => appendFileSync(log, `${Math.round(performance.now())} ${line}\n`) : undefined,
    });
    if (a.profDir) delete process.env.NODE_OPTIONS;
    client = new RaftbusClient({ brokers: cluster.nodes.map((n) => n.client), clientId: 'cluster-produce' });
    await client.connect();
    const topic = 'bench';
    const partitions = a.latency ? 1 : a.partitions;
    await new Admin(client).createTopics([{ name: topic, partitions, replicationFactor: 3 }]);
    const opts: ProducerOptions = a.latency
      ? { lingerMs: 0 }
      : a.lingerMs === undefined
        ? {}
        : { lingerMs: a.lingerMs };
    const producers = Array.from({ length: a.latency ? 1 : a.producers }, () => new Producer(client!, opts));
    const pool = valuePool(a.sizeBytes, 256);
    const run = (seconds: number, samples: Samples | null) =>
      a.latency
        ? latencyPhase(producers[0]!, topic, { ...a, partitions }, pool, seconds, samples)
        : throughputPhase(producers, topic, { ...a, partitions }, pool, seconds, samples);
    if (a.warmupSec > 0) {
      const w = await run(a.warmupSec, null);
      if (w.acked === 0) throw new Error(`warmup acknowledged nothing: ${String(w.firstError)}`);
    }
    const pids = cluster.nodes.map((n) => n.pid);
    const metricsUrls = cluster.nodes.map((n) => n.metricsUrl);
    const before = await Promise.all(metricsUrls.map(scrape));
    const nodeCpu0 = pids.map(pidCpuMs);
    const clientCpu0 = selfCpuMs();
    const samples = new Samples(2_000_000);
    const r = await run(a.durationSec, samples);
    const nodeCpuMs = pids.map((pid, i) => pidCpuMs(pid) - nodeCpu0[i]!);
    const clientCpuMs = selfCpuMs() - clientCpu0;
    const st = producers.map((p) => p.stats);
    const sum = (k: 'batchesSent' | 'requestsSent' | 'retries') => st.reduce((n, x) => n + x[k], 0);
    console.error(
      `producers (warmup included): batches=${sum('batchesSent')} requests=${sum('requestsSent')} retries=${sum('retries')}`,
    );
    const after = await Promise.all(metricsUrls.map(scrape));
    for (const p of producers) await p.close();
    if (r.acked + r.failed !== r.sent) throw new Error(`accounting: ${r.acked} + ${r.failed} != ${r.sent}`);
    if (r.firstError) console.error('first error:', r.firstError);
    const secs = r.elapsedMs / 1000;
    const s = samples.sorted();
    const name = a.latency
      ? `nodes=3,rf=3,partitions=1,size=${a.sizeBytes}B,producers=1,in-flight=1,linger=0,acks=quorum,flush=always`
      : `nodes=3,rf=3,partitions=${partitions},size=${a.sizeBytes}B,producers=${a.producers},in-flight=${a.inFlight},linger=${a.lingerMs ?? 'default'},acks=quorum,flush=always`;
    console.log(`  ${metricsLine(before, after)}`);
    console.log(
      `${name}  records/s=${(r.acked / secs).toFixed(0)} MB/s=${((r.acked * a.sizeBytes) / secs / 1e6).toFixed(1)} ` +
        `ack p50=${pct(s, 0.5).toFixed(2)}ms p99=${pct(s, 0.99).toFixed(2)}ms p99.9=${pct(s, 0.999).toFixed(2)}ms ` +
        `sent=${r.sent} acked=${r.acked} failed=${r.failed} secs=${secs.toFixed(2)} ` +
        `cpu%: client=${((clientCpuMs / r.elapsedMs) * 100).toFixed(0)} nodes=${nodeCpuMs.map((ms) => ((ms / r.elapsedMs) * 100).toFixed(0)).join('/')}`,
    );
  } finally {
    await client?.close().catch(() => {});
    await cluster?.stop().catch((err: Error) => console.error('cluster stop:', err.message));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
