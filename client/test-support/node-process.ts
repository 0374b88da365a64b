/**
 * Starts a real raftbus node as a child process (`node cli/raftbus.ts node
 * --port 0 ...`) and reads the port from its `listening on` line. Used by the
 * end-to-end tests and the benchmark. Every process started here is stopped
 * by its pid (SIGTERM, or SIGKILL on request), never by name.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../cli/raftbus.ts', import.meta.url));
const LISTENING = /raftbus node (\d+) listening on (\S+):(\d+) data=(.*)$/m;

export interface NodeProcessOptions {
  dataDir: string;
  /** always | interval:<ms> | never */
  flush?: string;
  /** Extra `raftbus node` flags. */
  args?: string[];
  /** Extra flags for the node (V8) runtime, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/p']. */
  execArgv?: string[];
  startTimeoutMs?: number;
  /** Receives the node's stderr (its log), line by line; default: kept in `stderrTail`. */
  onStderr?: (line: string) => void;
}

export class NodeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly host: string;
  readonly nodeId: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines the node wrote to stderr (bounded), for failure messages. */
  readonly stderrTail: string[];

  private constructor(child: ChildProcess, m: RegExpExecArray, exited: NodeProcess['exited'], stderrTail: string[]) {
    this.child = child;
    this.pid = child.pid!;
    this.nodeId = Number(m[1]);
    this.host = m[2]!;
    this.port = Number(m[3]);
    this.exited = exited;
    this.stderrTail = stderrTail;
  }

  static async start(options: NodeProcessOptions): Promise<NodeProcess> {
    const args = [
      ...(options.execArgv ?? []),
      CLI,
      'node',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--http-port',
      'off',
      '--data-dir',
      options.dataDir,
      '--flush',
      options.flush ?? 'always',
      '--log-level',
      'warn',
      ...(options.args ?? []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const stderrTail: string[] = [];
    let errBuf = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      errBuf += s;
      let nl = errBuf.indexOf('\n');
      while (nl >= 0) {
        const line = errBuf.slice(0, nl);
        errBuf = errBuf.slice(nl + 1);
        if (options.onStderr) options.onStderr(line);
        stderrTail.push(line);
        if (stderrTail.length > 50) stderrTail.shift();
        nl = errBuf.indexOf('\n');
      }
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    let out = '';
    child.stdout!.setEncoding('utf8');
    const match = await new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new Error(
            `node did not report listening within ${options.startTimeoutMs ?? 20_000} ms: ${stderrTail.join('\n')}`,
          ),
        );
      }, options.startTimeoutMs ?? 20_000);
      child.stdout!.on('data', (s: string) => {
        out += s;
        const m = LISTENING.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`node exited (code ${code}, signal ${signal}) before listening: ${stderrTail.join('\n')}`));
      });
    });
    return new NodeProcess(child, match, exited, stderrTail);
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Graceful stop: SIGTERM, then wait for the exit (SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    process.kill(this.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (this.child.exitCode === null && this.child.signalCode === null) process.kill(this.pid, 'SIGKILL');
    }, timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** kill -9: no graceful anything. Resolves once the process is gone. */
  async kill9(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    process.kill(this.pid, 'SIGKILL');
    await this.exited;
  }
}
