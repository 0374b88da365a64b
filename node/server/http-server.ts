/**
 * The HTTP side port: `/health` (JSON: node id, uptime, topics, connection
 * counters) and `/metrics` (Prometheus text). Read-only and tiny: it parses no
 * request body.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from './logger.ts';

export interface HealthInfo {
  status: 'ok' | 'stopping';
  nodeId: number;
  clusterId: string;
  version: string;
  uptimeMs: number;
  topics: string[];
  connections: number;
  /** Connections not being read because their responses are not being read. */
  pausedConnections: number;
  inFlightRequests: number;
  inFlightRequestBytes: number;
}

export interface MetricsSource {
  contentType: string;
  text(): Promise<string>;
}

export class HttpServer {
  private readonly server: Server;
  private readonly health: () => HealthInfo;
  private readonly metrics: MetricsSource | null;
  private readonly logger: Logger;

  constructor(health: () => HealthInfo, logger: Logger, metrics: MetricsSource | null = null) {
    this.health = health;
    this.metrics = metrics;
    this.logger = logger;
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.on('error', (err) => this.logger.error('http listener error', { err }));
    // Bounds on a request this port never needs to be large or slow.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 10_000;
    // Idle keep-alive connections stay open longer than any client keeps them (undici: 4 s, Prometheus:
    // its scrape interval), so the client always closes first: with Node's 5 s default a client reusing a
    // socket the node was closing at that moment got "other side closed" (seen under load in CI).
    this.server.keepAliveTimeout = 65_000;
    this.server.maxHeadersCount = 64;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.reply(res, 405, { error: 'method not allowed' });
      return;
    }
    if (path === '/health') {
      let info: HealthInfo;
      try {
        info = this.health();
      } catch (err) {
        this.logger.error('health check failed', { err });
        this.reply(res, 500, { error: 'health check failed' });
        return;
      }
      this.reply(res, info.status === 'ok' ? 200 : 503, info);
      return;
    }
    if (path === '/metrics' && this.metrics) {
      const metrics = this.metrics;
      metrics.text().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(text) });
          res.end(text);
        },
        (err: unknown) => {
          this.logger.error('metrics scrape failed', { err });
          this.reply(res, 500, { error: 'metrics scrape failed' });
        },
      );
      return;
    }
    this.reply(res, 404, { error: 'not found' });
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    const text = `${JSON.stringify(body)}\n`;
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port }, () => {
        this.server.off('error', onError);
        const addr = this.server.address();
        if (addr === null || typeof addr === 'string') reject(new Error('unexpected http address'));
        else resolve(addr.port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
