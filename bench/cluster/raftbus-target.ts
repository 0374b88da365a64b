/**
 * raftbus as a benchmark target: N `raftbus node` processes started with
 * startLocalCluster (free ports, a temp data dir, flush always: a record is
 * acknowledged after a quorum of replicas fsynced it), or an already-running
 * cluster (--target). The topic is created with the Admin client and the
 * target is ready once every partition has a leader.
 *
 * Producers are the client's Producer with acks 'quorum':
 * - batching on: the Producer's defaults (linger 5 ms, idempotent, 5 batches
 *   in flight per partition), what users get;
 * - batching off: one record per request, honestly: linger 0, and both the
 *   batch limit and the request limit set to the size of a batch holding one
 *   record, so no batch takes a second record and no request a second batch.
 *   Idempotence is off there, because an idempotent producer allows at most 5
 *   batches in flight per partition (the leader's duplicate window) and the
 *   peers get `inFlight` unconfirmed messages: the per-request comparison
 *   keeps the same number of requests outstanding.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  Admin,
  BatchBuilder,
  Consumer,
  ErrorCode,
  isRetriable,
  Producer,
  RaftbusClient,
  RaftbusError,
} from '../../client/index.ts';
import { type LocalCluster, startLocalCluster } from '../../cluster/local.ts';
import { TargetNotReadyError } from './errors.ts';
import type {
  BenchTarget,
  ProducerSpec,
  TargetConsumer,
  TargetProcess,
  TargetProducer,
  TargetStartOptions,
} from './target.ts';

export interface RaftbusTargetOptions {
  /** host:port of a running cluster: nothing is started or stopped. */
  brokers?: string[];
  /** Write a V8 CPU profile of every node there (node --cpu-prof), written when the node exits. */
  profileDir?: string;
  /**
   * Idle scenario only: more partitions than one topic may hold are spread over several topics
   * (producers and consumers use the first one only).
   */
  spreadOverTopics?: boolean;
  /** Node output lines (default: kept, the last ones shown when a start fails). */
  onLine?: (line: string) => void;
}

/** With --profile-dir: how long a graceful stop may take before the second SIGTERM. */
const profileStopGraceMs = 5_000;
/** A node's default partitions-per-topic-max (node/config.ts). */
const topicPartitionsMax = 1_024;
/** Connection pipelining depth bound: the node takes 1,024 requests in flight per connection by default. */
const connectionInFlightMax = 1_024;
/** A send that neither lands nor fails for this long fails (bounds the runner's settle wait). */
const deliveryTimeoutMs = 30_000;
/** Times the consumer's iteration is resumed after a retriable error it gave up on. */
const consumerRestartsMax = 1_000;

/** The size of a sealed batch holding one record with a value of `valueBytes` (no key, no headers). */
export function oneRecordBatchBytes(valueBytes: number): number {
  const b = new BatchBuilder();
  b.append({ value: new Uint8Array(valueBytes) }, Date.now());
  return b.batchBytes;
}

function gitRevision(): string {
  try {
    const cwd = fileURLToPath(new URL('../..', import.meta.url));
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8', timeout: 5_000 }).trim();
  } catch {
    return 'unknown';
  }
}

class RaftbusTarget implements BenchTarget {
  readonly name = 'raftbus';
  readonly durability = 'acks quorum, flush always: acknowledged after a majority of replicas fsynced the batch';
  private readonly o: RaftbusTargetOptions;
  private cluster: LocalCluster | null = null;
  private brokers: string[] = [];
  private topic = '';
  private partitions = 0;
  private readonly clients: RaftbusClient[] = [];
  private readonly tail: string[] = [];

  constructor(o: RaftbusTargetOptions) {
    this.o = o;
  }

  async version(): Promise<string> {
    const pkgUrl = new URL('../../package.json', import.meta.url);
    const pkg = JSON.parse(readFileSync(pkgUrl, 'utf8')) as { version?: string };
    return `raftbus ${pkg.version ?? '?'} (git ${gitRevision()}, node ${process.version})`;
  }

  async start(o: TargetStartOptions): Promise<void> {
    if (this.o.brokers) {
      this.brokers = this.o.brokers;
    } else {
      const onLine = (line: string): void => {
        this.tail.push(line);
        if (this.tail.length > 40) this.tail.shift();
        this.o.onLine?.(line);
      };
      // The children inherit the environment: flush always explicitly (it is also the default), and
      // the profiler flags only for them, not for this process.
      const saved = { flush: process.env.RAFTBUS_FLUSH, nodeOptions: process.env.NODE_OPTIONS };
      process.env.RAFTBUS_FLUSH = 'always';
      if (this.o.profileDir)
        process.env.NODE_OPTIONS = `${saved.nodeOptions ?? ''} --cpu-prof --cpu-prof-dir=${this.o.profileDir}`.trim();
      try {
        this.cluster = await startLocalCluster({ nodes: o.nodes, basePort: 0, dataDir: o.dir, onLine });
      } catch (err) {
        throw new TargetNotReadyError(`raftbus cluster did not start: ${(err as Error).message}`, { cause: err });
      } finally {
        restoreEnv('RAFTBUS_FLUSH', saved.flush);
        restoreEnv('NODE_OPTIONS', saved.nodeOptions);
      }
      this.brokers = this.cluster.nodes.map((n) => n.client);
    }
    // A fresh topic per start: against a running cluster, runs must not read each other's records.
    this.topic = `bench-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
    this.partitions = o.partitions;
    if (o.partitions > topicPartitionsMax && !this.o.spreadOverTopics)
      throw new TargetNotReadyError(
        `${o.partitions} partitions in one topic: a node takes ${topicPartitionsMax} per topic by default`,
      );
    // Topics of at most topicPartitionsMax partitions (only the idle scenario asks for more).
    const topics: { name: string; partitions: number }[] = [];
    for (let left = o.partitions, i = 0; left > 0; left -= topicPartitionsMax, i++)
      topics.push({
        name: i === 0 ? this.topic : `${this.topic}-${i}`,
        partitions: Math.min(left, topicPartitionsMax),
      });
    const client = this.newClient();
    const readyMs = Math.max(60_000, o.partitions * 100);
    const signal = AbortSignal.timeout(readyMs);
    await new Admin(client).createTopics(
      topics.map((t) => ({ name: t.name, partitions: t.partitions, replicationFactor: o.replication })),
      { signal },
    );
    for (const t of topics) await waitForLeaders(client, t.name, t.partitions, signal);
  }

  processes(): TargetProcess[] {
    return (this.cluster?.nodes ?? []).map((n) => ({ name: `node-${n.nodeId}`, pid: n.pid }));
  }

  async openProducer(spec: ProducerSpec): Promise<TargetProducer> {
    const client = this.newClient(spec.inFlightMax);
    await client.connect();
    let producer: Producer | null = null;
    const topic = this.topic;
    // The batch-of-one limit depends on the value size, known at the first send.
    const producerFor = (valueBytes: number): Producer => {
      producer ??= spec.batching
        ? new Producer(client, { acks: 'quorum', deliveryTimeoutMs })
        : new Producer(client, {
            acks: 'quorum',
            deliveryTimeoutMs,
            lingerMs: 0,
            batchBytesMax: oneRecordBatchBytes(valueBytes),
            requestBytesMax: oneRecordBatchBytes(valueBytes),
            idempotent: false,
            inFlightMax: spec.inFlightMax,
            partitionInFlightMax: spec.inFlightMax,
          });
      return producer;
    };
    let valueBytesSeen = -1;
    return {
      send: async (partition, value) => {
        if (valueBytesSeen < 0) valueBytesSeen = value.byteLength;
        else if (!spec.batching && value.byteLength !== valueBytesSeen)
          throw new RangeError('batching off needs values of one size (the batch limit holds one record)');
        await producerFor(value.byteLength).send(topic, { value, partition });
      },
      stats: (): Record<string, number> => {
        const st = (producer as Producer | null)?.stats;
        if (!st) return {};
        return {
          recordsSent: st.recordsSent,
          recordsFailed: st.recordsFailed,
          batchesSent: st.batchesSent,
          requestsSent: st.requestsSent,
          retries: st.retries,
        };
      },
      close: async () => {
        try {
          await (producer as Producer | null)?.close();
        } finally {
          await client.close();
        }
      },
    };
  }

  async openConsumer(onValue: (partition: number, value: Uint8Array) => void): Promise<TargetConsumer> {
    const client = this.newClient();
    const consumer = new Consumer(client, { topic: this.topic, from: 'earliest', maxWaitMs: 100 });
    // Each node learns the partition leaders on its own schedule, and the client's offset lookup retries
    // from its cached metadata without refreshing it (see the report): so this client's metadata must
    // name every leader before init, and a retry refreshes it.
    const until = Date.now() + 30_000;
    for (;;) {
      try {
        await waitForLeaders(client, this.topic, this.partitions, AbortSignal.timeout(30_000));
        await consumer.init();
        break;
      } catch (err) {
        client.invalidateTopic(this.topic);
        // A leader named in the metadata may not have created its replica yet right after the topic's
        // creation (seen with 600 partitions): UNKNOWN_TOPIC_OR_PARTITION is worth another try here.
        const early = err instanceof RaftbusError && err.is(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        if (!(isRetriable(err as Error) || early) || Date.now() > until) {
          await client.close();
          throw err;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const stop = new AbortController();
    let resumed = 0;
    const loop = (async () => {
      // The iteration ends on an error the client gave up retrying (e.g. NOT_LEADER through a long
      // election under load); the consumer keeps its positions, so an application resumes where it
      // stopped, and so does the benchmark, for as long as the errors are retriable.
      for (let restarts = 0; !stop.signal.aborted; restarts++) {
        try {
          for await (const b of consumer.batches({ signal: stop.signal })) {
            for (const r of b.records) onValue(b.partition, r.value);
          }
        } catch (err) {
          if (stop.signal.aborted || !isRetriable(err) || restarts >= consumerRestartsMax) throw err;
          resumed++;
          client.invalidateTopic(this.topic);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
    loop.catch(() => {}); // surfaced by close()
    return {
      stats: () => ({ resumedAfterError: resumed }),
      close: async () => {
        stop.abort();
        try {
          await loop;
        } finally {
          await client.close();
        }
      },
    };
  }

  async stop(): Promise<void> {
    for (const c of this.clients.splice(0)) await c.close().catch(() => {});
    if (!this.cluster) return;
    const cluster = this.cluster;
    this.cluster = null;
    const pids = cluster.nodes.map((n) => n.pid);
    const stopping = cluster.stop();
    // A graceful stop of a node with hundreds of partitions takes longer than the cluster's 20 s bound,
    // and a SIGKILLed node writes no CPU profile: when profiling, a second SIGTERM after a few seconds
    // makes each node exit at once (through process.exit, which writes the profile).
    const hurry = this.o.profileDir
      ? setTimeout(() => {
          for (const pid of pids) {
            try {
              process.kill(pid, 'SIGTERM');
            } catch {
              // already gone
            }
          }
        }, profileStopGraceMs)
      : undefined;
    try {
      await stopping;
    } finally {
      clearTimeout(hurry);
    }
    await cluster.done.catch(() => {}); // a node that exited uncleanly during the stop is not a benchmark figure
  }

  /**
   * Waits until the nodes together host `expected` partition replicas (raftbus_raft_groups{kind=
   * "partition"} on every node's /metrics): every partition having a leader does not mean every
   * follower has opened its replica yet. Returns the count last seen; polls every 2 s up to timeoutMs.
   */
  async waitForReplicas(expected: number, timeoutMs: number): Promise<number> {
    const urls = (this.cluster?.nodes ?? []).map((n) => n.metricsUrl);
    const until = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      seen = 0;
      for (const url of urls) {
        const text = await fetch(url, { signal: AbortSignal.timeout(10_000) })
          .then((r) => r.text())
          .catch(() => '');
        for (const m of text.matchAll(/^raftbus_raft_groups\{[^}]*kind="partition"[^}]*\} (\d+)/gm))
          seen += Number(m[1]);
      }
      if (seen >= expected || Date.now() > until) return seen;
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }

  /** The last node output lines (for a failure message). */
  get outputTail(): string[] {
    return [...this.tail];
  }

  get partitionCount(): number {
    return this.partitions;
  }

  private newClient(inFlight = 64): RaftbusClient {
    const c = new RaftbusClient({
      brokers: this.brokers,
      clientId: 'raftbus-bench',
      inFlightMax: Math.min(connectionInFlightMax, Math.max(64, inFlight)),
    });
    this.clients.push(c);
    return c;
  }
}

/** Polls fresh metadata until every partition of the topic has a leader; TargetNotReadyError at the signal. */
async function waitForLeaders(client: RaftbusClient, topic: string, partitions: number, signal: AbortSignal) {
  for (;;) {
    const info = await client.topic(topic, { refresh: true, signal }).catch(() => null);
    const led = info ? info.partitions.filter((p) => p.leader >= 0).length : 0;
    if (info && info.partitions.length === partitions && led === partitions) return;
    if (signal.aborted) throw new TargetNotReadyError(`${led} of ${partitions} partitions of ${topic} have a leader`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

export function raftbusTarget(o: RaftbusTargetOptions = {}): BenchTarget & {
  readonly outputTail: string[];
  waitForReplicas(expected: number, timeoutMs: number): Promise<number>;
} {
  return new RaftbusTarget(o);
}
