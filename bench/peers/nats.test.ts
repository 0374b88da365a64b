import { NATS_DURABILITY, natsServerPath, natsTarget } from './nats.ts';
import { describePeer } from './peer-suite.ts';

describePeer({
  name: 'nats',
  bin: natsServerPath(),
  missing: 'nats-server (apt-get install nats-server)',
  target: natsTarget,
  versionPattern: /^nats-server \d+\.\d+\.\d+/,
  durability: NATS_DURABILITY,
  what: 'a 3-node JetStream cluster (one R3 stream per partition)',
  timeoutMs: 120_000,
});
