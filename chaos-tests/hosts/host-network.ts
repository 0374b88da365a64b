/**
 * What a cluster's hosts are made of: loopback processes, or network
 * namespaces on a bridge. The cluster (hosted-cluster.ts) manages node
 * processes the same way over either; the network decides how a process is
 * put on a host, how the client host reaches the nodes, and whether links can
 * be cut.
 */
import type { ChildProcess } from 'node:child_process';
import type { HostsMode } from './types.ts';

export interface HostNetwork {
  readonly mode: HostsMode;
  readonly canPartition: boolean;
  /** The command line that runs `command args` on the host of `nodeId`. */
  onNodeHost(nodeId: number, command: string, args: string[]): { command: string; args: string[] };
  dropFrom(to: number, from: number | 'client'): Promise<void>;
  healNetwork(): Promise<void>;
  /** `process.execPath args` on the client host, stdio piped; `env` is the whole environment. */
  spawnOnClientHost(args: string[], env: NodeJS.ProcessEnv): ChildProcess;
  /** GET from the client host: status and body of any HTTP answer; rejects with HttpGetError when there is none. */
  httpRequest(url: string, timeoutMs: number): Promise<{ status: number; body: string }>;
  /** Undo everything the network built (after the processes on it are gone). Idempotent. */
  close(): Promise<void>;
  /** The same, synchronously, for process-exit hooks. */
  closeSync(): void;
}
