/**
 * Appends history events to a file as JSON lines. Writes are batched (one
 * write per flush interval) but a line is never split across writes, so the
 * file stays parseable up to the last complete flush even if the process dies.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { encodeEvent, type HistoryEvent } from '../history.ts';

/** Pending bytes that force a flush before the timer fires. */
const pendingBytesMax = 1024 * 1024;
const flushIntervalMs = 50;

export class HistoryFile {
  private readonly fd: number;
  private readonly epochMs: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  events = 0;

  /** `epochMs`: wall-clock ms (performance.timeOrigin + performance.now()) when the run started. */
  constructor(path: string, epochMs: number) {
    this.fd = openSync(path, 'a');
    this.epochMs = epochMs;
  }

  /** Milliseconds since the run started, from this process's monotonic clock. */
  nowMs(): number {
    return Math.round((performance.timeOrigin + performance.now() - this.epochMs) * 1000) / 1000;
  }

  append(e: HistoryEvent): void {
    if (this.closed) throw new Error('history file is closed');
    const line = `${encodeEvent(e)}\n`;
    this.pending.push(line);
    this.pendingBytes += line.length;
    this.events++;
    if (this.pendingBytes >= pendingBytesMax) this.flush();
    else if (this.timer === null) this.timer = setTimeout(() => this.flush(), flushIntervalMs);
  }

  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    writeSync(this.fd, text);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    closeSync(this.fd);
  }
}
