import { type ConfState, type Entry, EntryType, type HardState, type Message, MessageType } from '../../types.ts';
import { decodeConfChange } from '../conf-change.ts';

const typeNames = new Map<number, string>(Object.entries(MessageType).map(([k, v]) => [v, k]));

function text(data: Uint8Array): string {
  let s = '';
  for (const b of data)
    s += b >= 0x20 && b < 0x7f && b !== 0x22 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return `"${s}"`;
}

export function describeConfChangeData(data: Uint8Array): string {
  return decodeConfChange(data)
    .changes.map((c) => `${c.type}(${c.nodeId})`)
    .join(',');
}

export function describeEntry(e: Entry): string {
  if (e.type === EntryType.ConfChange) return `${e.term}/${e.index} ConfChange ${describeConfChangeData(e.data)}`;
  return `${e.term}/${e.index} Normal ${text(e.data)}`;
}

export function describeEntries(ents: readonly Entry[]): string {
  return `[${ents.map(describeEntry).join(', ')}]`;
}

export function describeHardState(hs: HardState): string {
  return `Term:${hs.term} Vote:${hs.vote} Commit:${hs.commit}`;
}

export function describeConf(c: ConfState): string {
  return `voters=(${c.voters.join(',')}) learners=(${c.learners.join(',')})`;
}

export function describeMessage(m: Message): string {
  const t = typeNames.get(m.type) ?? `Type${m.type}`;
  const parts = [`${m.from}->${m.to} ${t} Term:${m.term}`];
  switch (m.type) {
    case MessageType.App:
      parts.push(`Log:${m.logTerm}/${m.index} Commit:${m.commit}`);
      if (m.entries.length > 0) parts.push(`Entries:${describeEntries(m.entries)}`);
      break;
    case MessageType.AppResp:
      parts.push(
        m.reject ? `Rejected (Hint: ${m.rejectHint}/${m.rejectHintTerm}) Index:${m.index}` : `Index:${m.index}`,
      );
      break;
    case MessageType.Vote:
    case MessageType.PreVote:
      parts.push(`Log:${m.logTerm}/${m.index}`);
      break;
    case MessageType.VoteResp:
    case MessageType.PreVoteResp:
      if (m.reject) parts.push('Rejected');
      break;
    case MessageType.Heartbeat:
      parts.push(`Commit:${m.commit}`);
      break;
    case MessageType.Snapshot:
      if (m.snapshot) {
        const s = m.snapshot.meta;
        parts.push(`Snapshot: Index:${s.index} Term:${s.term} ${describeConf(s.conf)}`);
      }
      break;
    case MessageType.ReadIndexResp:
      parts.push(`Index:${m.index}`);
      break;
    case MessageType.TransferLeader:
      parts.push(`Transferee:${m.index}`);
      break;
  }
  if (m.context && m.context.byteLength > 0 && m.type !== MessageType.Vote) parts.push(`Context:${text(m.context)}`);
  if (m.context && m.type === MessageType.Vote) parts.push('(transfer)');
  return parts.join(' ');
}
