import { SimLimitError, SimUsageError } from './errors.ts';

/**
 * The simulator's one queue of pending events, ordered by (virtual time,
 * sequence number). The sequence number is the insertion order, so two events
 * at the same millisecond always pop in the order they were scheduled: that
 * tie-break is what makes a seed replay exactly.
 */
export interface Scheduled<T> {
  readonly atMs: number;
  readonly seq: number;
  readonly event: T;
}

export class EventQueue<T> {
  private readonly heap: Scheduled<T>[] = [];
  private nextSeq = 0;
  private readonly eventsMax: number;

  constructor(eventsMax: number) {
    if (!Number.isInteger(eventsMax) || eventsMax <= 0)
      throw new SimUsageError(`eventsMax must be positive, got ${eventsMax}`);
    this.eventsMax = eventsMax;
  }

  get size(): number {
    return this.heap.length;
  }

  push(atMs: number, event: T): Scheduled<T> {
    if (!Number.isFinite(atMs) || atMs < 0) throw new SimUsageError(`event time must be >= 0, got ${atMs}`);
    if (this.heap.length >= this.eventsMax) throw new SimLimitError('pending events', this.eventsMax);
    const item: Scheduled<T> = { atMs, seq: this.nextSeq++, event };
    this.heap.push(item);
    this.siftUp(this.heap.length - 1);
    return item;
  }

  peek(): Scheduled<T> | undefined {
    return this.heap[0];
  }

  pop(): Scheduled<T> | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private static before<T>(x: Scheduled<T>, y: Scheduled<T>): boolean {
    return x.atMs < y.atMs || (x.atMs === y.atMs && x.seq < y.seq);
  }

  private siftUp(start: number): void {
    const heap = this.heap;
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!EventQueue.before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const n = heap.length;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let best = i;
      if (left < n && EventQueue.before(heap[left]!, heap[best]!)) best = left;
      if (right < n && EventQueue.before(heap[right]!, heap[best]!)) best = right;
      if (best === i) return;
      [heap[i], heap[best]] = [heap[best]!, heap[i]!];
      i = best;
    }
  }
}
