/**
 * One `raftbus node` child process of a local cluster: spawned with
 * process.execPath (the Node that runs the launcher), its stdout watched for
 * the `listening on` line, its stderr (the node's log) passed on line by line
 * with a `[node i]` prefix, and its /health polled until it answers ok.
 * Stopped by its pid only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NodeStartTimeoutError } from './errors.ts';
import type { LocalNodePlan } from './plan.ts';

export const CLI_PATH = fileURLToPath(new URL('../../cli/raftbus.ts', import.meta.url));
const LISTENING = /raftbus node (\d+) listening on (\S+):(\d+) data=/;
/** Lines of a child's output kept for error messages. */
const tailLinesMax = 40;
/** Bytes of an unterminated output line kept before it is cut. */
const lineBytesMax = 64 * 1024;

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class NodeChild {
  readonly plan: LocalNodePlan;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<ChildExit>;
  readonly tail: string[] = [];
  /** Set by the cluster when this child's exit was asked for (kill or stop). */
  killedOnRequest = false;
  private listeningResolve: (() => void) | null = null;
  private listeningSeen = false;

  constructor(plan: LocalNodePlan, args: string[], onLine: (line: string) => void) {
    this.plan = plan;
    // Own process group: a terminal's Ctrl-C reaches only the launcher, which forwards one SIGTERM
    // (a node takes a second signal as "exit now").
    this.child = spawn(process.execPath, [CLI_PATH, 'node', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    if (this.child.pid === undefined) throw new Error(`could not spawn node ${plan.nodeId}`);
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const onText = (text: string): void => {
      this.tail.push(text);
      if (this.tail.length > tailLinesMax) this.tail.shift();
      if (!this.listeningSeen && LISTENING.test(text)) {
        this.listeningSeen = true;
        this.listeningResolve?.();
      }
      onLine(text);
    };
    lines(this.child.stdout!, onText);
    lines(this.child.stderr!, onText);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get healthUrl(): string {
    return `http://${urlHost(this.plan.host)}:${this.plan.httpPort}/health`;
  }

  get metricsUrl(): string {
    return `http://${urlHost(this.plan.host)}:${this.plan.httpPort}/metrics`;
  }

  /**
   * Resolves once the node printed its listening line and /health answered ok
   * (in a cluster: and the node is registered with the controller, so the
   * cluster can place replicas on it); rejects on timeout or exit.
   */
  async ready(signal: AbortSignal, clustered: boolean): Promise<void> {
    if (!this.listeningSeen) {
      await new Promise<void>((resolve, reject) => {
        const fail = (): void => reject(startError(this, signal));
        this.listeningResolve = resolve;
        signal.addEventListener('abort', fail, { once: true });
        void this.exited.then(fail);
      });
    }
    for (let attempt = 0; attempt < 1_000; attempt++) {
      if (signal.aborted || !this.running) throw startError(this, signal);
      try {
        const res = await fetch(this.healthUrl, { signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]) });
        const body = (await res.json()) as { status?: string; cluster?: { registered?: boolean } };
        if (res.ok && body.status === 'ok' && (!clustered || body.cluster?.registered === true)) return;
      } catch {
        // Not up yet: poll again.
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw startError(this, signal);
  }

  /** SIGTERM by pid (if still running). */
  terminate(): void {
    if (this.running) process.kill(this.pid, 'SIGTERM');
  }

  /** SIGKILL by pid (if still running). */
  kill(): void {
    if (this.running) process.kill(this.pid, 'SIGKILL');
  }
}

function startError(c: NodeChild, signal: AbortSignal): Error {
  const why = c.running ? (signal.aborted ? 'in time' : 'while polling') : 'before it exited';
  return new NodeStartTimeoutError(`node ${c.plan.nodeId} did not become healthy ${why}:\n${c.tail.join('\n')}`);
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      nl = buf.indexOf('\n');
    }
    if (buf.length > lineBytesMax) {
      onLine(buf);
      buf = '';
    }
  });
}
