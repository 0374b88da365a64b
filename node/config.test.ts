import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, defaultNodeConfig, loadNodeConfig, resolveHttpPort, validateNodeConfig } from './config.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raftbus-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('node config', () => {
  it('runs out of the box: port 9092, data under ./.raftbus/node-1, durable flush', () => {
    const c = loadNodeConfig([], {});
    expect(c).toEqual(defaultNodeConfig());
    expect(c.port).toBe(9092);
    expect(c.dataDir).toBe('./.raftbus/node-1');
    expect(c.flush).toEqual({ kind: 'always' });
    expect(resolveHttpPort(c)).toBe(10092);
  });

  it('derives the data dir from the node id unless one is given', () => {
    expect(loadNodeConfig(['--node-id', '3'], {}).dataDir).toBe('./.raftbus/node-3');
    expect(loadNodeConfig(['--node-id', '3', '--data-dir', '/x'], {}).dataDir).toBe('/x');
  });

  it('takes flags over env over file over defaults', async () => {
    const file = join(dir, 'c.json');
    await writeFile(file, JSON.stringify({ port: 1111, host: '0.0.0.0', segmentBytes: 1 << 26, logLevel: 'warn' }));
    const env = { RAFTBUS_CONFIG: file, RAFTBUS_PORT: '2222', RAFTBUS_HOST: '127.0.0.2' };
    const c = loadNodeConfig(['--port=3333', '--flush', 'interval:50'], env);
    expect(c.port).toBe(3333);
    expect(c.host).toBe('127.0.0.2');
    expect(c.segmentBytes).toBe(1 << 26);
    expect(c.logLevel).toBe('warn');
    expect(c.flush).toEqual({ kind: 'interval', intervalMs: 50 });
    expect(loadNodeConfig(['--config', file], {}).port).toBe(1111);
    expect(loadNodeConfig(['--flush', 'never', '--retention-ms', '-1'], {}).retentionMs).toBe(-1);
  });

  it('names the bad key in every error', async () => {
    expect(errorOf(() => loadNodeConfig(['--port', '70000'], {})).message).toMatch(/--port.*outside/);
    expect(errorOf(() => loadNodeConfig(['--bogus', '1'], {})).message).toMatch(/--bogus.*unknown flag/);
    expect(errorOf(() => loadNodeConfig(['--port'], {})).message).toMatch(/--port.*needs a value/);
    expect(errorOf(() => loadNodeConfig(['--flush', 'sometimes'], {})).message).toMatch(/--flush/);
    expect(errorOf(() => loadNodeConfig(['--log-level', 'loud'], {})).message).toMatch(/--log-level/);
    expect(errorOf(() => loadNodeConfig([], { RAFTBUS_NODE_ID: 'abc' })).message).toMatch(/RAFTBUS_NODE_ID/);
    expect(errorOf(() => loadNodeConfig(['--retention-bytes', '0'], {})).key).toBe('--retention-bytes');
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ prot: 1 }));
    expect(errorOf(() => loadNodeConfig(['--config', bad], {})).message).toMatch(/prot.*unknown key/);
    await writeFile(bad, '{');
    expect(errorOf(() => loadNodeConfig(['--config', bad], {})).key).toBe('config');
    expect(errorOf(() => loadNodeConfig(['--config', join(dir, 'missing.json')], {})).key).toBe('config');
  });

  it('rejects combinations that cannot work', () => {
    expect(
      errorOf(() => loadNodeConfig(['--frame-bytes-max', '1048576', '--batch-bytes-max', '1048576'], {})).key,
    ).toBe('batchBytesMax');
    expect(errorOf(() => loadNodeConfig(['--port', '5000', '--http-port', '5000'], {})).key).toBe('httpPort');
    expect(errorOf(() => validateNodeConfig({ ...defaultNodeConfig(), nodeId: 0 })).key).toBe('nodeId');
  });

  it('resolves the HTTP port', () => {
    const c = defaultNodeConfig();
    expect(resolveHttpPort({ ...c, port: 0 })).toBe(0);
    expect(resolveHttpPort({ ...c, httpPort: 'off' })).toBeNull();
    expect(resolveHttpPort({ ...c, httpPort: 8080 })).toBe(8080);
    expect(loadNodeConfig(['--http-port', 'off'], {}).httpPort).toBe('off');
  });
});
