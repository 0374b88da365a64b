import type { ConfChange, ConfChangeType, ConfState } from '../types.ts';
import { ConfChangeDecodeError } from './errors.ts';

/**
 * ConfChange wire form (stored in ConfChange log entries, so append-only):
 *   u8 version (=1) | u8 count | count x (u8 type | u32 BE nodeId)
 */
const formatVersion = 1;
const changesMax = 255;
const nodeIdMax = 0xffff_ffff;

/** Append-only: never renumber (stored in logs). */
const typeCodes = { addVoter: 1, removeVoter: 2, addLearner: 3 } as const satisfies Record<ConfChangeType, number>;
const typeByCode = new Map<number, ConfChangeType>(Object.entries(typeCodes).map(([k, v]) => [v, k as ConfChangeType]));

export function encodeConfChange(cc: ConfChange): Uint8Array {
  if (cc.changes.length === 0 || cc.changes.length > changesMax) {
    throw new ConfChangeDecodeError(`conf change: 1..${changesMax} changes required, got ${cc.changes.length}`);
  }
  const out = new Uint8Array(2 + cc.changes.length * 5);
  const view = new DataView(out.buffer);
  out[0] = formatVersion;
  out[1] = cc.changes.length;
  cc.changes.forEach((c, k) => {
    const code = typeCodes[c.type];
    if (code === undefined) throw new ConfChangeDecodeError(`conf change: unknown type ${String(c.type)}`);
    if (!Number.isInteger(c.nodeId) || c.nodeId <= 0 || c.nodeId > nodeIdMax) {
      throw new ConfChangeDecodeError(`conf change: invalid node id ${c.nodeId}`);
    }
    out[2 + k * 5] = code;
    view.setUint32(3 + k * 5, c.nodeId);
  });
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.byteLength < 2) throw new ConfChangeDecodeError('conf change: truncated header');
  if (data[0] !== formatVersion) throw new ConfChangeDecodeError(`conf change: unknown version ${data[0]}`);
  const count = data[1]!;
  if (count === 0 || data.byteLength !== 2 + count * 5) {
    throw new ConfChangeDecodeError(`conf change: length ${data.byteLength} does not match ${count} changes`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const changes: ConfChange['changes'] = [];
  for (let k = 0; k < count; k++) {
    const type = typeByCode.get(data[2 + k * 5]!);
    if (type === undefined) throw new ConfChangeDecodeError(`conf change: unknown type code ${data[2 + k * 5]}`);
    const nodeId = view.getUint32(3 + k * 5);
    if (nodeId === 0) throw new ConfChangeDecodeError('conf change: node id 0');
    changes.push({ type, nodeId });
  }
  return { changes };
}

/**
 * The configuration after one single-server change (no joint state): addVoter
 * promotes or adds, addLearner demotes or adds, removeVoter removes either role.
 * The one rule every holder of a configuration applies (the core, the storages).
 */
export function applyConfChangeTo(
  conf: { voters: Iterable<number>; learners: Iterable<number> },
  cc: ConfChange,
): ConfState {
  const voters = new Set(conf.voters);
  const learners = new Set(conf.learners);
  for (const c of cc.changes) {
    if (c.type === 'addVoter') {
      learners.delete(c.nodeId);
      voters.add(c.nodeId);
    } else if (c.type === 'addLearner') {
      voters.delete(c.nodeId);
      learners.add(c.nodeId);
    } else {
      voters.delete(c.nodeId);
      learners.delete(c.nodeId);
    }
  }
  return { voters: [...voters], learners: [...learners], votersOutgoing: [] };
}
