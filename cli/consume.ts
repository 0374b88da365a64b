/** `raftbus consume <topic>`: prints records as text or JSON lines. */
import type { Writable } from 'node:stream';
import type { RaftbusClient } from '../client/client.ts';
import { type ConsumedRecord, Consumer, type StartOffset } from '../client/consumer.ts';
import { expectPositionals, intOption, parse, stringOption } from './args.ts';
import { UsageError } from './usage-error.ts';

export interface ConsumeArgs {
  topic: string;
  partition: number | undefined;
  from: StartOffset;
  count: number | undefined;
  format: 'text' | 'json';
}

export function parseConsume(argv: string[]): ConsumeArgs | 'help' {
  const { values, positionals } = parse('consume', argv, {
    partition: { type: 'string' },
    from: { type: 'string' },
    count: { type: 'string' },
    format: { type: 'string' },
  });
  if (values.help) return 'help';
  const [topic] = expectPositionals('consume', positionals, ['topic']);
  const fromText = stringOption(values, 'from') ?? 'earliest';
  let from: StartOffset;
  if (fromText === 'earliest' || fromText === 'latest') from = fromText;
  else if (/^\d+$/.test(fromText)) from = Number(fromText);
  else throw new UsageError('consume', `--from must be earliest, latest or an offset, got "${fromText}"`);
  const format = stringOption(values, 'format') ?? 'text';
  if (format !== 'text' && format !== 'json')
    throw new UsageError('consume', `--format must be text or json, got "${format}"`);
  return {
    topic: topic!,
    partition: intOption('consume', values, 'partition', 0),
    from,
    count: intOption('consume', values, 'count', 1),
    format,
  };
}

const decoder = new TextDecoder();

function bytesToJson(b: Uint8Array | string): string {
  return typeof b === 'string' ? b : decoder.decode(b);
}

export function formatRecord(r: ConsumedRecord, format: 'text' | 'json'): string {
  if (format === 'text') {
    const value = decoder.decode(r.value);
    return r.key === null ? value : `${decoder.decode(r.key)}\t${value}`;
  }
  const headers: Record<string, string> | null = r.headers
    ? Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, bytesToJson(v)]))
    : null;
  return JSON.stringify({
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key === null ? null : decoder.decode(r.key),
    value: decoder.decode(r.value),
    headers,
  });
}

/** Prints records until --count is reached or the signal aborts; returns how many were printed. */
export async function runConsume(
  client: RaftbusClient,
  a: ConsumeArgs,
  out: Writable,
  signal: AbortSignal,
): Promise<number> {
  const consumer = new Consumer(client, {
    topic: a.topic,
    from: a.from,
    maxWaitMs: 500,
    ...(a.partition !== undefined ? { partitions: [a.partition] } : {}),
  });
  let printed = 0;
  for await (const batch of consumer.batches({ signal })) {
    let text = '';
    for (const r of batch.records) {
      text += `${formatRecord(r, a.format)}\n`;
      printed++;
      if (a.count !== undefined && printed >= a.count) break;
    }
    if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
    if (a.count !== undefined && printed >= a.count) break;
  }
  return printed;
}
