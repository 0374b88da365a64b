/**
 * The broker services of docker-compose.cluster.yml, run for real: each on its
 * own host (namespace), with the Dockerfile's ENTRYPOINT plus the service's
 * command and the service's environment (only the /data volume mapped to a host
 * folder), forming one cluster that a client on the client host reaches through
 * `broker-1:9092`. The plan itself (pure) is checked without root.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './cluster-hosts.ts';
import { startComposeHosts } from './compose-hosts.ts';
import { planComposeServices } from './compose-plan.ts';
import { ComposeFileError, ComposeNeedsNetnsError } from './errors.ts';
import { netnsSupport } from './mode.ts';
import { runProbeOnClientHost } from './probe-runner.ts';
import type { ClusterHosts } from './types.ts';

const composeFile = join(REPO_ROOT, 'docker-compose.cluster.yml');
const support = netnsSupport();
if (!support.ok) console.log(`compose-on-netns tests skipped: ${support.reason}`);

describe('planComposeServices', () => {
  it('runs each broker service as ENTRYPOINT + command with its own env, /data mapped to a host folder', () => {
    const plans = planComposeServices(composeFile, { dir: '/h', nodeExecPath: '/bin/node24' });
    expect(plans.map((p) => p.service)).toEqual(['broker-1', 'broker-2', 'broker-3']);
    for (const [i, p] of plans.entries()) {
      expect(p.nodeId).toBe(i + 1);
      // ENTRYPOINT ["node", "cli/raftbus.ts"] + command ["node"], from the repo root (the build context).
      expect([p.command, ...p.args]).toEqual(['/bin/node24', 'cli/raftbus.ts', 'node']);
      expect(`${p.cwd}/`.replace(/\/+$/, '/')).toBe(REPO_ROOT);
      expect(p.env).toMatchObject({
        NODE_ENV: 'production', // the image's ENV
        RAFTBUS_NODE_ID: String(i + 1),
        RAFTBUS_ADVERTISED_HOST: `broker-${i + 1}`,
        RAFTBUS_PEERS: '1=broker-1:9192,2=broker-2:9192,3=broker-3:9192',
        RAFTBUS_DATA_DIR: `/h/broker-${i + 1}-data`, // the volume, not the container path
      });
      expect(p.dataDir).toBe(`/h/broker-${i + 1}-data`);
      expect([p.clientPort, p.httpPort]).toEqual([9092, 10092]); // container ports as written
      expect(p.clustered).toBe(true);
    }
  });

  it('refuses a file that rotted: ports that do not match the node, a data dir off the volume', () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftbus-compose-plan-'));
    try {
      const source = readFileSync(composeFile, 'utf8').replaceAll('context: .', `context: ${REPO_ROOT}`);
      const bad = join(dir, 'ports.yml');
      writeFileSync(bad, source.replace('"9092:9092"', '"9092:9099"'));
      expect(() => planComposeServices(bad, { dir })).toThrow(ComposeFileError);
      const offVolume = join(dir, 'data.yml');
      writeFileSync(offVolume, source.replace('RAFTBUS_DATA_DIR: /data', 'RAFTBUS_DATA_DIR: /var/raftbus'));
      expect(() => planComposeServices(offVolume, { dir })).toThrow(/RAFTBUS_DATA_DIR must lie on a volume/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loopback cannot host compose services: a typed error', async () => {
    await expect(startComposeHosts(composeFile, { dir: tmpdir(), mode: 'loopback' })).rejects.toBeInstanceOf(
      ComposeNeedsNetnsError,
    );
  });
});

describe.runIf(support.ok)('startComposeHosts (netns)', () => {
  let dir = '';
  let hosts: ClusterHosts;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'raftbus-hosts-compose-'));
    hosts = await startComposeHosts(composeFile, { dir });
  });

  afterAll(async () => {
    await hosts?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts the three brokers from the compose file; they form one cluster', async () => {
    expect(hosts.mode).toBe('netns');
    expect(hosts.nodes.map((n) => n.name)).toEqual(['broker-1', 'broker-2', 'broker-3']);
    expect(hosts.bootstrap).toEqual(['broker-1:9092', 'broker-2:9092', 'broker-3:9092']);
    for (const n of hosts.nodes) {
      const health = JSON.parse(await hosts.httpGet(`${n.httpBase}/health`)) as {
        status: string;
        nodeId: number;
        clusterId: string;
        cluster: { registered: boolean };
      };
      expect(health).toMatchObject({ status: 'ok', nodeId: n.nodeId, clusterId: 'raftbus-compose' });
      expect(health.cluster.registered).toBe(true);
      // The process runs the service's own environment, the volume path mapped to its host folder.
      const environ = readFileSync(`/proc/${n.pid}/environ`, 'utf8').split('\0');
      expect(environ).toContain(`RAFTBUS_DATA_DIR=${join(dir, `${n.name}-data`)}`);
      expect(environ).toContain(`RAFTBUS_ADVERTISED_HOST=${n.name}`);
      expect(n.dataDir).toBe(join(dir, `${n.name}-data`));
    }
  });

  it('a client on the client host produces and consumes with acks quorum through broker-1:9092', async () => {
    const r = await runProbeOnClientHost(hosts, {
      bootstrap: ['broker-1:9092'],
      topic: 'compose-probe',
      records: 6,
      replication: 3,
      acks: 'quorum',
    });
    expect(r).toMatchObject({ ok: true });
    if (r.ok) expect(r.consumed).toHaveLength(6);
  });
});
