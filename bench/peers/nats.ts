/**
 * NATS JetStream as a benchmark target: a 3-node (o.nodes) JetStream cluster
 * on 127.0.0.1 started from Debian's nats-server, ONE STREAM PER PARTITION
 * (`bench-p<p>` on subject `bench.<p>`). Each JetStream stream is its own Raft
 * group, so a stream per partition is the closest match to a raftbus partition
 * (one Raft group each); one stream with N subjects would put every partition
 * behind one Raft leader and one log.
 *
 * Durability (checked): nats-server 2.9.10 rejects `sync_interval` in its
 * jetstream block ("unknown field"; the setting arrived in 2.10). Its file store
 * syncs on an internal timer (two minutes by default per the NATS docs), and a
 * PubAck only means the stream's Raft quorum has the message in memory / page
 * cache. nats-io/nats-server#7564 (Jepsen, 2.12) shows acknowledged writes lost
 * this way under power loss. So the comparison is against a weaker guarantee.
 *
 * Producer: one connection per producer, `js.publish` per message, resolved on
 * the PubAck. Consumer: one ordered (ack-none, flow-controlled) consumer per
 * stream on one connection.
 */
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ConsumerMessages,
  connect,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  StorageType,
} from 'nats';
import { freePorts } from '../../node/util/free-ports.ts';
import type {
  ProducerSpec,
  TargetConsumer,
  TargetProcess,
  TargetProducer,
  TargetStartOptions,
} from '../cluster/target.ts';
import {
  PeerBinaryMissingError,
  PeerInFlightLimitError,
  PeerNotStartedError,
  PeerPartitionError,
  PeerStartError,
} from './errors.ts';
import { killLeftovers, type PeerTarget, peerEnv } from './leftovers.ts';
import { renderNatsConfig } from './nats-config.ts';
import { type LoggedProcess, logTail, runCommand, spawnLogged, stopPid, waitUntil } from './process.ts';

const NATS_SERVER_PATHS = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];
const CLUSTER_NAME = 'raftbus-bench';
/** nats-server starts in about a second and elects its meta leader in a few; the bound allows a busy machine. */
const START_TIMEOUT_MS = 120_000;
const REQUEST_TIMEOUT_MS = 5_000;
const STOP_GRACE_MS = 10_000;
const CONSUMER_BATCH_MESSAGES = 1000;
const RETRY_INTERVAL_MS = 200;

export const NATS_DURABILITY =
  "PubAck after the stream's Raft quorum has the message; nats-server 2.9.10 has no sync_interval " +
  "and does not fsync before acking (weaker than raftbus's fsync before ack)";

/** The nats-server binary, or undefined when it is not installed. */
export function natsServerPath(): string | undefined {
  const fromEnv = process.env.RAFTBUS_NATS_SERVER;
  for (const p of fromEnv ? [fromEnv, ...NATS_SERVER_PATHS] : NATS_SERVER_PATHS) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

export function natsStreamName(partition: number): string {
  return `bench-p${partition}`;
}

export function natsSubject(partition: number): string {
  return `bench.${partition}`;
}

interface NatsNode {
  name: string;
  clientPort: number;
  proc: LoggedProcess;
}

export function natsTarget(): PeerTarget {
  return new NatsTarget();
}

class NatsTarget implements PeerTarget {
  readonly name = 'nats';
  readonly durability = NATS_DURABILITY;
  private nodes: NatsNode[] = [];
  private partitions = 0;
  private runDir: string | undefined;
  leftoversKilled: readonly number[] = [];
  /** Connections this target opened (producers, consumers), closed by stop() if the caller did not. */
  private readonly connections = new Set<NatsConnection>();

  async version(): Promise<string> {
    const bin = requireNatsServer();
    const r = await runCommand(bin, ['--version'], { env: process.env, timeoutMs: REQUEST_TIMEOUT_MS });
    // "nats-server: v2.9.10"
    const m = /v?(\d+\.\d+\.\d+\S*)/.exec(r.output);
    return m ? `nats-server ${m[1]}` : `nats-server (unknown version: ${r.output.trim().slice(0, 80)})`;
  }

  async start(o: TargetStartOptions): Promise<void> {
    if (this.nodes.length > 0) throw new Error('nats target already started');
    if (o.nodes < 1 || o.replication < 1 || o.replication > o.nodes || o.partitions < 1) {
      throw new Error(`bad options: nodes=${o.nodes} replication=${o.replication} partitions=${o.partitions}`);
    }
    const bin = requireNatsServer();
    this.partitions = o.partitions;
    this.runDir = o.dir;
    const ports = await freePorts(o.nodes * 2);
    const clientPorts = ports.slice(0, o.nodes);
    const clusterPorts = ports.slice(o.nodes);
    try {
      for (let i = 0; i < o.nodes; i++) {
        const name = `nats-${i + 1}`;
        const nodeDir = join(o.dir, name);
        mkdirSync(join(nodeDir, 'jetstream'), { recursive: true });
        const confPath = join(nodeDir, 'nats.conf');
        writeFileSync(
          confPath,
          renderNatsConfig({
            serverName: name,
            clientPort: at(clientPorts, i),
            clusterPort: at(clusterPorts, i),
            routePorts: clusterPorts.filter((_, j) => j !== i),
            storeDir: join(nodeDir, 'jetstream'),
            clusterName: CLUSTER_NAME,
          }),
        );
        const proc = spawnLogged({
          name,
          command: bin,
          args: ['-c', confPath],
          env: peerEnv(o.dir),
          logPath: join(nodeDir, 'nats.log'),
        });
        this.nodes.push({ name, clientPort: at(clientPorts, i), proc });
      }
      await this.createStreams(o.replication);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  processes(): TargetProcess[] {
    return this.nodes.map((n) => ({ name: n.name, pid: n.proc.pid }));
  }

  async openProducer(spec: ProducerSpec): Promise<TargetProducer> {
    const nc = await this.connect();
    return new NatsProducer(nc, nc.jetstream({ timeout: REQUEST_TIMEOUT_MS }), spec, this.partitions, () =>
      this.connections.delete(nc),
    );
  }

  async openConsumer(onValue: (partition: number, value: Uint8Array) => void): Promise<TargetConsumer> {
    const nc = await this.connect();
    const js = nc.jetstream({ timeout: REQUEST_TIMEOUT_MS });
    const subscriptions: ConsumerMessages[] = [];
    try {
      for (let p = 0; p < this.partitions; p++) {
        const partition = p;
        // No name: an ordered consumer (ephemeral, ack none, flow control, recreated on a gap).
        const consumer = await js.consumers.get(natsStreamName(p));
        subscriptions.push(
          await consumer.consume({
            max_messages: CONSUMER_BATCH_MESSAGES,
            callback: (m) => onValue(partition, m.data),
          }),
        );
      }
    } catch (err) {
      await closeConnection(nc);
      this.connections.delete(nc);
      throw err;
    }
    return {
      close: async () => {
        for (const s of subscriptions) await s.close();
        await closeConnection(nc);
        this.connections.delete(nc);
      },
    };
  }

  async stop(): Promise<void> {
    for (const nc of this.connections) await closeConnection(nc);
    this.connections.clear();
    const nodes = this.nodes;
    this.nodes = [];
    await Promise.all(
      nodes.map(async (n) => {
        await stopPid(n.proc.pid, STOP_GRACE_MS);
        await Promise.race([n.proc.exited, new Promise((r) => setTimeout(r, STOP_GRACE_MS))]);
      }),
    );
    this.leftoversKilled = this.runDir === undefined ? [] : await killLeftovers(this.runDir);
    this.runDir = undefined;
  }

  private async connect(): Promise<NatsConnection> {
    if (this.nodes.length === 0) throw new PeerNotStartedError('nats target is not started');
    const nc = await connect({
      servers: this.nodes.map((n) => `127.0.0.1:${n.clientPort}`),
      timeout: REQUEST_TIMEOUT_MS,
      name: 'raftbus-bench',
    });
    this.connections.add(nc);
    return nc;
  }

  /**
   * JetStream answers "temporarily unavailable" until the meta group has a leader, so the
   * first create is retried (bounded by START_TIMEOUT_MS); then each stream must have a
   * leader and all replicas current before the benchmark starts.
   */
  private async createStreams(replication: number): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    let lastError: unknown;
    let nc: NatsConnection | undefined;
    try {
      while (nc === undefined) {
        this.assertAlive();
        try {
          nc = await connect({
            servers: this.nodes.map((n) => `127.0.0.1:${n.clientPort}`),
            timeout: REQUEST_TIMEOUT_MS,
            maxReconnectAttempts: -1,
          });
        } catch (err) {
          lastError = err;
          await this.retryPause(deadline, 'no node accepted a client connection', lastError);
        }
      }
      let jsm: JetStreamManager | undefined;
      for (let p = 0; p < this.partitions; p++) {
        for (;;) {
          this.assertAlive();
          try {
            jsm ??= await nc.jetstreamManager({ timeout: REQUEST_TIMEOUT_MS });
            await jsm.streams.add({
              name: natsStreamName(p),
              subjects: [natsSubject(p)],
              num_replicas: replication,
              storage: StorageType.File,
            });
            break;
          } catch (err) {
            lastError = err;
            await this.retryPause(deadline, `stream ${natsStreamName(p)} was not created`, lastError);
          }
        }
      }
      const manager = jsm;
      if (manager === undefined) throw new Error('no JetStream manager after creating streams');
      for (let p = 0; p < this.partitions; p++) {
        const ready = await waitUntil(async () => {
          this.assertAlive();
          try {
            const info = await manager.streams.info(natsStreamName(p));
            const replicas = info.cluster?.replicas ?? [];
            return (
              info.cluster?.leader !== undefined &&
              replicas.length === replication - 1 &&
              replicas.every((r) => r.current)
            );
          } catch (err) {
            lastError = err;
            return false;
          }
        }, deadline - Date.now());
        if (!ready) {
          throw this.startError(`stream ${natsStreamName(p)} has no leader with current replicas`, lastError);
        }
      }
    } finally {
      if (nc !== undefined) await closeConnection(nc);
    }
  }

  private async retryPause(deadline: number, what: string, cause: unknown): Promise<void> {
    if (Date.now() + RETRY_INTERVAL_MS > deadline) {
      throw this.startError(`${what} within ${START_TIMEOUT_MS} ms`, cause);
    }
    await new Promise((r) => setTimeout(r, RETRY_INTERVAL_MS));
  }

  private assertAlive(): void {
    const dead = this.nodes.find((n) => n.proc.hasExited());
    if (dead) throw new PeerStartError(dead.name, 'the server exited during start', logTail(dead.proc.logPath));
  }

  private startError(reason: string, cause: unknown): PeerStartError {
    const first = this.nodes[0];
    const detail = cause instanceof Error ? `${reason} (last error: ${cause.message})` : reason;
    return new PeerStartError(first?.name ?? 'nats', detail, first ? logTail(first.proc.logPath) : '', { cause });
  }
}

class NatsProducer implements TargetProducer {
  private readonly nc: NatsConnection;
  private readonly js: JetStreamClient;
  private readonly inFlightMax: number;
  private readonly partitions: number;
  private readonly onClose: () => void;
  private inFlight = 0;

  constructor(nc: NatsConnection, js: JetStreamClient, spec: ProducerSpec, partitions: number, onClose: () => void) {
    this.nc = nc;
    this.js = js;
    this.inFlightMax = spec.inFlightMax;
    this.partitions = partitions;
    this.onClose = onClose;
  }

  async send(partition: number, value: Uint8Array): Promise<void> {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitions) {
      throw new PeerPartitionError(partition, this.partitions);
    }
    if (this.inFlight >= this.inFlightMax) throw new PeerInFlightLimitError(this.inFlightMax);
    this.inFlight++;
    try {
      await this.js.publish(natsSubject(partition), value);
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    await closeConnection(this.nc);
    this.onClose();
  }
}

async function closeConnection(nc: NatsConnection): Promise<void> {
  if (nc.isClosed()) return;
  try {
    await nc.close();
  } catch {
    // closing a broken connection: nothing left to release
  }
}

function requireNatsServer(): string {
  const bin = natsServerPath();
  if (bin === undefined) throw new PeerBinaryMissingError(NATS_SERVER_PATHS.join(' or '));
  return bin;
}

function at(xs: number[], i: number): number {
  const x = xs[i];
  if (x === undefined) throw new Error(`index ${i} outside ${xs.length} ports`);
  return x;
}
