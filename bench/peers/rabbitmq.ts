/**
 * RabbitMQ quorum queues as a benchmark target: a 3-node (o.nodes) cluster on
 * 127.0.0.1 started from Debian's rabbitmq-server with the unwrapped scripts in
 * /usr/lib/rabbitmq/bin (the /usr/sbin wrappers switch user), nodes 2..N joined
 * to rabbit1 with rabbitmqctl, and one quorum queue per partition (`bench-p<p>`,
 * x-quorum-initial-group-size = replication). A quorum queue is a Raft group, the
 * closest peer in design to a raftbus partition; it confirms a publish after its
 * Raft quorum fsynced it.
 *
 * The run owns an epmd of its own on 127.0.0.1 at a free port (ERL_EPMD_PORT), so
 * it never touches a system epmd, and stops it by pid at the end.
 */

import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ChannelModel, connect } from 'amqplib';
import { freePorts } from '../../node/util/free-ports.ts';
import type {
  ProducerSpec,
  TargetConsumer,
  TargetProcess,
  TargetProducer,
  TargetStartOptions,
} from '../cluster/target.ts';
import { PeerBinaryMissingError, PeerCommandError, PeerNotStartedError, PeerStartError } from './errors.ts';
import { killLeftovers, type PeerTarget, peerEnv } from './leftovers.ts';
import { type LoggedProcess, logTail, pidAlive, runCommand, spawnLogged, stopPid, waitUntil } from './process.ts';
import { openRabbitConsumer } from './rabbitmq-consumer.ts';
import {
  prepareRabbitNode,
  RABBITMQ_SCRIPTS_DIR,
  type RabbitNode,
  type RabbitShared,
  rabbitNode,
  rabbitNodeEnv,
} from './rabbitmq-node.ts';
import { RabbitProducer } from './rabbitmq-producer.ts';

const EPMD_PATHS = ['/usr/bin/epmd', '/usr/lib/erlang/bin/epmd'];
const RABBITMQ_LIB_DIR = '/usr/lib/rabbitmq/lib';
/**
 * One node boots in ~15 s on an idle 2-core machine here, but over a minute when the
 * machine is busy (seen at load average 17): the bound is generous, and the boot-time
 * peer discovery retries for as long (rabbitmq-node.ts).
 */
const START_TIMEOUT_MS = 180_000;
const COMMAND_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
const RETRY_INTERVAL_MS = 250;
/** The CLI's own distribution port is derived from the node's (+10000..+10010): keep both below the ephemeral range. */
const DIST_PORT_BELOW = 22_000;

export const RABBITMQ_DURABILITY = "publisher confirm after the quorum queue's Raft quorum fsynced the message";

/** The unwrapped rabbitmq-server script, or undefined when RabbitMQ (or epmd) is not installed. */
export function rabbitmqServerPath(): string | undefined {
  const script = join(RABBITMQ_SCRIPTS_DIR, 'rabbitmq-server');
  return existsSync(script) && epmdPath() !== undefined ? script : undefined;
}

export function rabbitQueueName(partition: number): string {
  return `bench-p${partition}`;
}

function epmdPath(): string | undefined {
  return EPMD_PATHS.find((p) => existsSync(p));
}

interface RunningNode {
  node: RabbitNode;
  env: NodeJS.ProcessEnv;
  /** The rabbitmq-server script (a shell that waits for its erl child). */
  script: LoggedProcess;
  /** beam.smp, from the pid file once the node is up. */
  beamPid: number;
}

export function rabbitmqTarget(): PeerTarget {
  return new RabbitTarget();
}

class RabbitTarget implements PeerTarget {
  readonly name = 'rabbitmq';
  readonly durability = RABBITMQ_DURABILITY;
  private nodes: RunningNode[] = [];
  private epmd: LoggedProcess | undefined;
  private queueNames: string[] = [];
  private producersOpened = 0;
  private runDir: string | undefined;
  leftoversKilled: readonly number[] = [];
  private readonly connections = new Set<ChannelModel>();

  async version(): Promise<string> {
    // From the installed release folder: rabbitmqctl version would start an Erlang VM and a system epmd.
    const server = existsSync(RABBITMQ_LIB_DIR)
      ? readdirSync(RABBITMQ_LIB_DIR).find((d) => d.startsWith('rabbitmq_server-'))
      : undefined;
    if (server === undefined) throw new PeerBinaryMissingError(join(RABBITMQ_LIB_DIR, 'rabbitmq_server-*'));
    const otp = readOtpVersion();
    return `rabbitmq-server ${server.slice('rabbitmq_server-'.length)}${otp ? ` (Erlang/OTP ${otp})` : ''}`;
  }

  async start(o: TargetStartOptions): Promise<void> {
    if (this.nodes.length > 0 || this.epmd) throw new Error('rabbitmq target already started');
    if (o.nodes < 1 || o.replication < 1 || o.replication > o.nodes || o.partitions < 1) {
      throw new Error(`bad options: nodes=${o.nodes} replication=${o.replication} partitions=${o.partitions}`);
    }
    const script = rabbitmqServerPath();
    const epmdBin = epmdPath();
    if (script === undefined || epmdBin === undefined) {
      throw new PeerBinaryMissingError(`${join(RABBITMQ_SCRIPTS_DIR, 'rabbitmq-server')} and epmd`);
    }
    this.runDir = o.dir;
    try {
      const [epmdPort, ...amqpPorts] = await freePorts(1 + o.nodes);
      const distPorts = await freePorts(o.nodes, { below: DIST_PORT_BELOW });
      if (epmdPort === undefined) throw new Error('no port for epmd');
      const shared: RabbitShared = { runDir: o.dir, home: join(o.dir, 'home'), epmdPort };
      writeCookie(shared.home);
      this.epmd = spawnLogged({
        name: 'epmd',
        command: epmdBin,
        args: ['-address', '127.0.0.1', '-port', String(epmdPort)],
        env: peerEnv(o.dir),
        logPath: join(o.dir, 'epmd.log'),
      });
      const nodes = amqpPorts.map((p, i) => rabbitNode(o.dir, i, p, distPorts[i] ?? 0));
      const seed = nodes[0];
      if (seed === undefined) throw new Error('no nodes');
      for (const n of nodes) prepareRabbitNode(n, seed.nodeName);
      // epmd must listen before the VMs register with it
      await this.waitForEpmd(epmdPort);
      // The seed boots first, alone; then the others boot at once and join it at their first
      // boot (peer discovery), which saves the stop_app / join_cluster / start_app round of
      // the manual way (a CLI Erlang VM per call, 3-8 s each here). Booting the seed with
      // the others was faster, but one run hung for 3 minutes: a joiner took the discovery
      // lock (global:set_lock on the seed) while the seed was still booting and never came back.
      this.spawnNode(script, seed, shared);
      await this.awaitAmqp(at(this.nodes, 0));
      for (const n of nodes.slice(1)) this.spawnNode(script, n, shared);
      await Promise.all(this.nodes.slice(1).map((r) => this.awaitAmqp(r)));
      await this.ensureCluster(o.nodes);
      await this.declareQueues(o.partitions, o.replication);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  processes(): TargetProcess[] {
    return this.nodes.filter((r) => r.beamPid > 0).map((r) => ({ name: r.node.shortName, pid: r.beamPid }));
  }

  async openProducer(spec: ProducerSpec): Promise<TargetProducer> {
    // producers spread over the nodes like clients of a load balancer would
    const conn = await this.connect(this.producersOpened++);
    return new RabbitProducer(conn, this.queueNames, spec.inFlightMax, () => this.connections.delete(conn));
  }

  async openConsumer(onValue: (partition: number, value: Uint8Array) => void): Promise<TargetConsumer> {
    const conn = await this.connect(0);
    try {
      return await openRabbitConsumer(conn, this.queueNames, onValue, () => this.connections.delete(conn));
    } catch (err) {
      await closeQuietly(conn);
      this.connections.delete(conn);
      throw err;
    }
  }

  async stop(): Promise<void> {
    for (const c of this.connections) await closeQuietly(c);
    this.connections.clear();
    const nodes = this.nodes;
    this.nodes = [];
    await Promise.all(
      nodes.map(async (r) => {
        const beam = r.beamPid > 0 ? r.beamPid : readPidFile(r.node.pidFile);
        // SIGTERM makes the Erlang VM (OTP >= 19.3) run init:stop(), the same orderly shutdown
        // as `rabbitmqctl stop` without starting a CLI VM per node; SIGKILL after the grace time.
        if (beam !== undefined) await stopPid(beam, STOP_GRACE_MS);
        await stopPid(r.script.pid, STOP_GRACE_MS);
        await Promise.race([r.script.exited, new Promise((res) => setTimeout(res, STOP_GRACE_MS))]);
      }),
    );
    const epmd = this.epmd;
    this.epmd = undefined;
    if (epmd) {
      await stopPid(epmd.pid, STOP_GRACE_MS);
      await Promise.race([epmd.exited, new Promise((res) => setTimeout(res, STOP_GRACE_MS))]);
    }
    this.leftoversKilled = this.runDir === undefined ? [] : await killLeftovers(this.runDir);
    this.runDir = undefined;
    this.queueNames = [];
  }

  private async connect(index: number): Promise<ChannelModel> {
    if (this.nodes.length === 0) throw new PeerNotStartedError('rabbitmq target is not started');
    const r = this.nodes[index % this.nodes.length];
    if (r === undefined) throw new PeerNotStartedError('rabbitmq target has no nodes');
    const conn = await connect(`amqp://guest:guest@127.0.0.1:${r.node.amqpPort}`);
    conn.on('error', () => {
      // the 'close' that follows fails the channels; producers and consumers report it
    });
    this.connections.add(conn);
    return conn;
  }

  private async waitForEpmd(port: number): Promise<void> {
    const epmd = this.epmd;
    if (epmd === undefined) throw new Error('epmd not spawned');
    const up = await waitUntil(async () => {
      if (epmd.hasExited()) return true;
      const r = await runCommand(epmdPath() ?? 'epmd', ['-names'], {
        env: { ...process.env, ERL_EPMD_PORT: String(port), ERL_EPMD_ADDRESS: '127.0.0.1' },
        timeoutMs: 5000,
      });
      return r.code === 0;
    }, START_TIMEOUT_MS);
    if (!up || epmd.hasExited()) {
      throw new PeerStartError('epmd', `epmd did not listen on 127.0.0.1:${port}`, logTail(epmd.logPath));
    }
  }

  private spawnNode(script: string, n: RabbitNode, shared: RabbitShared): void {
    const env = rabbitNodeEnv(n, shared);
    const proc = spawnLogged({ name: n.shortName, command: script, args: [], env, logPath: n.stdoutLog, cwd: n.dir });
    this.nodes.push({ node: n, env, script: proc, beamPid: -1 });
  }

  /**
   * A node opens its AMQP listener as the last boot step (after joining its cluster), so
   * a successful AMQP handshake means it is up. Cheaper than polling with rabbitmqctl,
   * which starts an Erlang VM per call.
   */
  private async awaitAmqp(r: RunningNode): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    let last = '';
    for (;;) {
      if (r.script.hasExited()) throw this.startError(r, `the server exited during start (${last})`);
      if (Date.now() >= deadline) throw this.startError(r, `not up within ${START_TIMEOUT_MS} ms (${last})`);
      try {
        const conn = await connect(`amqp://guest:guest@127.0.0.1:${r.node.amqpPort}`, { timeout: 2000 });
        await closeQuietly(conn);
        break;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
        await new Promise((res) => setTimeout(res, RETRY_INTERVAL_MS));
      }
    }
    const beam = readPidFile(r.node.pidFile);
    if (beam === undefined || !pidAlive(beam)) throw this.startError(r, `no live beam.smp pid in ${r.node.pidFile}`);
    r.beamPid = beam;
  }

  /**
   * Every node must be a running member of the seed's cluster. A node that did not join at
   * boot is joined the manual way (stop_app, join_cluster, start_app), then checked again.
   */
  private async ensureCluster(size: number): Promise<void> {
    const seed = at(this.nodes, 0);
    let running = await this.runningNodes(seed);
    for (const r of this.nodes.slice(1)) {
      if (running.includes(r.node.nodeName)) continue;
      await this.ctl(r, ['stop_app']);
      await this.ctl(r, ['reset']);
      await this.ctl(r, ['join_cluster', seed.node.nodeName]);
      await this.ctl(r, ['start_app']);
      running = await this.runningNodes(seed);
    }
    if (running.length !== size) {
      throw this.startError(seed, `cluster has ${running.length} of ${size} running nodes: ${running.join(', ')}`);
    }
  }

  private async runningNodes(r: RunningNode): Promise<string[]> {
    const res = await runCommand(ctlPath(), ['-n', r.node.nodeName, 'cluster_status', '--formatter', 'json'], {
      env: r.env,
      timeoutMs: COMMAND_TIMEOUT_MS,
    });
    if (res.code !== 0) {
      throw new PeerCommandError(
        `rabbitmqctl -n ${r.node.nodeName} cluster_status`,
        `exit code ${res.code}`,
        res.output,
      );
    }
    const json = res.output.slice(res.output.indexOf('{'));
    const status = JSON.parse(json) as { running_nodes?: unknown };
    const nodes = status.running_nodes;
    return Array.isArray(nodes) ? nodes.map(String) : [];
  }

  /**
   * One quorum queue per partition, declared through node (p mod N): 3.10 places the
   * Raft leader on the declaring client's node, so leaders spread over the cluster like
   * raftbus partition leaders do.
   */
  private async declareQueues(partitions: number, replication: number): Promise<void> {
    const names: string[] = [];
    for (let p = 0; p < partitions; p++) {
      const conn = await this.connect(p);
      try {
        const ch = await conn.createChannel();
        await ch.assertQueue(rabbitQueueName(p), {
          durable: true,
          arguments: { 'x-queue-type': 'quorum', 'x-quorum-initial-group-size': replication },
        });
        await ch.close();
      } finally {
        await closeQuietly(conn);
        this.connections.delete(conn);
      }
      names.push(rabbitQueueName(p));
    }
    this.queueNames = names;
  }

  private async ctl(r: RunningNode, args: string[]): Promise<void> {
    const res = await runCommand(ctlPath(), ['-n', r.node.nodeName, ...args], {
      env: r.env,
      timeoutMs: COMMAND_TIMEOUT_MS,
    });
    if (res.code !== 0) {
      const reason = res.timedOut ? `timed out after ${COMMAND_TIMEOUT_MS} ms` : `exit code ${res.code}`;
      throw new PeerCommandError(`rabbitmqctl -n ${r.node.nodeName} ${args.join(' ')}`, reason, res.output);
    }
  }

  private startError(r: RunningNode, reason: string): PeerStartError {
    return new PeerStartError(r.node.nodeName, reason, nodeLogTail(r.node));
  }
}

function at<T>(xs: T[], i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`index ${i} outside ${xs.length}`);
  return x;
}

function ctlPath(): string {
  return join(RABBITMQ_SCRIPTS_DIR, 'rabbitmqctl');
}

/** One cookie for every node and rabbitmqctl: Erlang refuses a cookie file others can read. */
function writeCookie(home: string): void {
  mkdirSync(home, { recursive: true });
  const cookiePath = join(home, '.erlang.cookie');
  const cookie = randomBytes(24).toString('hex').toUpperCase();
  writeFileSync(cookiePath, cookie, { mode: 0o400 });
  chmodSync(cookiePath, 0o400);
}

function readPidFile(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function nodeLogTail(n: RabbitNode): string {
  const logFile = join(n.logDir, `${n.nodeName}.log`);
  return `${logTail(n.stdoutLog, 2048)}\n--- ${logFile} ---\n${logTail(logFile, 2048)}`;
}

function readOtpVersion(): string | undefined {
  const releases = '/usr/lib/erlang/releases';
  try {
    for (const d of readdirSync(releases)) {
      const f = join(releases, d, 'OTP_VERSION');
      if (existsSync(f)) return readFileSync(f, 'utf8').trim();
    }
  } catch {
    // no Erlang release folder
  }
  return undefined;
}

async function closeQuietly(conn: ChannelModel): Promise<void> {
  try {
    await conn.close();
  } catch {
    // already closed
  }
}
