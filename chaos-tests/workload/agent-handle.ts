/**
 * The parent's side of the workload agent: spawns it on the client host,
 * sends commands, matches replies by id, and bounds every wait.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ClusterHosts } from '../hosts/types.ts';
import type {
  AgentCommand,
  AgentConfig,
  AgentReply,
  DrainResult,
  ProbeResult,
  RecoverResult,
  WorkloadStats,
} from './protocol.ts';

export const agentPath = fileURLToPath(new URL('./agent.ts', import.meta.url));

/** stderr lines kept for error messages. */
const stderrLinesMax = 200;
/** Extra time the parent waits beyond a command's own bound before giving up on the agent. */
const replySlackMs = 15_000;

export class AgentError extends Error {
  override readonly name = 'AgentError';
  readonly code = 'CHAOS_AGENT';
}

type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;

export class AgentHandle {
  readonly child: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly stderrTail: string[] = [];
  private readyResolve!: () => void;
  private readyReject!: (e: Error) => void;
  readonly ready: Promise<void>;
  private exited = false;
  readonly exit: Promise<number | null>;

  private constructor(child: ChildProcess) {
    this.child = child;
    this.ready = new Promise((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    this.ready.catch(() => {});
    this.exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = true;
        const err = new AgentError(`agent exited (code ${code}, signal ${signal}): ${this.stderrText()}`);
        this.readyReject(err);
        for (const w of this.waiting.values()) w.reject(err);
        this.waiting.clear();
        resolve(code);
      });
    });
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > stderrLinesMax) this.stderrTail.shift();
    });
    child.stdin!.on('error', () => {});
  }

  static spawn(hosts: ClusterHosts, config: AgentConfig): AgentHandle {
    const child = hosts.spawnOnClientHost([agentPath, '--config', JSON.stringify(config)]);
    return new AgentHandle(child);
  }

  stderrText(): string {
    return this.stderrTail.slice(-20).join('\n');
  }

  private onLine(line: string): void {
    let r: AgentReply;
    try {
      r = JSON.parse(line) as AgentReply;
    } catch {
      this.stderrTail.push(`stdout: ${line}`);
      return;
    }
    if ('ready' in r) {
      this.readyResolve();
      return;
    }
    const w = this.waiting.get(r.id);
    if (!w) return;
    this.waiting.delete(r.id);
    if (r.ok) w.resolve(r.result);
    else w.reject(new AgentError(r.error));
  }

  async waitReady(timeoutMs: number): Promise<void> {
    await withTimeout(this.ready, timeoutMs, 'agent start');
  }

  private send<T>(cmd: Distribute<AgentCommand>, boundMs: number): Promise<T> {
    if (this.exited) return Promise.reject(new AgentError(`agent is gone: ${this.stderrText()}`));
    const id = this.nextId++;
    const p = new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    this.child.stdin!.write(`${JSON.stringify({ ...cmd, id })}\n`);
    return withTimeout(p, boundMs + replySlackMs, `agent ${cmd.cmd}`).finally(() => this.waiting.delete(id));
  }

  setup(timeoutMs: number): Promise<{ leaders: number[] }> {
    return this.send({ cmd: 'setup', timeoutMs }, timeoutMs);
  }
  start(): Promise<{ producers: number; consumers: number }> {
    return this.send({ cmd: 'start' }, 5_000);
  }
  probe(timeoutMs: number): Promise<ProbeResult> {
    return this.send({ cmd: 'probe', timeoutMs }, timeoutMs);
  }
  recover(timeoutMs: number): Promise<RecoverResult> {
    return this.send({ cmd: 'recover', timeoutMs }, timeoutMs);
  }
  stopProducers(timeoutMs: number): Promise<WorkloadStats> {
    return this.send({ cmd: 'stop-producers', timeoutMs }, timeoutMs);
  }
  drain(timeoutMs: number): Promise<DrainResult> {
    return this.send({ cmd: 'drain', timeoutMs }, timeoutMs);
  }
  stats(): Promise<WorkloadStats> {
    return this.send({ cmd: 'stats' }, 5_000);
  }

  /** Asks the agent to stop and flush; kills it by pid if it does not exit in time. */
  async quit(timeoutMs: number): Promise<WorkloadStats | null> {
    let stats: WorkloadStats | null = null;
    if (!this.exited) {
      stats = await this.send<WorkloadStats>({ cmd: 'quit' }, timeoutMs).catch(() => null);
    }
    await this.ensureExited(5_000);
    return stats;
  }

  async ensureExited(timeoutMs: number): Promise<void> {
    if (this.exited) return;
    const gone = await withTimeout(this.exit, timeoutMs, 'agent exit').then(
      () => true,
      () => false,
    );
    if (!gone && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await withTimeout(this.exit, 5_000, 'agent exit after SIGKILL').catch(() => {});
    }
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new AgentError(`${what}: no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
