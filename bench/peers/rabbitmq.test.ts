import { describePeer } from './peer-suite.ts';
import { RABBITMQ_DURABILITY, rabbitmqServerPath, rabbitmqTarget } from './rabbitmq.ts';

describePeer({
  name: 'rabbitmq',
  bin: rabbitmqServerPath(),
  missing: 'rabbitmq-server or epmd (apt-get install rabbitmq-server)',
  target: rabbitmqTarget,
  versionPattern: /^rabbitmq-server \d+\.\d+\.\d+/,
  durability: RABBITMQ_DURABILITY,
  what: 'a 3-node cluster of quorum queues (one per partition)',
  timeoutMs: 240_000,
});
