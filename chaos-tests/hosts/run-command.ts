/** Runs the network tools (`ip`, `iptables`) with a time bound; a failure is a NetnsSetupError with the stderr. */
import { execFile, execFileSync } from 'node:child_process';
import { NetnsSetupError } from './errors.ts';

/** Bound on one `ip`/`iptables` call (they take milliseconds; a hang is a broken system). */
const commandTimeoutMs = 15_000;
const outputBytesMax = 1024 * 1024;

export function runCommand(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: commandTimeoutMs, maxBuffer: outputBytesMax, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) reject(new NetnsSetupError([command, ...args].join(' '), stderr || err.message));
        else resolve(stdout);
      },
    );
  });
}

/**
 * `ip [-n ns] -batch -` with `lines` on stdin: one process for many commands
 * (each `ip` start costs tens of milliseconds on a loaded machine). `ip` stops
 * at the first failing line and names it in its stderr.
 */
export function runBatch(ip: string, globalArgs: string[], lines: string[]): Promise<string> {
  const args = [...globalArgs, '-batch', '-'];
  return new Promise((resolve, reject) => {
    const child = execFile(
      ip,
      args,
      { timeout: commandTimeoutMs, maxBuffer: outputBytesMax, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err)
          reject(new NetnsSetupError(`${[ip, ...args].join(' ')} <<< ${lines.join('; ')}`, stderr || err.message));
        else resolve(stdout);
      },
    );
    child.stdin?.on('error', () => {}); // a failed start shows up in the callback
    child.stdin?.end(`${lines.join('\n')}\n`);
  });
}

/** Synchronous form for process-exit hooks; returns false instead of throwing. */
export function runCommandSync(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { timeout: commandTimeoutMs, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
