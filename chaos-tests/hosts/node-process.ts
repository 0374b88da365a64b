/**
 * One raftbus node process of a harness cluster. Its stdout and stderr go
 * straight to its log file (opened for append, so restarts add to it): the
 * node never blocks on a pipe the harness is slow to drain, and the log
 * survives the harness. The `listening on` line is found by reading the log
 * from where this run started. Signals go to the pid only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { NodeStartError } from './errors.ts';

const LISTENING = /raftbus node (\d+) listening on (\S+):(\d+) data=/;
/** Bytes of log read per poll while waiting for the listening line. */
const logReadBytesMax = 256 * 1024;
/** Bytes of the log's end quoted in start errors. */
const logTailBytes = 4 * 1024;
const pollIntervalMs = 25;

export interface NodeLaunch {
  nodeId: number;
  /** Program and arguments: `execPath cli/raftbus.ts node ...`, or `ip netns exec <ns> execPath ...`. */
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logPath: string;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class NodeProcessRun {
  readonly launch: NodeLaunch;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<ExitStatus>;
  /** Where this run's output starts in the (shared, appended) log file. */
  private readonly logStart: number;

  constructor(launch: NodeLaunch) {
    this.launch = launch;
    const fd = openSync(launch.logPath, 'a');
    try {
      this.logStart = statSync(launch.logPath).size;
      // Own process group: a Ctrl-C in the test's terminal reaches the harness, which stops nodes itself.
      this.child = spawn(launch.command, launch.args, {
        cwd: launch.cwd,
        env: launch.env,
        stdio: ['ignore', fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd); // the child holds its own copy
    }
    if (this.child.pid === undefined) throw new NodeStartError(launch.nodeId, `could not spawn ${launch.command}`);
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    this.child.once('error', () => {}); // a spawn failure shows up as the exit; no unhandled 'error'
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the listening line's host:port once the node printed it; rejects on exit or abort. */
  async listening(signal: AbortSignal): Promise<string> {
    const fh = await open(this.launch.logPath, 'r');
    try {
      let pos = this.logStart;
      let carry = '';
      const buf = Buffer.alloc(logReadBytesMax);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead > 0) {
          pos += bytesRead;
          const text = carry + buf.subarray(0, bytesRead).toString('utf8');
          const lines = text.split('\n');
          carry = (lines.pop() ?? '').slice(-logReadBytesMax);
          for (const line of lines) {
            const m = LISTENING.exec(line);
            if (m && Number(m[1]) === this.launch.nodeId) return `${m[2]}:${m[3]}`;
          }
          continue;
        }
        if (!this.running) throw this.startError('exited before it printed its listening line');
        if (signal.aborted) throw this.startError('did not print its listening line in time');
        await new Promise((r) => setTimeout(r, pollIntervalMs));
      }
    } finally {
      await fh.close();
    }
  }

  /**
   * The spawned pid must be the node itself, not a wrapper: `ip netns exec`
   * execs its command (setns, then execvp), so the pid stays the same. Checked
   * on the process's own command line.
   */
  assertPidIsNode(): void {
    let cmdline: string[];
    try {
      cmdline = readFileSync(`/proc/${this.pid}/cmdline`, 'utf8').split('\0');
    } catch {
      return; // no /proc (not Linux) or already gone: nothing to check
    }
    if (cmdline[0] !== process.execPath || !cmdline.some((a) => a.endsWith('cli/raftbus.ts')))
      throw this.startError(`pid ${this.pid} is not the node process: ${cmdline.join(' ')}`);
  }

  startError(why: string): NodeStartError {
    return new NodeStartError(this.launch.nodeId, `${why}; log ${this.launch.logPath} ends:\n${this.logTail()}`);
  }

  logTail(): string {
    let fd: number | null = null;
    try {
      fd = openSync(this.launch.logPath, 'r');
      const size = statSync(this.launch.logPath).size;
      const from = Math.max(this.logStart, size - logTailBytes);
      const buf = Buffer.alloc(Math.max(0, size - from));
      const n = readSync(fd, buf, 0, buf.length, from);
      return buf.subarray(0, n).toString('utf8');
    } catch {
      return '(no log)';
    } finally {
      if (fd !== null) closeSync(fd);
    }
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) process.kill(this.pid, sig);
  }
}
