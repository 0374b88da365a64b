/**
 * The idempotent producer against a real node process: a node that speaks
 * InitProducerId (its handshake lists api 9) gets idempotent batches; one that
 * does not makes every send fail with IdempotenceNotSupportedError, never a
 * silent fall back to at-least-once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../node/protocol/api.ts';
import { Admin } from './admin.ts';
import { RaftbusClient } from './client.ts';
import { IdempotenceNotSupportedError } from './errors.ts';
import { Producer } from './producer.ts';
import { NodeProcess } from './test-support/node-process.ts';

let dir: string;
let node: NodeProcess;
let client: RaftbusClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raftbus-client-real-'));
  node = await NodeProcess.start({ dataDir: join(dir, 'data') });
  client = new RaftbusClient({ brokers: [node.address] });
  await client.connect();
  await new Admin(client).createTopics([{ name: 'idem', partitions: 2 }]);
});
afterAll(async () => {
  await client?.close();
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('idempotent Producer against a real node', () => {
  it('gets a producer id where the node speaks InitProducerId, else fails clearly', async () => {
    const link = await client.anyLink();
    const speaks = (link.live?.server?.apis ?? []).some(([key]) => key === ApiKey.InitProducerId);
    const producer = new Producer(client, { idempotent: true, lingerMs: 0 });
    const result = await producer.send('idem', { value: 'x', partition: 0 }).catch((e: unknown) => e);
    if (speaks) {
      expect(result).toEqual({ topic: 'idem', partition: 0, offset: 0 });
      expect(producer.producerIdentity.producerId).toBeGreaterThanOrEqual(0);
    } else {
      expect(result).toBeInstanceOf(IdempotenceNotSupportedError);
      expect((result as Error).message).toContain('idempotent: false');
      // Nothing was written by the refused send; a plain producer still works.
      const plain = new Producer(client, { lingerMs: 0 });
      expect((await plain.send('idem', { value: 'y', partition: 0 })).offset).toBe(0);
      await plain.close();
    }
    await producer.close();
  });
});
