/**
 * A ClusterHosts over any HostNetwork: starts, kills, pauses, restarts and
 * stops the node processes by pid, waits for each to listen and to answer
 * /health (registered with the controller), probes from the client host, and
 * tears everything down once (close, or the process-exit hook).
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { HostsUsageError } from './errors.ts';
import { onProcessExit } from './exit-hooks.ts';
import type { HostNetwork } from './host-network.ts';
import { httpGetDefaults, okBody } from './http-get.ts';
import { type NodeLaunch, NodeProcessRun } from './node-process.ts';
import type { ClusterHosts, HostNode, HostsMode } from './types.ts';

export interface HostedNodeSpec {
  node: Omit<HostNode, 'pid'>;
  /** The node's own command line (the network puts it on the node's host). */
  launch: NodeLaunch;
  /** Wait for /health `cluster.registered` too (a node in cluster mode). */
  clustered: boolean;
}

export interface HostedClusterOptions {
  startTimeoutMs: number;
  stopTimeoutMs: number;
}

export const hostedClusterDefaults: HostedClusterOptions = { startTimeoutMs: 40_000, stopTimeoutMs: 10_000 };

/** Bound on one /health probe while a node starts. */
const healthProbeTimeoutMs = 2_000;
const healthPollIntervalMs = 50;
/** Bound on waiting for the kernel to report a SIGSTOPped process as stopped. */
const pauseSettleMs = 2_000;
/** Client-host children kept track of (so close can stop them); more is a usage error. */
const clientChildrenMax = 1_024;

export class HostedCluster implements ClusterHosts {
  readonly mode: HostsMode;
  readonly modeReason: string;
  readonly nodes: readonly HostNode[];
  readonly bootstrap: string[];
  readonly network: HostNetwork;
  private readonly specs = new Map<number, HostedNodeSpec>();
  private readonly runs = new Map<number, NodeProcessRun>();
  private readonly clientChildren = new Set<ChildProcess>();
  /** Nodes whose start is in progress: a second start of one would run two processes on one data dir. */
  private readonly starting = new Set<number>();
  private readonly o: HostedClusterOptions;
  private closing: Promise<void> | null = null;
  private readonly unhook: () => void;

  constructor(modeReason: string, network: HostNetwork, specs: HostedNodeSpec[], o: HostedClusterOptions) {
    this.mode = network.mode;
    this.modeReason = modeReason;
    this.network = network;
    this.o = o;
    this.nodes = specs.map((s) => ({ ...s.node, pid: null }));
    this.bootstrap = specs.map((s) => s.node.clientAddress);
    for (const s of specs) this.specs.set(s.node.nodeId, s);
    this.unhook = onProcessExit(() => this.closeSync());
  }

  get canPartition(): boolean {
    return this.network.canPartition;
  }

  /** Starts every node and waits until all are ready; on failure tears everything down and throws. */
  async startAll(): Promise<void> {
    try {
      await Promise.all([...this.specs.keys()].map((id) => this.startNode(id)));
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async kill(nodeId: number): Promise<void> {
    const run = this.runs.get(this.spec(nodeId).node.nodeId);
    if (!run?.running) return;
    run.signal('SIGKILL');
    await run.exited;
  }

  async pause(nodeId: number): Promise<void> {
    const run = this.running(nodeId, 'pause');
    run.signal('SIGSTOP');
    await waitProcState(run.pid, (s) => s === 'T' || s === 't', pauseSettleMs);
  }

  async resume(nodeId: number): Promise<void> {
    const run = this.running(nodeId, 'resume');
    run.signal('SIGCONT');
    await waitProcState(run.pid, (s) => s !== 'T' && s !== 't', pauseSettleMs);
  }

  async restart(nodeId: number): Promise<void> {
    if (this.closing) throw new HostsUsageError('the cluster is closing');
    const run = this.runs.get(this.spec(nodeId).node.nodeId);
    if (run?.running) throw new HostsUsageError(`node ${nodeId} is still running (kill or stop it first)`);
    await this.startNode(nodeId);
  }

  async stopNode(nodeId: number): Promise<void> {
    const run = this.runs.get(this.spec(nodeId).node.nodeId);
    if (run) await this.terminate(run);
  }

  async dropFrom(to: number, from: number | 'client'): Promise<void> {
    this.spec(to);
    if (from !== 'client') this.spec(from);
    await this.network.dropFrom(to, from);
  }

  healNetwork(): Promise<void> {
    return this.network.healNetwork();
  }

  spawnOnClientHost(args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
    if (this.closing) throw new HostsUsageError('the cluster is closing');
    if (this.clientChildren.size >= clientChildrenMax)
      throw new HostsUsageError(`more than ${clientChildrenMax} client-host processes running`);
    const child = this.network.spawnOnClientHost(args, { ...process.env, ...env });
    this.clientChildren.add(child);
    child.once('exit', () => this.clientChildren.delete(child));
    child.once('error', () => this.clientChildren.delete(child));
    return child;
  }

  async httpGet(url: string, timeoutMs: number = httpGetDefaults.timeoutMs): Promise<string> {
    return okBody(url, await this.network.httpRequest(url, timeoutMs));
  }

  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    for (const c of this.clientChildren) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all([...this.runs.values()].map((r) => this.terminate(r)));
    await Promise.all(
      [...this.clientChildren].map(
        (c) =>
          new Promise<void>((resolve) =>
            c.pid === undefined || c.exitCode !== null || c.signalCode !== null
              ? resolve()
              : c.once('exit', () => resolve()),
          ),
      ),
    );
    await this.network.close();
    this.unhook();
  }

  /** Exit-hook teardown: SIGKILL everything by pid (no time for graceful stops), then the network. */
  private closeSync(): void {
    for (const c of this.clientChildren) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const r of this.runs.values()) r.signal('SIGKILL');
    this.network.closeSync();
  }

  /** SIGTERM (and SIGCONT, so a paused node receives it), SIGKILL after stopTimeoutMs; resolves once gone. */
  private async terminate(run: NodeProcessRun): Promise<void> {
    if (!run.running) return;
    run.signal('SIGTERM');
    run.signal('SIGCONT');
    const timer = setTimeout(() => run.signal('SIGKILL'), this.o.stopTimeoutMs);
    try {
      await run.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private async startNode(nodeId: number): Promise<void> {
    const spec = this.spec(nodeId);
    if (this.starting.has(nodeId)) throw new HostsUsageError(`node ${nodeId} is already starting`);
    this.starting.add(nodeId);
    try {
      await this.startRun(nodeId, spec);
    } finally {
      this.starting.delete(nodeId);
    }
  }

  private async startRun(nodeId: number, spec: HostedNodeSpec): Promise<void> {
    const node = this.nodes.find((n) => n.nodeId === nodeId)!;
    const onHost = this.network.onNodeHost(nodeId, spec.launch.command, spec.launch.args);
    const run = new NodeProcessRun({ ...spec.launch, ...onHost });
    this.runs.set(nodeId, run);
    (node as { pid: number | null }).pid = run.pid;
    void run.exited.then(() => {
      if (this.runs.get(nodeId) === run) (node as { pid: number | null }).pid = null;
    });
    const signal = AbortSignal.timeout(this.o.startTimeoutMs);
    try {
      await run.listening(signal);
      run.assertPidIsNode();
      await this.healthy(run, spec, signal);
    } catch (err) {
      run.signal('SIGKILL');
      await run.exited;
      throw err;
    }
  }

  private async healthy(run: NodeProcessRun, spec: HostedNodeSpec, signal: AbortSignal): Promise<void> {
    const url = `${spec.node.httpBase}/health`;
    let last = '';
    for (;;) {
      if (!run.running) throw run.startError('exited before /health answered ok');
      if (signal.aborted) throw run.startError(`/health did not answer ok in time (last: ${last})`);
      try {
        const a = await this.network.httpRequest(url, healthProbeTimeoutMs);
        last = `HTTP ${a.status} ${a.body.slice(0, 200)}`;
        const body = JSON.parse(a.body) as { status?: string; cluster?: { registered?: boolean } };
        if (a.status === 200 && body.status === 'ok' && (!spec.clustered || body.cluster?.registered === true)) return;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, healthPollIntervalMs));
    }
  }

  private running(nodeId: number, what: string): NodeProcessRun {
    const run = this.runs.get(this.spec(nodeId).node.nodeId);
    if (!run?.running) throw new HostsUsageError(`cannot ${what} node ${nodeId}: it is not running`);
    return run;
  }

  private spec(nodeId: number): HostedNodeSpec {
    const s = this.specs.get(nodeId);
    if (!s)
      throw new HostsUsageError(`no node ${nodeId} in this cluster (nodes: ${[...this.specs.keys()].join(', ')})`);
    return s;
  }
}

/** Polls /proc/<pid>/stat until its state letter satisfies `ok` (Linux); elsewhere returns at once. */
async function waitProcState(pid: number, ok: (state: string) => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let state: string;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      return; // gone, or no /proc
    }
    if (ok(state)) return;
    if (Date.now() > deadline) throw new HostsUsageError(`process ${pid} stayed in state ${state} for ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
