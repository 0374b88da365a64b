/** `raftbus topic create|list|describe|delete`. */
import { Admin } from '../client/admin.ts';
import type { RaftbusClient } from '../client/client.ts';
import type { TopicConfig } from '../node/protocol/api.ts';
import { expectPositionals, intOption, type Parsed, parse } from './args.ts';
import { UsageError } from './usage-error.ts';

export function parseTopic(argv: string[]): { sub: string; parsed: Parsed } {
  const parsed = parse('topic', argv, {
    partitions: { type: 'string' },
    'replication-factor': { type: 'string' },
    'retention-ms': { type: 'string' },
    'retention-bytes': { type: 'string' },
    'segment-bytes': { type: 'string' },
    'if-not-exists': { type: 'boolean' },
  });
  const [sub, ...rest] = parsed.positionals;
  if (parsed.values.help) return { sub: 'help', parsed };
  if (sub === undefined) throw new UsageError('topic', 'missing subcommand (create, list, describe, delete)');
  if (!['create', 'list', 'describe', 'delete'].includes(sub))
    throw new UsageError('topic', `unknown subcommand "${sub}"`);
  expectPositionals('topic', rest, sub === 'list' ? [] : ['name']);
  if (sub === 'create' && parsed.values.partitions === undefined)
    throw new UsageError('topic', 'topic create needs --partitions N');
  if (sub === 'create') {
    intOption('topic', parsed.values, 'partitions', 1, 100_000);
    intOption('topic', parsed.values, 'replication-factor', 1, 15);
    intOption('topic', parsed.values, 'retention-ms', -1);
    intOption('topic', parsed.values, 'retention-bytes', -1);
    intOption('topic', parsed.values, 'segment-bytes', 1);
  }
  return { sub, parsed: { values: parsed.values, positionals: rest } };
}

export async function runTopic(
  client: RaftbusClient,
  sub: string,
  { values, positionals }: Parsed,
  out: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const admin = new Admin(client);
  const name = positionals[0]!;
  switch (sub) {
    case 'create': {
      const config: Partial<TopicConfig> = {};
      const retentionMs = intOption('topic', values, 'retention-ms', -1);
      const retentionBytes = intOption('topic', values, 'retention-bytes', -1);
      const segmentBytes = intOption('topic', values, 'segment-bytes', 1);
      if (retentionMs !== undefined) config.retentionMs = retentionMs;
      if (retentionBytes !== undefined) config.retentionBytes = retentionBytes;
      if (segmentBytes !== undefined) config.segmentBytes = segmentBytes;
      const partitions = intOption('topic', values, 'partitions', 1, 100_000)!;
      const rf = intOption('topic', values, 'replication-factor', 1, 15);
      await admin.createTopics([{ name, partitions, ...(rf ? { replicationFactor: rf } : {}), config }], {
        signal,
        ignoreExisting: values['if-not-exists'] === true,
      });
      out(`created topic ${name} with ${partitions} partition${partitions === 1 ? '' : 's'}`);
      return;
    }
    case 'list':
      for (const t of await admin.listTopics({ signal })) out(`${t.name}\t${t.partitions}`);
      return;
    case 'describe': {
      const [d] = await admin.describeTopics([name], { signal });
      if (!d) throw new Error(`no description returned for ${name}`);
      const c = d.config;
      out(
        `topic ${d.name}  partitions=${d.partitions.length}${c ? `  retentionMs=${c.retentionMs}  retentionBytes=${c.retentionBytes}  segmentBytes=${c.segmentBytes}  maxBatchBytes=${c.maxBatchBytes}` : ''}`,
      );
      out('partition\tleader\treplicas\tstartOffset\thighWatermark\tsizeBytes');
      for (const p of d.partitions) {
        out(
          `${p.partition}\t${p.leader}\t${p.replicas.join(',')}\t${p.logStartOffset}\t${p.highWatermark}\t${p.sizeBytes}`,
        );
      }
      return;
    }
    case 'delete':
      await admin.deleteTopics([name], { signal });
      out(`deleted topic ${name}`);
      return;
  }
}
