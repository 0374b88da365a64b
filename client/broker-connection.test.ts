/**
 * A broker that dies must never surface as an unhandled rejection in the
 * client's host process, and a dead node's growing reconnect backoff must
 * not hold callers: they fail fast (retriable) and may route elsewhere.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../node/protocol/api.ts';
import { BrokerConnection } from './broker-connection.ts';
import { AbortError, ConnectionClosedError } from './errors.ts';
import { eventually } from './test-support/eventually.ts';
import { FakeServer } from './test-support/fake-server.ts';

const opened: BrokerConnection[] = [];
const servers: FakeServer[] = [];
afterEach(async () => {
  for (const l of opened.splice(0)) l.close();
  for (const s of servers.splice(0)) await s.stop();
});

/** A loopback port nobody listens on (bound once, then released): connects to it are refused. */
async function refusedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Collects the process-level failures a broken client would cause while `run` goes on. */
async function withProcessFailures(run: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onFailure = (err: unknown): void => {
    seen.push(err);
  };
  process.on('unhandledRejection', onFailure);
  process.on('uncaughtException', onFailure);
  try {
    await run();
  } finally {
    process.off('unhandledRejection', onFailure);
    process.off('uncaughtException', onFailure);
  }
  return seen;
}

describe('BrokerConnection when the broker is gone', () => {
  it('a caller whose signal already aborted leaves no unhandled rejection when the connect is refused', async () => {
    const port = await refusedPort();
    const link = new BrokerConnection(
      { host: '127.0.0.1', port, clientId: 'test', connectTimeoutMs: 500 },
      { delayMsMin: 1, delayMsMax: 2, attemptsMax: 1 },
    );
    opened.push(link);
    const failures = await withProcessFailures(async () => {
      const aborted = AbortSignal.abort();
      await expect(link.request(ApiKey.ListTopics, {}, [], { signal: aborted })).rejects.toBeInstanceOf(AbortError);
      // Whatever attempt that caller may have started settles (refused) before we look.
      await eventually(() => !link.isConnecting);
      // Unhandled rejections are reported after the microtask queue drains: give them a macrotask turn.
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 20));
    });
    expect(failures).toEqual([]);
  });

  it('after the connection broke, a refused reconnect fails callers at once and gates further attempts', async () => {
    const server = await FakeServer.start();
    servers.push(server);
    const link = new BrokerConnection(
      { host: '127.0.0.1', port: server.port, clientId: 'test', connectTimeoutMs: 500 },
      { delayMsMin: 60_000, delayMsMax: 60_000, attemptsMax: 6 },
    );
    opened.push(link);
    await link.get();
    await server.stop();
    servers.length = 0;
    await eventually(() => link.live === null);
    // The first request after the break makes one attempt (refused), not six 60 s delays.
    const startedMs = Date.now();
    const refused = await link.request(ApiKey.ListTopics, {}).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectionClosedError);
    expect((refused as Error).message).toMatch(/ECONNREFUSED/);
    // While the node's reconnect backoff runs, callers are told at once instead of waiting it out.
    const gated = await link.get().catch((e: unknown) => e);
    expect(gated).toBeInstanceOf(ConnectionClosedError);
    expect((gated as Error).message).toMatch(/next reconnect in \d+ ms/);
    expect(Date.now() - startedMs).toBeLessThan(5_000);
  });
});
