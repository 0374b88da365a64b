/**
 * Group commit: one fdatasync round covers every write that completed while
 * the previous round ran. A waiter joins the round that starts after it was
 * enqueued, so its promise resolves only after an fdatasync that began after
 * its write had completed.
 */
import { LogFailedError } from './errors.ts';
import type { LogFile } from './log-file.ts';

export interface SyncWaiter {
  resolve(): void;
  reject(err: unknown): void;
}

export class GroupCommit {
  #waiting: SyncWaiter[] = [];
  #dirty = new Set<LogFile>();
  #round: Promise<void> | null = null;
  #paused = 0;
  #failed: unknown = null;
  #idleWaiters: Array<() => void> = [];
  readonly #onFailure: (err: unknown) => void;

  constructor(onFailure: (err: unknown) => void) {
    this.#onFailure = onFailure;
  }

  get dirtyFiles(): number {
    return this.#dirty.size;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Records that `file` holds written bytes not yet synced. */
  markDirty(file: LogFile): void {
    this.#dirty.add(file);
  }

  /** Forgets a file that is about to be deleted or truncated after a full sync. */
  forget(file: LogFile): void {
    this.#dirty.delete(file);
  }

  /** Resolves after an fdatasync of every dirty file that starts after this call. */
  enqueue(waiter: SyncWaiter): void {
    if (this.#failed !== null) {
      waiter.reject(this.#failed);
      return;
    }
    this.#waiting.push(waiter);
    this.#kick();
  }

  /** A promise form of enqueue. */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => this.enqueue({ resolve, reject }));
  }

  /** Syncs dirty files now if nothing else is going on (interval flushing). */
  syncIfDirty(): void {
    if (this.#dirty.size > 0 && this.#round === null && this.#paused === 0) {
      this.enqueue({ resolve: () => {}, reject: () => {} });
    }
  }

  /**
   * Holds new rounds back (a truncation or deletion is in progress) and waits
   * for the running one to finish. Waiters enqueued meanwhile wait for resume().
   */
  async pause(): Promise<void> {
    this.#paused++;
    while (this.#round !== null) await this.#round.catch(() => {});
  }

  resume(): void {
    this.#paused--;
    if (this.#paused < 0) throw new Error('group commit resumed more often than paused');
    this.#kick();
  }

  /** Resolves when no round runs and nobody waits. */
  idle(): Promise<void> {
    if (this.#round === null && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Rejects every waiter now and later (the log failed or crashed). */
  fail(err: unknown): void {
    if (this.#failed === null) this.#failed = err;
    const waiters = this.#waiting;
    this.#waiting = [];
    for (const w of waiters) w.reject(err);
    this.#notifyIdle();
  }

  #kick(): void {
    if (this.#round !== null || this.#paused > 0 || this.#failed !== null) return;
    if (this.#waiting.length === 0) {
      this.#notifyIdle();
      return;
    }
    this.#round = this.#runRound().finally(() => {
      this.#round = null;
      this.#kick();
    });
  }

  async #runRound(): Promise<void> {
    // Everything written so far belongs to this round; later writes wait for the next.
    const waiters = this.#waiting;
    this.#waiting = [];
    const files = [...this.#dirty];
    this.#dirty.clear();
    try {
      await Promise.all(files.map((f) => f.datasync()));
    } catch (err) {
      const failure = new LogFailedError(`fdatasync failed: ${(err as Error).message}`, err);
      for (const w of waiters) w.reject(failure);
      this.fail(failure);
      this.#onFailure(failure);
      return;
    }
    for (const w of waiters) w.resolve();
  }

  #notifyIdle(): void {
    if (this.#round !== null || this.#waiting.length > 0) return;
    const ws = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of ws) w();
  }
}
