import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { type MemberLiveness, membershipSourceFrom } from './membership-source.ts';

class FakeGossip extends EventEmitter {
  list: { nodeId: number; state: MemberLiveness; stateSinceMs: number }[] = [];
  members() {
    return this.list;
  }
}

describe('membershipSourceFrom', () => {
  it('maps the gossip view (stateSinceMs -> sinceMs) and forwards change events until unsubscribed', () => {
    const g = new FakeGossip();
    g.list = [
      { nodeId: 1, state: 'alive', stateSinceMs: 5 },
      { nodeId: 2, state: 'dead', stateSinceMs: 9 },
    ];
    const src = membershipSourceFrom(g);
    expect(src.members()).toEqual([
      { nodeId: 1, state: 'alive', sinceMs: 5 },
      { nodeId: 2, state: 'dead', sinceMs: 9 },
    ]);
    let calls = 0;
    const off = src.onChange(() => calls++);
    g.emit('change', {});
    off();
    g.emit('change', {});
    expect(calls).toBe(1);
    expect(g.listenerCount('change')).toBe(0);
  });
});
