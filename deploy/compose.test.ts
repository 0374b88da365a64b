/**
 * docker-compose.cluster.yml, deploy/prometheus.yml and the Dockerfile:
 * `docker-compose config -q` when the command exists (Debian's docker-compose;
 * the structural checks then read its normalized output), otherwise the file
 * itself through the YAML subset reader. Either way: three brokers with
 * distinct node ids, advertised service names, seeds, volumes, healthchecks
 * on /health, env that the node's own config loader accepts, and Prometheus
 * scraping every broker's /metrics.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadNodeConfig, resolveHttpPort } from '../node/config.ts';
import { parseYamlSubset, YamlSubsetError, type YamlValue } from './yaml-subset.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const composePath = `${root}docker-compose.cluster.yml`;
const brokers = ['broker-1', 'broker-2', 'broker-3'];

type Obj = { [key: string]: YamlValue };
const obj = (v: YamlValue | undefined): Obj => {
  expect(v !== null && typeof v === 'object' && !Array.isArray(v)).toBe(true);
  return v as Obj;
};
const arr = (v: YamlValue | undefined): YamlValue[] => {
  expect(Array.isArray(v)).toBe(true);
  return v as YamlValue[];
};

// RAFTBUS_COMPOSE_CHECK=file exercises the fallback where docker-compose is installed.
const hasDockerCompose =
  process.env.RAFTBUS_COMPOSE_CHECK !== 'file' &&
  spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;

/** The compose model: docker-compose's normalized output when available, else the file as written. */
let loaded: { source: 'docker-compose config' | 'file'; model: Obj } | null = null;
function loadCompose(): { source: 'docker-compose config' | 'file'; model: Obj } {
  loaded ??= readCompose();
  return loaded;
}
function readCompose(): { source: 'docker-compose config' | 'file'; model: Obj } {
  if (hasDockerCompose) {
    const r = spawnSync('docker-compose', ['-f', composePath, 'config'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    return { source: 'docker-compose config', model: obj(parseYamlSubset(r.stdout)) };
  }
  return { source: 'file', model: obj(parseYamlSubset(readFileSync(composePath, 'utf8'))) };
}

/** `"9093:9092"` or `{ published, target }` (normalized) -> [published, target]. */
function portPair(p: YamlValue): [number, number] {
  if (typeof p === 'string') {
    const m = /^(\d+):(\d+)$/.exec(p);
    expect(m, p).not.toBeNull();
    return [Number(m![1]), Number(m![2])];
  }
  const o = obj(p);
  return [Number(o.published), Number(o.target)];
}

/** `"name:/data"` or `{ source, target }` (normalized) -> [source, target]. */
function volumePair(v: YamlValue): [string, string] {
  if (typeof v === 'string') {
    const [source, target] = v.split(':');
    return [source!, target!];
  }
  const o = obj(v);
  return [String(o.source), String(o.target)];
}

describe('docker-compose.cluster.yml', () => {
  // CI installs Debian's docker-compose and sets this, so the real validator cannot silently be skipped there.
  it.runIf(process.env.RAFTBUS_REQUIRE_DOCKER_COMPOSE === '1')('has docker-compose when CI requires it', () => {
    expect(hasDockerCompose).toBe(true);
  });

  it.runIf(hasDockerCompose)('passes `docker-compose config -q`', () => {
    const r = spawnSync('docker-compose', ['-f', composePath, 'config', '-q'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
  });

  it('runs three brokers from the Dockerfile with ids, seeds, advertised names, volumes and healthchecks', () => {
    const { source, model } = loadCompose();
    console.info(`compose checked from: ${source}`);
    const services = obj(model.services);
    expect(Object.keys(services).sort()).toEqual([...brokers, 'prometheus']);
    const published = new Set<number>();
    const volumes = new Set<string>();
    for (const [i, name] of brokers.entries()) {
      const s = obj(services[name]);
      expect(String(obj(s.build).dockerfile)).toBe('Dockerfile');
      const env = Object.fromEntries(Object.entries(obj(s.environment)).map(([k, v]) => [k, String(v)]));
      expect(env.RAFTBUS_NODE_ID).toBe(String(i + 1));
      expect(env.RAFTBUS_ADVERTISED_HOST).toBe(name);
      expect(env.RAFTBUS_SEEDS!.split(',').sort()).toEqual(brokers.map((b) => `${b}:${env.RAFTBUS_GOSSIP_PORT}`));
      expect(env.RAFTBUS_PEERS!.split(',')).toEqual(brokers.map((b, j) => `${j + 1}=${b}:${env.RAFTBUS_RAFT_PORT}`));
      // The node's own loader accepts this env and reads the same ports.
      const config = loadNodeConfig([], env);
      expect(config.nodeId).toBe(i + 1);
      expect(config.advertisedHost).toBe(name);
      expect(config.dataDir).toBe('/data');
      // Cluster mode: this node's Raft port and a controller quorum of the three brokers.
      expect(config.raftPort).toBe(Number(env.RAFTBUS_RAFT_PORT));
      expect(config.peers.map((p) => p.nodeId)).toEqual([1, 2, 3]);
      expect(config.controllerVoters).toBe(3);
      const httpPort = resolveHttpPort(config);
      expect(httpPort).toBe(Number(env.RAFTBUS_HTTP_PORT));
      const ports = arr(s.ports).map(portPair);
      expect(ports.map(([, target]) => target).sort()).toEqual([config.port, httpPort].sort());
      for (const [p] of ports) {
        expect(published.has(p)).toBe(false);
        published.add(p);
      }
      const [volume, target] = volumePair(arr(s.volumes)[0]!);
      expect(target).toBe('/data');
      expect(volumes.has(volume)).toBe(false);
      volumes.add(volume);
      const test = arr(obj(s.healthcheck).test).map(String);
      expect(test[0]).toBe('CMD');
      expect(test.join(' ')).toContain(`127.0.0.1:${httpPort}/health`);
    }
    expect(Object.keys(obj(model.volumes))).toEqual(expect.arrayContaining([...volumes]));
  });

  it('runs Prometheus scraping every broker /metrics through deploy/prometheus.yml', () => {
    const { model } = loadCompose();
    const services = obj(model.services);
    const prom = obj(services.prometheus);
    expect(String(prom.image)).toMatch(/^prom\/prometheus(:|$)/);
    const mounts = arr(prom.volumes).map(volumePair);
    const config = mounts.find(([, target]) => target === '/etc/prometheus/prometheus.yml');
    expect(config?.[0]).toMatch(/deploy\/prometheus\.yml$/);
    const scrape = obj(parseYamlSubset(readFileSync(`${root}deploy/prometheus.yml`, 'utf8')));
    const job = obj(arr(scrape.scrape_configs)[0]);
    expect(job.metrics_path).toBe('/metrics');
    const targets = arr(obj(arr(job.static_configs)[0]).targets).map(String);
    const expected = brokers.map((b) => {
      const env = obj(obj(services[b]).environment);
      return `${b}:${String(env.RAFTBUS_HTTP_PORT)}`;
    });
    expect(targets.sort()).toEqual(expected.sort());
  });
});

describe('Dockerfile', () => {
  it('builds on Node 24 and runs the CLI', () => {
    const text = readFileSync(`${root}Dockerfile`, 'utf8');
    expect(text).toMatch(/^FROM node:24[-.\w]*$/m);
    expect(text).toContain('ENTRYPOINT ["node", "cli/raftbus.ts"]');
    expect(text).toMatch(/^HEALTHCHECK .*\n?.*\/health/m);
  });
});

describe('YAML subset reader', () => {
  it('reads nested maps, sequences at or below their key, quotes, flow sequences and comments', () => {
    const doc = [
      'a:',
      '  b: "x # not a comment"   # a comment',
      '  c:',
      '  - 1',
      '  - k: v',
      '    l: [1, "two"]',
      "  d: 'it''s'",
      '  e: {}',
      'f: true',
    ].join('\n');
    expect(parseYamlSubset(doc)).toEqual({
      a: { b: 'x # not a comment', c: [1, { k: 'v', l: [1, 'two'] }], d: "it's", e: {} },
      f: true,
    });
  });

  it('refuses what it does not read (anchors, merges, block scalars, bad indentation)', () => {
    expect(() => parseYamlSubset('a: &x 1')).toThrow(YamlSubsetError);
    expect(() => parseYamlSubset('a:\n  <<: *x')).toThrow(YamlSubsetError);
    expect(() => parseYamlSubset('a: |\n  text')).toThrow(YamlSubsetError);
    expect(() => parseYamlSubset('a: 1\n   b: 2')).toThrow(YamlSubsetError);
  });
});
