/** Start N Membership components in this process on 127.0.0.1 port 0, each with its own temp data dir. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MembershipOptions } from '../config.ts';
import { Membership } from '../membership.ts';
import { MemberState } from '../types.ts';

export const TEST_CLUSTER_ID = 'membership-test';

export type Timing = Pick<
  MembershipOptions,
  'heartbeatIntervalMs' | 'suspectAfterMs' | 'deadAfterMs' | 'connectIntervalMs'
>;

export class LocalMembers {
  readonly members = new Map<number, Membership>();
  readonly dataDirs = new Map<number, string>();
  /** Port each node got on its first start: a restart reuses it, as a real node's fixed port. */
  readonly ports = new Map<number, number>();
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'raftbus-membership-'));
  seeds: string[] = [];
  private readonly timing: Timing;

  constructor(timing: Timing) {
    this.timing = timing;
  }

  optionsFor(nodeId: number): MembershipOptions {
    let dataDir = this.dataDirs.get(nodeId);
    if (dataDir === undefined) {
      dataDir = path.join(this.root, `node-${nodeId}`);
      this.dataDirs.set(nodeId, dataDir);
    }
    return {
      nodeId,
      clusterId: TEST_CLUSTER_ID,
      dataDir,
      addresses: { client: `127.0.0.1:${19000 + nodeId}`, raft: `127.0.0.1:${19100 + nodeId}` },
      port: this.ports.get(nodeId) ?? 0,
      seeds: this.seeds,
      rack: `rack-${nodeId % 2}`,
      ...this.timing,
    };
  }

  /** The first node started becomes the seed (as host:port, the way an operator writes it). */
  async start(nodeId: number): Promise<Membership> {
    const m = new Membership(this.optionsFor(nodeId));
    this.members.set(nodeId, m);
    await m.start();
    const port = Number(m.multiaddrs()[0]!.split('/')[4]);
    this.ports.set(nodeId, port);
    if (this.seeds.length === 0) {
      const addr = m.multiaddrs()[0]!;
      const [, , host, , port] = addr.split('/');
      this.seeds = [`${host}:${port}`];
    }
    return m;
  }

  async stop(nodeId: number): Promise<void> {
    const m = this.members.get(nodeId);
    this.members.delete(nodeId);
    await m?.stop();
  }

  /** True when every running member sees exactly `ids` alive. */
  allSeeAlive(ids: readonly number[]): boolean {
    const want = [...ids].sort((a, b) => a - b).join(',');
    return [...this.members.values()].every(
      (m) =>
        m
          .members()
          .filter((x) => x.state === MemberState.Alive)
          .map((x) => x.nodeId)
          .join(',') === want,
    );
  }

  stateEverywhere(nodeId: number, state: MemberState): boolean {
    return [...this.members.entries()].every(([id, m]) => id === nodeId || m.member(nodeId)?.state === state);
  }

  async close(): Promise<void> {
    await Promise.all([...this.members.values()].map((m) => m.stop()));
    this.members.clear();
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
