/**
 * The multi-host harness contract: an N-node raftbus cluster where each node is
 * its own host (a network namespace with a private address on a bridge that
 * lives in a namespace the harness created), or, when namespaces are not
 * available, plain loopback processes. Chaos tests and the benchmark code
 * against this interface only; they never call `ip` or `iptables` themselves.
 *
 * Clients run in a "client host" too: in netns mode the root namespace has no
 * route to the nodes (no address of ours lives outside our own namespaces), so
 * anything that talks to the cluster (the chaos workload, probes of /metrics)
 * is spawned with `spawnOnClientHost` and talks to its parent over stdio.
 */
import type { ChildProcess } from 'node:child_process';

export type HostsMode = 'netns' | 'loopback';

export interface HostNode {
  nodeId: number;
  /** The host's name where it has one (the compose service, e.g. `broker-1`). Added by the harness. */
  name?: string;
  /** Address clients use, as `host:port` (in netns mode the node's private address or service name). */
  clientAddress: string;
  /** URL base of /health and /metrics, e.g. http://10.77.0.2:10092 */
  httpBase: string;
  /** Pid of the node process while it runs (the raftbus process itself, not a wrapper), else null. */
  pid: number | null;
  dataDir: string;
}

export interface ClusterHostsOptions {
  nodes: number;
  /** Extra `raftbus node` flags for every node (e.g. ['--simulate-power-loss', '--flush', 'never']). */
  nodeArgs?: string[];
  /** 'auto' (default): netns when running as root with `ip` and `iptables`, else loopback. */
  mode?: HostsMode | 'auto';
  /** Root folder for data dirs and node logs (each node logs to <dir>/node-<id>.log). */
  dir: string;
}

export interface ClusterHosts {
  readonly mode: HostsMode;
  /** Why this mode was chosen (e.g. 'netns: root, ip and iptables present' or 'loopback: not root'). */
  readonly modeReason: string;
  readonly nodes: readonly HostNode[];
  /** Bootstrap list for clients: every node's clientAddress. */
  readonly bootstrap: string[];

  /** kill -9 of a node; resolves when the process is gone. No-op when it is not running. */
  kill(nodeId: number): Promise<void>;
  /** SIGSTOP / SIGCONT. */
  pause(nodeId: number): Promise<void>;
  resume(nodeId: number): Promise<void>;
  /** Start a stopped/killed node again on the same data dir; resolves when it listens. */
  restart(nodeId: number): Promise<void>;
  /** Graceful SIGTERM of one node. */
  stopNode(nodeId: number): Promise<void>;

  /** True when network faults are possible (netns mode). */
  readonly canPartition: boolean;
  /**
   * Make `to` drop every packet coming from `from` (one direction only; the other
   * direction keeps flowing). `from` may be 'client' for the client host.
   * Throws PartitionUnsupportedError in loopback mode.
   */
  dropFrom(to: number, from: number | 'client'): Promise<void>;
  /** Remove every drop rule on every node. */
  healNetwork(): Promise<void>;

  /**
   * Spawn `process.execPath` with `args` on the client host (inside the client
   * namespace in netns mode, a plain child in loopback mode), stdio piped.
   */
  spawnOnClientHost(args: string[], env?: NodeJS.ProcessEnv): ChildProcess;
  /** GET a URL from the client host (e.g. a node's /metrics); resolves with the body. */
  httpGet(url: string, timeoutMs?: number): Promise<string>;

  /** Stop every process by pid, delete namespaces, bridge and rules, remove nothing in `dir`. */
  close(): Promise<void>;
}
