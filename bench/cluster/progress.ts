/**
 * The progress line on stderr: on a TTY one line rewritten in place
 * (elapsed/duration, current records/s, acked, failed); otherwise one line
 * every 5 s, so logs stay readable.
 */
import type { Progress } from './workload.ts';

export const progressLineEveryMs = 5_000;

export function formatProgress(label: string, p: Progress): string {
  const width = 20;
  const done = Math.min(width, Math.round((p.elapsedSec / p.durationSec) * width));
  const bar = `${'#'.repeat(done)}${'.'.repeat(width - done)}`;
  return `${label} [${bar}] ${p.elapsedSec.toFixed(0)}/${p.durationSec}s ${p.phase} ${Math.round(p.recordsPerSec).toLocaleString('en-US')} rec/s acked ${p.acked.toLocaleString('en-US')} failed ${p.failed}`;
}

export class ProgressLine {
  private readonly out: NodeJS.WriteStream;
  private readonly tty: boolean;
  private lastPrintMs = 0;
  private drawn = false;

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.out = out;
    this.tty = out.isTTY === true;
  }

  update(label: string, p: Progress): void {
    const line = formatProgress(label, p);
    if (this.tty) {
      const cols = this.out.columns ?? 120;
      this.out.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length))}\x1b[K`);
      this.drawn = true;
      return;
    }
    const now = Date.now();
    if (now - this.lastPrintMs < progressLineEveryMs) return;
    this.lastPrintMs = now;
    this.out.write(`${line}\n`);
  }

  /** Ends the in-place line before other output. */
  done(): void {
    if (this.tty && this.drawn) this.out.write('\n');
    this.drawn = false;
    this.lastPrintMs = 0;
  }
}
