/**
 * Child processes of a peer cluster: spawned with their output in a log file,
 * stopped by pid only (SIGTERM, a bounded wait, then SIGKILL), and short
 * management commands run with bounded time and output.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

const LOG_TAIL_BYTES_MAX = 4096;
const COMMAND_OUTPUT_BYTES_MAX = 64 * 1024;
const POLL_INTERVAL_MS = 50;

export interface LoggedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  hasExited(): boolean;
}

export interface SpawnLoggedOptions {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  logPath: string;
  cwd?: string;
}

/** Spawn a server process with stdout and stderr appended to logPath. */
export function spawnLogged(o: SpawnLoggedOptions): LoggedProcess {
  const fd = openSync(o.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(o.command, o.args, { env: o.env, cwd: o.cwd, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd); // the child holds its own copy
  }
  let exitedFlag = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (err) => {
      exitedFlag = true;
      resolve(`spawn error: ${err.message}`);
    });
  });
  if (child.pid === undefined) {
    // spawn failed synchronously (ENOENT arrives as an 'error' event, pid undefined)
    return { name: o.name, pid: -1, logPath: o.logPath, exited, hasExited: () => true };
  }
  return { name: o.name, pid: child.pid, logPath: o.logPath, exited, hasExited: () => exitedFlag };
}

/** Is a process with this pid alive (a zombie counts as gone)? */
export function pidAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..." with state Z for a zombie not yet reaped by its parent
    const stat = readSmall(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** SIGTERM, wait up to graceMs for the exit, then SIGKILL and wait again (bounded). */
export async function stopPid(pid: number, graceMs: number): Promise<void> {
  if (!pidAlive(pid)) return;
  signalPid(pid, 'SIGTERM');
  if (await waitUntil(() => !pidAlive(pid), graceMs)) return;
  signalPid(pid, 'SIGKILL');
  await waitUntil(() => !pidAlive(pid), 5000);
}

export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Poll cond every 50 ms until it holds (true) or timeoutMs passes (false). */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}

/** The last few KiB of a log file, or a note that it is missing. */
export function logTail(path: string, bytesMax = LOG_TAIL_BYTES_MAX): string {
  if (!existsSync(path)) return `(no log at ${path})`;
  const size = statSync(path).size;
  const start = Math.max(0, size - bytesMax);
  const buf = Buffer.alloc(size - start);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, buf.length, start);
  } finally {
    closeSync(fd);
  }
  return buf.toString('utf8');
}

function readSmall(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

export interface CommandResult {
  code: number | null;
  /** stdout and stderr interleaved, at most 64 KiB (the tail is dropped). */
  output: string;
  timedOut: boolean;
}

/** Run a short command to completion, killed by pid after timeoutMs. */
export function runCommand(
  command: string,
  args: string[],
  o: { env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let bytes = 0;
    const collect = (b: Buffer): void => {
      if (bytes >= COMMAND_OUTPUT_BYTES_MAX) return;
      chunks.push(b);
      bytes += b.length;
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) signalPid(child.pid, 'SIGKILL');
    }, o.timeoutMs);
    const finish = (code: number | null): void => {
      clearTimeout(timer);
      resolve({ code, output: Buffer.concat(chunks).toString('utf8'), timedOut });
    };
    child.once('error', (err) => {
      collect(Buffer.from(String(err.message)));
      finish(null);
    });
    child.once('close', (code) => finish(code));
  });
}
