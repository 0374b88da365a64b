/**
 * N `raftbus node` processes in cluster mode on loopback, for tests: static
 * peers on Raft ports picked free up front (the peer list must name them),
 * client ports 0 (each node registers the port it bound). Every process is
 * stopped by its pid; the temp dir is removed by stop().
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '../../client/connection.ts';
import { NodeProcess } from '../../client/test-support/node-process.ts';
import { ApiKey, type MetadataResponse } from '../../node/protocol/api.ts';
import { freePorts } from '../../node/util/free-ports.ts';

export interface ProcessClusterOptions {
  nodes: number;
  controllerVoters?: number;
  /** Run gossip membership with short timeouts (suspect 2 s, dead 3 s, replicas moved 2 s after). */
  gossip?: boolean;
}

export class ProcessCluster {
  readonly dir: string;
  readonly raftPorts: Map<number, number>;
  readonly gossipPorts = new Map<number, number>();
  /** HTTP port (/health, /metrics) of each node. */
  readonly httpPorts = new Map<number, number>();
  readonly nodes = new Map<number, NodeProcess>();
  private readonly o: ProcessClusterOptions;

  private constructor(o: ProcessClusterOptions, dir: string, raftPorts: Map<number, number>) {
    this.o = o;
    this.dir = dir;
    this.raftPorts = raftPorts;
  }

  static async start(o: ProcessClusterOptions): Promise<ProcessCluster> {
    const ports = await freePorts(o.nodes * 3);
    const raftPorts = new Map(ports.slice(0, o.nodes).map((p, i) => [i + 1, p]));
    const c = new ProcessCluster(o, mkdtempSync(join(tmpdir(), 'raftbus-cluster-')), raftPorts);
    if (o.gossip) for (const [i, p] of ports.slice(o.nodes, o.nodes * 2).entries()) c.gossipPorts.set(i + 1, p);
    for (const [i, p] of ports.slice(o.nodes * 2).entries()) c.httpPorts.set(i + 1, p);
    try {
      await Promise.all([...raftPorts.keys()].map((id) => c.startNode(id)));
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  get ids(): number[] {
    return [...this.raftPorts.keys()];
  }

  address(id: number): string {
    return this.node(id).address;
  }

  node(id: number): NodeProcess {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`node ${id} is not running`);
    return n;
  }

  running(): number[] {
    return [...this.nodes.keys()];
  }

  async startNode(id: number): Promise<NodeProcess> {
    const peers = [...this.raftPorts].map(([n, p]) => `${n}=127.0.0.1:${p}`).join(',');
    const node = await NodeProcess.start({
      dataDir: join(this.dir, `node-${id}`),
      args: [
        '--node-id',
        String(id),
        '--raft-port',
        String(this.raftPorts.get(id)),
        '--peers',
        peers,
        '--http-port',
        String(this.httpPorts.get(id)),
        '--controller-voters',
        String(this.o.controllerVoters ?? Math.min(3, this.o.nodes)),
        ...(this.o.gossip
          ? [
              '--gossip-port',
              String(this.gossipPorts.get(id)),
              '--seeds',
              [...this.gossipPorts.values()].map((p) => `127.0.0.1:${p}`).join(','),
              '--suspect-after-ms',
              '2000',
              '--dead-after-ms',
              '3000',
              '--dead-broker-reassign-after-ms',
              '2000',
            ]
          : []),
      ],
    });
    this.nodes.set(id, node);
    return node;
  }

  async kill9(id: number): Promise<void> {
    await this.node(id).kill9();
    this.nodes.delete(id);
  }

  /** One Metadata request to node `id` (its own view, no client routing). */
  async metadata(id: number, topics: string[] | null = null): Promise<MetadataResponse> {
    const n = this.node(id);
    const conn = await Connection.open({
      host: n.host,
      port: n.port,
      clientId: 'cluster-test',
      connectTimeoutMs: 2000,
    });
    try {
      return (await conn.request<MetadataResponse>(ApiKey.Metadata, { topics }, [], { timeoutMs: 2000 })).body;
    } finally {
      conn.close();
    }
  }

  /** The node's /metrics text. */
  async metricsText(id: number): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.httpPorts.get(id)}/metrics`);
    return res.text();
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.nodes.values()].map((n) => n.stop(10_000)));
    this.nodes.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
