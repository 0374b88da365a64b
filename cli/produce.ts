/**
 * `raftbus produce <topic>`: records from stdin lines or generated. Records
 * go out in chunks through Producer.sendBatch with a bounded number of chunks
 * in flight, so memory stays bounded however long stdin is.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { RaftbusClient } from '../client/client.ts';
import { type AcksMode, Producer, type ProducerRecord } from '../client/producer.ts';
import { expectPositionals, intOption, parse, stringOption } from './args.ts';
import { UsageError } from './usage-error.ts';

const CHUNK_RECORDS = 1_000;
const CHUNKS_IN_FLIGHT_MAX = 32;

export interface ProduceArgs {
  topic: string;
  keyed: boolean;
  key: string | undefined;
  keyField: string | undefined;
  partition: number | undefined;
  generate: number | undefined;
  sizeBytes: number;
  acks: AcksMode;
  lingerMs: number;
  /** Producer id + sequences (needs a node that speaks InitProducerId). */
  idempotent: boolean;
}

export function parseProduce(argv: string[]): ProduceArgs | 'help' {
  const { values, positionals } = parse('produce', argv, {
    keyed: { type: 'boolean' },
    key: { type: 'string' },
    'key-field': { type: 'string' },
    partition: { type: 'string' },
    generate: { type: 'string' },
    size: { type: 'string' },
    acks: { type: 'string' },
    'linger-ms': { type: 'string' },
    idempotent: { type: 'boolean' },
  });
  if (values.help) return 'help';
  const [topic] = expectPositionals('produce', positionals, ['topic']);
  const modes = [values.keyed === true, values.key !== undefined, values['key-field'] !== undefined].filter(Boolean);
  if (modes.length > 1) throw new UsageError('produce', '--keyed, --key and --key-field exclude each other');
  const acks = stringOption(values, 'acks') ?? 'quorum';
  if (acks !== 'none' && acks !== 'leader' && acks !== 'quorum') {
    throw new UsageError('produce', `--acks must be none, leader or quorum, got "${acks}"`);
  }
  const generate = intOption('produce', values, 'generate', 1, 1_000_000_000);
  if (values.size !== undefined && generate === undefined)
    throw new UsageError('produce', '--size only goes with --generate');
  return {
    topic: topic!,
    keyed: values.keyed === true,
    key: stringOption(values, 'key'),
    keyField: stringOption(values, 'key-field'),
    partition: intOption('produce', values, 'partition', 0),
    generate,
    sizeBytes: intOption('produce', values, 'size', 0, 64 * 1024 * 1024) ?? 100,
    acks,
    lingerMs: intOption('produce', values, 'linger-ms', 0, 60_000) ?? 5,
    idempotent: values.idempotent === true,
  };
}

/** Turns one input line into a record per the key options; null for a line to skip (reported). */
export function lineToRecord(line: string, a: ProduceArgs): ProducerRecord {
  let key: string | null = a.key ?? null;
  let value = line;
  if (a.keyed) {
    const tab = line.indexOf('\t');
    if (tab >= 0) {
      key = line.slice(0, tab);
      value = line.slice(tab + 1);
    }
  } else if (a.keyField !== undefined) {
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new Error(`line is not JSON but --key-field was given: ${line.slice(0, 80)}`);
    }
    const k = obj !== null && typeof obj === 'object' ? (obj as Record<string, unknown>)[a.keyField] : undefined;
    key = k === undefined || k === null ? null : typeof k === 'string' ? k : JSON.stringify(k);
  }
  const r: ProducerRecord = { key, value };
  if (a.partition !== undefined) r.partition = a.partition;
  return r;
}

export interface ProduceSummary {
  sent: number;
  failed: number;
  elapsedMs: number;
  firstError: Error | null;
}

export async function runProduce(
  client: RaftbusClient,
  a: ProduceArgs,
  stdin: Readable,
  signal: AbortSignal,
): Promise<ProduceSummary> {
  const producer = new Producer(client, { acks: a.acks, lingerMs: a.lingerMs, idempotent: a.idempotent });
  const started = performance.now();
  const summary: ProduceSummary = { sent: 0, failed: 0, elapsedMs: 0, firstError: null };
  const inFlight = new Set<Promise<void>>();
  const submit = async (records: ProducerRecord[]): Promise<void> => {
    while (inFlight.size >= CHUNKS_IN_FLIGHT_MAX) await Promise.race(inFlight);
    const p = producer.sendBatch(a.topic, records, { signal }).then(
      () => {
        summary.sent += records.length;
      },
      (err: unknown) => {
        summary.failed += records.length;
        summary.firstError ??= err as Error;
      },
    );
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };
  if (a.generate !== undefined) {
    const filler = 'x'.repeat(a.sizeBytes);
    for (let start = 0; start < a.generate && !signal.aborted; start += CHUNK_RECORDS) {
      const n = Math.min(CHUNK_RECORDS, a.generate - start);
      const chunk: ProducerRecord[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const seq = String(start + i);
        const r: ProducerRecord = {
          key: a.key ?? `key-${seq}`,
          value: seq.length >= a.sizeBytes ? seq.slice(0, a.sizeBytes) : seq + filler.slice(seq.length),
        };
        if (a.partition !== undefined) r.partition = a.partition;
        chunk[i] = r;
      }
      await submit(chunk);
    }
  } else {
    const lines = createInterface({ input: stdin, crlfDelay: Number.POSITIVE_INFINITY });
    let chunk: ProducerRecord[] = [];
    for await (const line of lines) {
      if (signal.aborted) break;
      if (line === '') continue;
      chunk.push(lineToRecord(line, a));
      if (chunk.length >= CHUNK_RECORDS) {
        await submit(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) await submit(chunk);
  }
  await Promise.all(inFlight);
  await producer.close();
  summary.elapsedMs = performance.now() - started;
  return summary;
}
