/**
 * Loopback "hosts": every node is a plain child process on 127.0.0.1 with its
 * own ports, and the client host is this machine. Nothing to build or tear
 * down, and no way to cut one link without cutting them all.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { PartitionUnsupportedError } from './errors.ts';
import type { HostNetwork } from './host-network.ts';
import { httpFetch } from './http-get.ts';

export class LoopbackNetwork implements HostNetwork {
  readonly mode = 'loopback' as const;
  readonly canPartition = false;

  onNodeHost(_nodeId: number, command: string, args: string[]): { command: string; args: string[] } {
    return { command, args };
  }

  async dropFrom(to: number, from: number | 'client'): Promise<void> {
    throw new PartitionUnsupportedError(
      `cannot drop packets from ${from} to ${to} in loopback mode (every node shares 127.0.0.1); use netns mode`,
    );
  }

  /** Nothing can have been cut: a no-op, so a nemesis's final heal works in both modes. */
  async healNetwork(): Promise<void> {}

  spawnOnClientHost(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
    return spawn(process.execPath, args, { stdio: 'pipe', env });
  }

  httpRequest(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
    return httpFetch(url, timeoutMs);
  }

  async close(): Promise<void> {}
  closeSync(): void {}
}
