import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type HealthInfo, HttpServer } from './http-server.ts';
import { silentLogger } from './logger.ts';

const health = (): HealthInfo => ({
  status: 'ok',
  nodeId: 1,
  clusterId: 'c',
  version: 'test',
  uptimeMs: 0,
  topics: [],
  connections: 0,
  pausedConnections: 0,
  inFlightRequests: 0,
  inFlightRequestBytes: 0,
});

const servers: HttpServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('HttpServer', () => {
  it('keeps an idle keep-alive connection open past 6 s, so a client reusing it never races the close', async () => {
    const server = new HttpServer(health, silentLogger);
    servers.push(server);
    const port = await server.listen('127.0.0.1', 0);
    const socket = connect(port, '127.0.0.1');
    let closedAtMs = 0;
    socket.on('close', () => {
      closedAtMs = Date.now();
    });
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (s: string) => {
      received += s;
    });
    const request = 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n';
    socket.write(request);
    await expect.poll(() => received.includes('"status":"ok"'), { timeout: 5_000 }).toBe(true);
    // Node's default keepAliveTimeout (5 s, plus Node 24's 1 s buffer) would have closed the socket by now.
    await new Promise((resolve) => setTimeout(resolve, 6_500));
    expect(closedAtMs).toBe(0);
    received = '';
    socket.write(request);
    await expect.poll(() => received.includes('"status":"ok"'), { timeout: 5_000 }).toBe(true);
    socket.destroy();
  });
});
