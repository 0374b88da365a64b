import type { Message, NodeId } from '../types.ts';
import { invariant } from './errors.ts';

/** Bound on ReadIndex requests waiting for a heartbeat quorum at the leader. */
export const pendingReadsMax = 4096;

export interface PendingRead {
  /** The commit index when the request arrived: the read may be served at or after it. */
  index: number;
  req: Message;
  acks: Set<NodeId>;
}

export function contextKey(ctx: Uint8Array | undefined): string {
  if (!ctx) return '';
  let s = '';
  for (const b of ctx) s += String.fromCharCode(b);
  return s;
}

/**
 * Safe-mode ReadIndex (thesis §6.4): each request records the commit index and
 * waits until a heartbeat round carrying its context is acknowledged by a
 * quorum; acknowledging a later request also confirms every earlier one.
 */
export class ReadOnlyQueue {
  private readonly pending = new Map<string, PendingRead>();
  private readonly queue: string[] = [];

  size(): number {
    return this.queue.length;
  }

  /** Returns false if a request with the same context is already pending (it is then answered once). */
  add(index: number, req: Message): boolean {
    const key = contextKey(req.context);
    if (this.pending.has(key)) return false;
    invariant(this.queue.length < pendingReadsMax, 'read-only queue bound checked by caller');
    this.pending.set(key, { index, req, acks: new Set() });
    this.queue.push(key);
    return true;
  }

  /** Records `from`'s acknowledgement of the heartbeat carrying `ctx`; returns its ack set. */
  recvAck(from: NodeId, ctx: Uint8Array | undefined): Set<NodeId> | undefined {
    const p = this.pending.get(contextKey(ctx));
    if (!p) return undefined;
    p.acks.add(from);
    return p.acks;
  }

  /** Removes and returns every request up to and including the one with `ctx`. */
  advance(ctx: Uint8Array | undefined): PendingRead[] {
    const key = contextKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const done = this.queue.splice(0, at + 1).map((k) => {
      const p = this.pending.get(k)!;
      this.pending.delete(k);
      return p;
    });
    return done;
  }

  lastContext(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1];
    return key === undefined ? undefined : this.pending.get(key)!.req.context;
  }

  reset(): void {
    this.pending.clear();
    this.queue.length = 0;
  }
}
