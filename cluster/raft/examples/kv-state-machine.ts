/**
 * A replicated key-value map: the example state machine. Commands are
 * msgpack arrays; the op codes are stored in logs, so append-only.
 */
import { Packr } from 'msgpackr';
import type { StateMachine } from '../driver/state-machine.ts';
import type { Entry } from '../types.ts';

export const KvOp = { Put: 1, Delete: 2 } as const;

const packr = new Packr({ useRecords: false, moreTypes: false });
const keyBytesMax = 1024;
const valueBytesMax = 1024 * 1024;

export class KvCommandError extends Error {
  override readonly name = 'KvCommandError';
  readonly code = 'KV_COMMAND_INVALID';
}

export function encodePut(key: string, value: string): Uint8Array {
  if (key.length > keyBytesMax || value.length > valueBytesMax) throw new KvCommandError('kv: key or value too long');
  return packr.pack([KvOp.Put, key, value]);
}

export function encodeDelete(key: string): Uint8Array {
  return packr.pack([KvOp.Delete, key]);
}

export class KvStateMachine implements StateMachine {
  readonly map = new Map<string, string>();
  appliedIndex = 0;

  /** Returns the previous value (undefined if none). A malformed command is skipped, identically everywhere. */
  apply(entry: Entry): unknown {
    this.appliedIndex = entry.index;
    let cmd: unknown;
    try {
      cmd = packr.unpack(entry.data);
    } catch {
      return undefined;
    }
    if (!Array.isArray(cmd) || typeof cmd[1] !== 'string') return undefined;
    const key = cmd[1];
    const previous = this.map.get(key);
    if (cmd[0] === KvOp.Put && typeof cmd[2] === 'string') this.map.set(key, cmd[2]);
    else if (cmd[0] === KvOp.Delete) this.map.delete(key);
    return previous;
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  snapshot(): Uint8Array {
    return packr.pack([...this.map]);
  }

  restore(data: Uint8Array): void {
    this.map.clear();
    if (data.byteLength === 0) return;
    const pairs = packr.unpack(data) as [string, string][];
    for (const [k, v] of pairs) this.map.set(k, v);
  }
}
