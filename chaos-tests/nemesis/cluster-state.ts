/**
 * What the nemesis has done to the cluster and not yet undone: killed or
 * stopped nodes, paused nodes, network rules. `healAll` undoes everything
 * (resume first, so a paused node is not restarted under itself; then the
 * network, so restarted nodes find their peers; then restarts).
 */
import type { ClusterHosts } from '../hosts/types.ts';

export class ClusterState {
  readonly hosts: ClusterHosts;
  readonly down = new Set<number>();
  readonly paused = new Set<number>();
  networkCut = false;

  constructor(hosts: ClusterHosts) {
    this.hosts = hosts;
  }

  get nodeIds(): number[] {
    return this.hosts.nodes.map((n) => n.nodeId);
  }

  async kill(ids: readonly number[]): Promise<void> {
    for (const id of ids) this.down.add(id);
    await Promise.all(ids.map((id) => this.hosts.kill(id)));
    for (const id of ids) this.paused.delete(id);
  }

  async stop(id: number): Promise<void> {
    this.down.add(id);
    await this.hosts.stopNode(id);
  }

  async pause(id: number): Promise<void> {
    this.paused.add(id);
    await this.hosts.pause(id);
  }

  async resume(ids: readonly number[]): Promise<void> {
    for (const id of ids) {
      await this.hosts.resume(id);
      this.paused.delete(id);
    }
  }

  async restart(ids: readonly number[]): Promise<void> {
    const results = await Promise.allSettled(ids.map((id) => this.hosts.restart(id)));
    const failed: string[] = [];
    results.forEach((r, i) => {
      const id = ids[i]!;
      if (r.status === 'fulfilled') this.down.delete(id);
      else failed.push(`node ${id}: ${(r.reason as Error)?.message ?? r.reason}`);
    });
    if (failed.length > 0) throw new Error(`restart failed: ${failed.join('; ')}`);
  }

  async cut(rules: readonly (readonly [to: number, from: number])[]): Promise<void> {
    this.networkCut = true;
    for (const [to, from] of rules) await this.hosts.dropFrom(to, from);
  }

  async healNetwork(): Promise<void> {
    await this.hosts.healNetwork();
    this.networkCut = false;
  }

  /** Undo everything; returns what was done (for the heal event). Throws after trying every step. */
  async healAll(): Promise<string> {
    const done: string[] = [];
    const errors: string[] = [];
    const step = async (what: string, f: () => Promise<void>): Promise<void> => {
      try {
        await f();
        done.push(what);
      } catch (err) {
        errors.push(`${what}: ${(err as Error).message}`);
      }
    };
    if (this.paused.size > 0) {
      const ids = [...this.paused].sort((a, b) => a - b);
      await step(`resume ${ids.join(',')}`, () => this.resume(ids));
    }
    if (this.networkCut) await step('heal network', () => this.healNetwork());
    if (this.down.size > 0) {
      const ids = [...this.down].sort((a, b) => a - b);
      await step(`restart ${ids.join(',')}`, () => this.restart(ids));
    }
    if (errors.length > 0) throw new Error(`${done.join('; ')} | failed: ${errors.join('; ')}`);
    return done.length > 0 ? done.join('; ') : 'nothing to heal';
  }
}
