import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../node/protocol/api.ts';
import { BrokerConnection } from './broker-connection.ts';
import { Connection } from './connection.ts';
import { AbortError, ConnectionClosedError, TimeoutError, TooManyPendingError } from './errors.ts';
import { FakeServer } from './test-support/fake-server.ts';

let server: FakeServer;
const opened: { close(): void }[] = [];

beforeEach(async () => {
  server = await FakeServer.start();
  server.createTopic('t', 1);
});
afterEach(async () => {
  for (const c of opened.splice(0)) c.close();
  await server.stop();
});

async function open(extra: Partial<Parameters<typeof Connection.open>[0]> = {}): Promise<Connection> {
  const c = await Connection.open({ host: '127.0.0.1', port: server.port, clientId: 'test', ...extra });
  opened.push(c);
  return c;
}

const emptyFetch = (maxWaitMs: number) => ({
  maxWaitMs,
  minBytes: 1,
  maxBytes: 1024,
  partitions: [{ topic: 't', partition: 0, offset: 0, maxBytes: 1024 }],
});

describe('Connection', () => {
  it('handshakes and learns the node', async () => {
    const c = await open();
    expect(c.server?.nodeId).toBe(1);
    expect(server.requestCounts.get(ApiKey.Handshake)).toBe(1);
  });

  it('pipelines requests and matches answers that arrive out of order', async () => {
    const c = await open();
    const order: string[] = [];
    const slow = c.request(ApiKey.Fetch, emptyFetch(300)).then(() => order.push('fetch'));
    const fast = c.request(ApiKey.ListTopics, {}).then(() => order.push('list'));
    await Promise.all([slow, fast]);
    expect(order).toEqual(['list', 'fetch']);
  });

  it('answers many concurrent requests through a bounded in-flight window', async () => {
    const c = await open({ inFlightMax: 4 });
    const all = Array.from({ length: 200 }, () => c.request<{ topics: unknown[] }>(ApiKey.ListTopics, {}));
    expect(c.inFlightCount).toBeLessThanOrEqual(4);
    const res = await Promise.all(all);
    expect(res.every((r) => r.body.topics.length === 1)).toBe(true);
    expect(c.inFlightCount).toBe(0);
  });

  it('fails fast when too many requests wait for a slot', async () => {
    const c = await open({ inFlightMax: 1, pendingMax: 1 });
    const a = c.request(ApiKey.Fetch, emptyFetch(100));
    const b = c.request(ApiKey.Fetch, emptyFetch(100));
    await expect(c.request(ApiKey.Fetch, emptyFetch(100))).rejects.toBeInstanceOf(TooManyPendingError);
    await Promise.all([a, b]);
  });

  it('times a request out with TimeoutError and keeps the connection usable', async () => {
    const c = await open();
    await expect(c.request(ApiKey.Fetch, emptyFetch(2_000), [], { timeoutMs: 50 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    const res = await c.request<{ topics: unknown[] }>(ApiKey.ListTopics, {});
    expect(res.body.topics).toHaveLength(1);
  });

  it('honours an AbortSignal', async () => {
    const c = await open();
    const ac = new AbortController();
    const p = c.request(ApiKey.Fetch, emptyFetch(2_000), [], { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(AbortError);
  });

  it('fails in-flight requests with ConnectionClosedError when the peer drops', async () => {
    const c = await open();
    server.fault.dropOnApi = ApiKey.ListTopics;
    await expect(c.request(ApiKey.ListTopics, {})).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(c.isClosed).toBe(true);
    await expect(c.request(ApiKey.ListTopics, {})).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('surfaces a whole-request error as RaftbusError', async () => {
    const c = await open();
    await expect(c.request(99, {})).rejects.toMatchObject({ name: 'RaftbusError', errorName: 'UNKNOWN_API' });
  });
});

describe('BrokerConnection', () => {
  it('reconnects after the connection drops', async () => {
    const link = new BrokerConnection({ host: '127.0.0.1', port: server.port, clientId: 'test' });
    opened.push(link);
    const first = await link.get();
    server.dropConnections();
    await expect(first.request(ApiKey.ListTopics, {})).rejects.toBeInstanceOf(ConnectionClosedError);
    const res = await link.request<{ topics: unknown[] }>(ApiKey.ListTopics, {});
    expect(res.body.topics).toHaveLength(1);
    expect(await link.get()).not.toBe(first);
  });

  it('gives up after a bounded number of attempts', async () => {
    const port = server.port;
    await server.stop();
    const link = new BrokerConnection(
      { host: '127.0.0.1', port, clientId: 'test', connectTimeoutMs: 500 },
      { delayMsMin: 1, delayMsMax: 5, attemptsMax: 3 },
    );
    opened.push(link);
    await expect(link.get()).rejects.toBeInstanceOf(ConnectionClosedError);
    server = await FakeServer.start(); // afterEach stops it
  });
});
