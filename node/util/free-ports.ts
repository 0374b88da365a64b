/**
 * Free TCP ports on 127.0.0.1 for servers a test or benchmark starts (peer brokers, node processes),
 * all held open at once (so they are distinct) and then released for the servers to bind. They are picked
 * BELOW the ephemeral range: a port from the ephemeral range can be taken by any
 * outgoing connection before its server binds it.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

const PORT_LOWEST = 10_000;
const PORT_ATTEMPTS_MAX = 500;

/** `count` distinct free ports in [10000, min(below, ephemeral low)). */
export async function freePorts(count: number, o: { below?: number } = {}): Promise<number[]> {
  const high = Math.min(ephemeralPortLow(), o.below ?? Number.POSITIVE_INFINITY) - 1;
  if (high <= PORT_LOWEST) throw new Error(`no port range below the ephemeral range (${high + 1})`);
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let attempt = 0; ports.length < count && attempt < PORT_ATTEMPTS_MAX; attempt++) {
      const port = PORT_LOWEST + Math.floor(Math.random() * (high - PORT_LOWEST));
      if (ports.includes(port)) continue;
      const s = createServer();
      const ok = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.listen(port, '127.0.0.1', () => resolve(true));
      });
      if (!ok) continue;
      servers.push(s);
      ports.push(port);
    }
    if (ports.length < count) throw new Error(`found ${ports.length} of ${count} free ports below ${high + 1}`);
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

function ephemeralPortLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const n = Number(low);
    return Number.isInteger(n) && n > PORT_LOWEST ? n : 32768;
  } catch {
    return 32768;
  }
}
