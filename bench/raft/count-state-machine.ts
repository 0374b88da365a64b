import type { StateMachine } from '../../cluster/raft/driver/state-machine.ts';
import type { Entry } from '../../cluster/raft/types.ts';

/** The cheapest deterministic state machine: counts entries and bytes, so the benchmark measures Raft. */
export class CountStateMachine implements StateMachine {
  entries = 0;
  bytes = 0;

  apply(e: Entry): unknown {
    this.entries++;
    this.bytes += e.data.byteLength;
    return this.entries;
  }

  snapshot(): Uint8Array {
    const out = new Uint8Array(16);
    const v = new DataView(out.buffer);
    v.setFloat64(0, this.entries);
    v.setFloat64(8, this.bytes);
    return out;
  }

  restore(data: Uint8Array): void {
    if (data.byteLength < 16) {
      this.entries = 0;
      this.bytes = 0;
      return;
    }
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.entries = v.getFloat64(0);
    this.bytes = v.getFloat64(8);
  }
}

/** Fixed-seed payload bytes (xorshift), so every run proposes the same data. */
export function seededPayload(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
