/**
 * Lets many reads run at once but keeps them out while a truncation rewrites
 * the tail of the log: a read must never see bytes of a batch that is being
 * cut and then overwritten by a new append at the same position.
 */
export class ReadGate {
  #active = 0;
  #closed: Promise<void> | null = null;
  #open: (() => void) | null = null;
  #drained: (() => void) | null = null;

  get activeReads(): number {
    return this.#active;
  }

  async enter(): Promise<void> {
    // Bounded by the number of truncations queued behind each other.
    while (this.#closed !== null) await this.#closed;
    this.#active++;
  }

  exit(): void {
    this.#active--;
    if (this.#active < 0) throw new Error('read gate exited more often than entered');
    if (this.#active === 0 && this.#drained !== null) {
      const d = this.#drained;
      this.#drained = null;
      d();
    }
  }

  /** Stops new reads and waits for running ones to finish. */
  async close(): Promise<void> {
    while (this.#closed !== null) await this.#closed;
    this.#closed = new Promise((resolve) => {
      this.#open = resolve;
    });
    if (this.#active > 0) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
    }
  }

  open(): void {
    const o = this.#open;
    this.#closed = null;
    this.#open = null;
    o?.();
  }
}
