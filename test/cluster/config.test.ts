/** Cluster flags of `raftbus node`: parsing, defaults (single node unchanged) and the combinations refused. */
import { describe, expect, it } from 'vitest';
import { topologyOf } from '../../cluster/runtime/cluster-topology.ts';
import { ConfigError, isClusterMode, loadNodeConfig } from '../../node/config.ts';

function load(args: string[]) {
  return loadNodeConfig(args, {});
}

function refusal(args: string[]): ConfigError {
  try {
    load(args);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`accepted ${args.join(' ')}`);
}

const peers = '1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003';

describe('cluster flags', () => {
  it('no cluster flag: a single node, as before', () => {
    const c = load([]);
    expect(isClusterMode(c)).toBe(false);
    expect(c.peers).toEqual([]);
    expect(c.raftPort).toBeNull();
  });

  it('parses --raft-port, --peers, --controller-voters, --rack, --dead-broker-reassign-after-ms', () => {
    const c = load([
      '--node-id',
      '2',
      '--raft-port',
      '7002',
      '--peers',
      peers,
      '--controller-voters',
      '3',
      '--rack',
      'eu-1a',
      '--dead-broker-reassign-after-ms',
      '30000',
    ]);
    expect(isClusterMode(c)).toBe(true);
    expect(c.peers).toEqual([
      { nodeId: 1, host: '127.0.0.1', port: 7001 },
      { nodeId: 2, host: '127.0.0.1', port: 7002 },
      { nodeId: 3, host: '127.0.0.1', port: 7003 },
    ]);
    expect([c.raftPort, c.controllerVoters, c.rack, c.deadBrokerReassignAfterMs]).toEqual([7002, 3, 'eu-1a', 30_000]);
  });

  it('refuses bad or inconsistent cluster settings with the key named', () => {
    expect(refusal(['--peers', peers]).key).toBe('peers'); // peers without cluster mode
    expect(refusal(['--raft-port', '7001', '--peers', '1=h:7001,1=h:7002']).message).toMatch(/listed twice/);
    expect(refusal(['--raft-port', '7001', '--peers', '1=nohost']).message).toMatch(/id=host:port/);
    expect(refusal(['--raft-port', '7001', '--peers', '1=h:70000']).key).toMatch(/port/);
    expect(refusal(['--raft-port', '7001', '--controller-voters', '2', '--peers', peers]).key).toBe(
      '--controller-voters',
    );
    expect(refusal(['--raft-port', '7001', '--controller-voters', '7', '--peers', peers]).key).toBe(
      '--controller-voters',
    );
    // Three voters need three known nodes.
    expect(refusal(['--raft-port', '7001', '--peers', '1=127.0.0.1:7001']).message).toMatch(/controller-voters is 3/);
    // This node's own entry must agree with --raft-port.
    expect(refusal(['--node-id', '1', '--raft-port', '7009', '--peers', peers]).message).toMatch(/--raft-port is 7009/);
    expect(refusal(['--raft-port', '9092']).key).toBe('raftPort'); // the client port
    expect(refusal(['--raft-port', '7001', '--dead-broker-reassign-after-ms', '5']).key).toBe(
      '--dead-broker-reassign-after-ms',
    );
  });

  it('gossip flags: parsed in cluster mode, refused without it or in unsafe combinations', () => {
    const c = load([
      '--raft-port',
      '7001',
      '--peers',
      peers,
      '--gossip-port',
      '7101',
      '--seeds',
      '127.0.0.1:7101, 127.0.0.1:7102',
      '--suspect-after-ms',
      '2000',
      '--dead-after-ms',
      '3000',
    ]);
    expect([c.gossipPort, c.seeds, c.suspectAfterMs, c.deadAfterMs]).toEqual([
      7101,
      ['127.0.0.1:7101', '127.0.0.1:7102'],
      2000,
      3000,
    ]);
    expect(refusal(['--gossip-port', '7101']).key).toBe('gossipPort');
    expect(refusal(['--raft-port', '7001', '--peers', peers, '--seeds', 'h:1']).message).toMatch(/needs --gossip-port/);
    expect(refusal(['--raft-port', '7001', '--peers', peers, '--gossip-port', '1', '--seeds', 'nope']).key).toBe(
      '--seeds',
    );
    expect(refusal(['--raft-port', '7001', '--peers', peers, '--gossip-port', '7001']).key).toBe('gossipPort');
    expect(
      refusal(['--raft-port', '7001', '--peers', peers, '--suspect-after-ms', '5000', '--dead-after-ms', '4000']).key,
    ).toBe('deadAfterMs');
  });

  it('topology: the lowest ids vote in the controller group, the others learn, the same on every node', () => {
    const five = '1=h:1,2=h:2,3=h:3,4=h:4,5=h:5';
    const a = topologyOf(load(['--node-id', '4', '--raft-port', '4', '--peers', five]));
    const b = topologyOf(load(['--node-id', '1', '--raft-port', '1', '--peers', five]));
    expect(a.controllerVoters).toEqual([1, 2, 3]);
    expect(a.controllerLearners).toEqual([4, 5]);
    expect(b.controllerVoters).toEqual(a.controllerVoters);
    expect([...a.raftAddresses.keys()]).toEqual([1, 2, 3, 5]);
    const all = topologyOf(load(['--node-id', '5', '--raft-port', '5', '--controller-voters', '5', '--peers', five]));
    expect(all.controllerVoters).toEqual([1, 2, 3, 4, 5]);
  });
});
