/**
 * Test and benchmark helpers for kv-node processes: free ports, spawn with
 * this Node binary, kill by pid, and a small HTTP client.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const kvNodeEntry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'kv-node.ts');

export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
    ports.push((s.address() as net.AddressInfo).port);
  }
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  return ports;
}

export interface KvProcessSpec {
  id: number;
  peers: string;
  dataDir: string;
  clientPort: number;
  extraArgs?: string[];
}

export class KvProcess {
  readonly spec: KvProcessSpec;
  child: ChildProcess | undefined;
  output = '';
  /** Exits we did not cause (a crash): code/signal and the last output. */
  readonly crashes: string[] = [];
  private killing = false;

  constructor(spec: KvProcessSpec) {
    this.spec = spec;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.spec.clientPort}`;
  }

  start(): void {
    const s = this.spec;
    const args = [
      kvNodeEntry,
      '--id',
      String(s.id),
      '--peers',
      s.peers,
      '--data-dir',
      s.dataDir,
      '--client-port',
      String(s.clientPort),
      ...(s.extraArgs ?? []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer) => {
      this.output = (this.output + b.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code, signal) => {
      if (!this.killing)
        this.crashes.push(`node ${s.id} exited code=${code} signal=${signal}: ${this.output.slice(-2000)}`);
    });
    this.killing = false;
    this.child = child;
  }

  /** kill -9 by pid; resolves when the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    this.killing = true;
    process.kill(child.pid!, signal);
    await exited;
    this.child = undefined;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }
}

export interface KvStatus {
  id: number;
  role: string;
  leaderId: number;
  term: number;
  commit: number;
  applied: number;
  lastIndex: number;
  keys: number;
}

export async function kvStatus(p: KvProcess, timeoutMs = 500): Promise<KvStatus | undefined> {
  try {
    const r = await fetch(`${p.baseUrl}/status`, { signal: AbortSignal.timeout(timeoutMs) });
    return (await r.json()) as KvStatus;
  } catch {
    return undefined;
  }
}

/** Returns the HTTP status (0 when the node is unreachable). */
export async function kvPut(p: KvProcess, key: string, value: string, timeoutMs = 2000): Promise<number> {
  try {
    const r = await fetch(`${p.baseUrl}/kv/${encodeURIComponent(key)}`, {
      method: 'PUT',
      body: value,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}

export async function kvGetLocal(p: KvProcess, key: string): Promise<string | null | undefined> {
  try {
    const r = await fetch(`${p.baseUrl}/kv/${encodeURIComponent(key)}?local=1`, { signal: AbortSignal.timeout(2000) });
    return ((await r.json()) as { value: string | null }).value;
  } catch {
    return undefined;
  }
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  { timeoutMs, stepMs = 20 }: { timeoutMs: number; stepMs?: number },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
