/**
 * Requests this node sends to another node's client port: admin requests
 * forwarded to the controller leader, RegisterBroker, and committed ranges
 * fetched from a partition leader. One cached connection per node, bounded in
 * count; a failed connection is dropped and reopened on the next call.
 */
import { Connection } from '../../client/connection.ts';

export interface PeerClientAddress {
  host: string;
  port: number;
}

export interface PeerClientOptions {
  nodeId: number;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Connections kept open at once (one per node). */
  connectionsMax?: number;
}

export class PeerClientClosedError extends Error {
  override readonly name = 'PeerClientClosedError';
  readonly code = 'PEER_CLIENT_CLOSED';
}

interface Cached {
  key: string;
  connection: Promise<Connection>;
}

export class PeerClient {
  private readonly o: Required<PeerClientOptions>;
  private readonly byNode = new Map<number, Cached>();
  private closed = false;

  constructor(o: PeerClientOptions) {
    this.o = { connectTimeoutMs: 2000, requestTimeoutMs: 10_000, connectionsMax: 1024, ...o };
  }

  /** Sends one request to `node` at `address`; rejects with the answer's RaftbusError or a connection error. */
  async request<B>(
    node: number,
    address: PeerClientAddress,
    apiKey: number,
    body: unknown,
    opts: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<{ body: B; raw: Uint8Array }> {
    if (this.closed) throw new PeerClientClosedError('peer client closed');
    const conn = await this.connection(node, address, opts.signal);
    try {
      const r = await conn.request<B>(apiKey, body, [], {
        timeoutMs: opts.timeoutMs ?? this.o.requestTimeoutMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      return { body: r.body, raw: r.raw };
    } catch (err) {
      if (conn.isClosed) this.drop(node);
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    for (const node of [...this.byNode.keys()]) this.drop(node);
  }

  private connection(node: number, address: PeerClientAddress, signal?: AbortSignal): Promise<Connection> {
    const key = `${address.host}:${address.port}`;
    const cached = this.byNode.get(node);
    if (cached && cached.key === key) return cached.connection;
    if (cached) this.drop(node);
    if (this.byNode.size >= this.o.connectionsMax) {
      const oldest = this.byNode.keys().next().value;
      if (oldest !== undefined) this.drop(oldest);
    }
    const connection = Connection.open(
      {
        host: address.host,
        port: address.port,
        clientId: `raftbus-node-${this.o.nodeId}`,
        connectTimeoutMs: this.o.connectTimeoutMs,
        requestTimeoutMs: this.o.requestTimeoutMs,
      },
      signal ? { signal } : {},
    );
    const entry: Cached = { key, connection };
    this.byNode.set(node, entry);
    connection.then(
      (c) =>
        c.onClose(() => {
          if (this.byNode.get(node) === entry) this.byNode.delete(node);
        }),
      () => {
        if (this.byNode.get(node) === entry) this.byNode.delete(node);
      },
    );
    return connection;
  }

  private drop(node: number): void {
    const cached = this.byNode.get(node);
    if (!cached) return;
    this.byNode.delete(node);
    cached.connection.then(
      (c) => c.close(),
      () => undefined,
    );
  }
}
