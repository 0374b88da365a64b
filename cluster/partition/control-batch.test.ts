import { describe, expect, it } from 'vitest';
import { Attributes, readBatchHeader } from '../../node/storage/batch.ts';
import { encodeConfChange } from '../raft/core/config.ts';
import { EntryType } from '../raft/types.ts';
import { decodeControlEntry, encodeControlEntry, isControlBatch } from './control-batch.ts';

describe('control batches', () => {
  it('store the no-op and ConfChange entries as one-record control batches, deterministically', () => {
    const noop = { term: 3, index: 7, type: EntryType.Normal, data: new Uint8Array(0) };
    const b = encodeControlEntry(noop);
    const h = readBatchHeader(b);
    expect(h.attributes & Attributes.control).toBe(Attributes.control);
    expect(h.recordCount).toBe(1);
    expect(isControlBatch(b)).toBe(true);
    expect(Buffer.from(encodeControlEntry(noop)).equals(Buffer.from(b))).toBe(true);
    expect(decodeControlEntry(b)).toEqual({ type: EntryType.Normal, data: new Uint8Array(0) });
    const cc = encodeConfChange({ changes: [{ type: 'addLearner', nodeId: 4 }] });
    const c = encodeControlEntry({ term: 3, index: 8, type: EntryType.ConfChange, data: cc });
    const back = decodeControlEntry(c);
    expect(back.type).toBe(EntryType.ConfChange);
    expect(Buffer.from(back.data).equals(Buffer.from(cc))).toBe(true);
  });

  it('refuses a Normal entry with data (that is a producer batch)', () => {
    expect(() => encodeControlEntry({ term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array([1]) })).toThrow(
      /producer batch/,
    );
  });
});
