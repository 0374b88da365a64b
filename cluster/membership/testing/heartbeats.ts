/** Builders shared by the membership tests. */
import type { Heartbeat } from '../types.ts';

export function heartbeat(overrides: Partial<Heartbeat> = {}): Heartbeat {
  const nodeId = overrides.nodeId ?? 1;
  return {
    nodeId,
    peerId: `peer-${nodeId}`,
    clusterId: 'test-cluster',
    addresses: { client: `127.0.0.1:${9000 + nodeId}`, raft: `127.0.0.1:${9100 + nodeId}` },
    p2pAddrs: [],
    rack: 'r1',
    load: { partitionsLed: 0, cpu: 0.1 },
    version: '0.1.0',
    incarnation: 1,
    seq: 0,
    ...overrides,
  };
}

/** Wait for a condition, polling; fails with the description after timeoutMs. */
export async function eventually(
  check: () => boolean,
  what: string,
  { timeoutMs = 5000, stepMs = 20 }: { timeoutMs?: number; stepMs?: number } = {},
): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return Date.now() - start;
}
