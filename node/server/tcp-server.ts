/**
 * The client listener: accepts TCP connections up to connectionsMax and gives
 * each a ClientConnection. Stopping is in three steps the node sequences:
 * stop accepting, drain (answer what is in flight, bounded), close.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { NodeMetrics } from '../metrics.ts';
import { ClientConnection, type ConnectionLimits } from './connection.ts';
import type { Dispatcher } from './dispatch.ts';
import type { Logger } from './logger.ts';
import { RequestBudget } from './request-budget.ts';

export interface ClientServerOptions extends ConnectionLimits {
  connectionsMax: number;
  /** Bytes of requests in flight across every connection. */
  requestBytesInFlightMax: number;
}

export class ClientServer {
  private readonly server: Server;
  private readonly connections = new Set<ClientConnection>();
  private readonly dispatcher: Dispatcher;
  private readonly options: ClientServerOptions;
  private readonly logger: Logger;
  private nextId = 1;
  private accepting = true;
  private readonly metrics: NodeMetrics | null;
  private readonly budget: RequestBudget;

  constructor(
    dispatcher: Dispatcher,
    options: ClientServerOptions,
    logger: Logger,
    metrics: NodeMetrics | null = null,
  ) {
    this.metrics = metrics;
    this.budget = new RequestBudget(options.requestBytesInFlightMax);
    this.dispatcher = dispatcher;
    this.options = options;
    this.logger = logger;
    this.server = createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    this.server.on('error', (err) => this.logger.error('client listener error', { err }));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Live counters for /health. */
  stats(): { connections: number; pausedConnections: number; inFlightRequests: number; inFlightRequestBytes: number } {
    let paused = 0;
    let inFlight = 0;
    for (const c of this.connections) {
      if (c.isPaused) paused++;
      inFlight += c.inFlightRequests;
    }
    return {
      connections: this.connections.size,
      pausedConnections: paused,
      inFlightRequests: inFlight,
      inFlightRequestBytes: this.budget.usedBytes,
    };
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port }, () => {
        this.server.off('error', onError);
        const addr = this.server.address();
        if (addr === null || typeof addr === 'string') {
          reject(new Error(`unexpected listener address ${String(addr)}`));
          return;
        }
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  private onConnection(socket: Socket): void {
    if (!this.accepting || this.connections.size >= this.options.connectionsMax) {
      this.logger.warn('refusing connection', {
        remote: `${socket.remoteAddress}:${socket.remotePort}`,
        reason: this.accepting ? `connectionsMax ${this.options.connectionsMax} reached` : 'stopping',
      });
      this.metrics?.connectionsClosed.inc({ reason: 'refused' });
      socket.destroy();
      return;
    }
    const conn = new ClientConnection(
      this.nextId++,
      socket,
      this.dispatcher,
      this.options,
      { budget: this.budget },
      this.logger,
      this.metrics,
    );
    this.connections.add(conn);
    socket.once('close', () => this.connections.delete(conn));
  }

  /** Stops accepting new connections; open ones keep working. */
  stopAccepting(): Promise<void> {
    this.accepting = false;
    return new Promise((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      // Resolves once every connection is gone; we do not wait for that here.
      this.server.close(() => undefined);
      resolve();
    });
  }

  /** Answers SHUTTING_DOWN to new requests and waits (at most timeoutMs) for those in flight. */
  async drain(timeoutMs: number): Promise<boolean> {
    const all = Promise.all([...this.connections].map((c) => c.drain())).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([all, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends every connection (pending responses are flushed first, briefly) and the listener. */
  async close(): Promise<void> {
    this.accepting = false;
    await Promise.all([...this.connections].map((c) => c.close()));
    await new Promise<void>((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
  }
}
