/**
 * The parent's side of http-agent.ts: one agent child on the client host,
 * started on first use and again after it dies; requests matched to answers
 * by id, each bounded by its own timeout (plus a margin for the agent itself).
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HttpGetError } from './errors.ts';
import { type AgentAnswer, agentInFlightMax } from './http-agent.ts';

export const AGENT_PATH = fileURLToPath(new URL('./http-agent.ts', import.meta.url));
/** Extra time the parent gives the agent beyond the request's own timeout. */
const agentMarginMs = 2_000;
/**
 * Bound on an agent's start (a Node start: seconds on a loaded machine). Not
 * counted in a request's timeout, which bounds the HTTP exchange only.
 */
const agentStartTimeoutMs = 60_000;

interface Pending {
  url: string;
  resolve: (a: { status: number; body: string }) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class AgentClient {
  private readonly spawnAgent: () => ChildProcess;
  private child: ChildProcess | null = null;
  /** Resolves when the current agent printed its ready line; rejects if it exits or does not start in time. */
  private ready: Promise<void> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(spawnAgent: () => ChildProcess) {
    this.spawnAgent = spawnAgent;
  }

  async request(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
    if (this.closed) throw new HttpGetError(url, null, '', 'the client host is closed');
    if (this.pending.size >= agentInFlightMax)
      throw new HttpGetError(url, null, '', `more than ${agentInFlightMax} requests in flight`);
    const { child, ready } = this.agent();
    try {
      await ready;
    } catch (err) {
      throw new HttpGetError(url, null, '', (err as Error).message);
    }
    if (this.closed) throw new HttpGetError(url, null, '', 'the client host is closed');
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new HttpGetError(
            url,
            null,
            '',
            `no answer from the client-host agent within ${timeoutMs + agentMarginMs} ms`,
          ),
        );
      }, timeoutMs + agentMarginMs);
      this.pending.set(id, { url, resolve, reject, timer });
      child.stdin!.write(`${JSON.stringify({ id, url, timeoutMs })}\n`);
    });
  }

  /** Ends the agent (by closing its stdin, then SIGKILL by pid) and fails what is pending. */
  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    this.child = null;
    this.ready = null;
    this.failAll('the client host is closed');
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  }

  killSync(): void {
    this.closed = true;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  private agent(): { child: ChildProcess; ready: Promise<void> } {
    if (this.child && this.ready) return { child: this.child, ready: this.ready };
    const child = this.spawnAgent();
    this.child = child;
    let markReady!: () => void;
    let failStart!: (err: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failStart = reject;
    });
    ready.catch(() => {}); // awaited by every request; no unhandled rejection when none is waiting
    this.ready = ready;
    const startTimer = setTimeout(() => {
      failStart(new Error(`the client-host agent did not start within ${agentStartTimeoutMs} ms`));
      child.kill('SIGKILL');
    }, agentStartTimeoutMs);
    child.stderr!.resume();
    child.stdin!.on('error', () => {}); // a dead agent shows up as its exit
    createInterface({ input: child.stdout!, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
      let a: AgentAnswer;
      try {
        a = JSON.parse(line) as AgentAnswer;
      } catch {
        return;
      }
      if ('ready' in a) {
        clearTimeout(startTimer);
        markReady();
        return;
      }
      const p = this.pending.get(a.id);
      if (!p) return;
      this.pending.delete(a.id);
      clearTimeout(p.timer);
      if ('error' in a) p.reject(new HttpGetError(p.url, null, '', a.error));
      else p.resolve({ status: a.status, body: a.body });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(startTimer);
      const why = `the client-host agent exited (code ${code}, signal ${signal})`;
      failStart(new Error(why));
      if (this.child === child) {
        this.child = null;
        this.ready = null;
      }
      this.failAll(why);
    });
    child.once('error', () => {});
    return { child, ready };
  }

  private failAll(why: string): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new HttpGetError(p.url, null, '', why));
    }
  }
}
