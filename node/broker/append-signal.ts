/**
 * Wakes fetch long-polls when a partition grows. Listeners are one-shot and
 * removable, so a waiting fetch costs nothing until an append happens: no
 * polling loop anywhere.
 */
export class AppendSignal {
  private listeners = new Set<() => void>();

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Calls `fn` once on the next notify; returns a function that cancels it. */
  once(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  }

  notify(): void {
    if (this.listeners.size === 0) return;
    const fns = [...this.listeners];
    this.listeners.clear();
    for (const fn of fns) fn();
  }
}

/**
 * Resolves when any of several partitions grows, the deadline passes or the
 * signal aborts; whichever first. Subscribe before reading so an append between
 * the read and the wait is not missed.
 */
export class Wakeup {
  private cancels: (() => void)[] = [];
  private fired = false;
  private resolve: (() => void) | null = null;

  watch(signal: AppendSignal): void {
    this.cancels.push(signal.once(() => this.fire()));
  }

  private fire(): void {
    this.fired = true;
    this.resolve?.();
  }

  wait(timeoutMs: number, abort?: AbortSignal): Promise<void> {
    if (this.fired || timeoutMs <= 0 || abort?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const onAbort = (): void => done();
      abort?.addEventListener('abort', onAbort, { once: true });
      function done(): void {
        clearTimeout(timer);
        abort?.removeEventListener('abort', onAbort);
        resolve();
      }
      this.resolve = done;
    });
  }

  dispose(): void {
    for (const c of this.cancels) c();
    this.cancels = [];
    this.resolve = null;
  }
}
