/**
 * The topic catalogue on disk: `<data>/meta/topics.json`, rewritten whole and
 * atomically (write temp, fsync, rename, fsync the directory) so a crash leaves
 * either the old or the new catalogue, never half of one. The catalogue is the
 * source of truth: partition directories it does not list are leftovers of an
 * interrupted create or delete.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopicConfig } from '../protocol/api.ts';
import { topicNameProblem } from '../protocol/validate.ts';

export interface StoredTopic {
  name: string;
  partitions: number;
  /** Only the settings this topic overrides. */
  config: Partial<TopicConfig>;
  createdAtMs: number;
}

interface CatalogueFile {
  version: 1;
  topics: StoredTopic[];
}

export class CatalogueError extends Error {
  override readonly name = 'CatalogueError';
  readonly code = 'TOPIC_CATALOGUE_CORRUPT';
}

/** Bound on the catalogue we are willing to parse. */
const CATALOGUE_BYTES_MAX = 256 * 1024 * 1024;

export class TopicStore {
  readonly metaDir: string;
  readonly path: string;

  constructor(dataDir: string) {
    this.metaDir = join(dataDir, 'meta');
    this.path = join(this.metaDir, 'topics.json');
  }

  async load(): Promise<StoredTopic[]> {
    await mkdir(this.metaDir, { recursive: true });
    let text: string;
    try {
      const buf = await readFile(this.path);
      if (buf.byteLength > CATALOGUE_BYTES_MAX) throw new CatalogueError(`${this.path} is larger than expected`);
      text = buf.toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new CatalogueError(`${this.path} is not JSON: ${(err as Error).message}`);
    }
    const file = parsed as Partial<CatalogueFile>;
    if (file?.version !== 1 || !Array.isArray(file.topics)) {
      throw new CatalogueError(`${this.path} has an unknown layout`);
    }
    const seen = new Set<string>();
    for (const t of file.topics) {
      if (topicNameProblem(t?.name) !== null || seen.has(t.name)) {
        throw new CatalogueError(`${this.path} lists a bad or duplicate topic ${JSON.stringify(t?.name)}`);
      }
      if (!Number.isSafeInteger(t.partitions) || t.partitions < 1) {
        throw new CatalogueError(`${this.path}: topic ${t.name} has ${t.partitions} partitions`);
      }
      if (typeof t.config !== 'object' || t.config === null) t.config = {};
      seen.add(t.name);
    }
    return file.topics;
  }

  async save(topics: readonly StoredTopic[]): Promise<void> {
    const body: CatalogueFile = { version: 1, topics: [...topics] };
    const tmp = `${this.path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(`${JSON.stringify(body, null, 1)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    // The rename is durable only once the directory entry is.
    const dir = await open(this.metaDir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
