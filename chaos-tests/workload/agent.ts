/**
 * The workload agent: a process on the client host that runs the producers
 * and consumers against the cluster and appends every operation to the
 * history file. The parent drives it over stdio (protocol.ts): setup, start,
 * probe, recover, stop-producers, drain, stats, quit. When stdin closes (the
 * parent died) it stops everything, flushes the history and exits.
 *
 *   node chaos-tests/workload/agent.ts --config '<AgentConfig JSON>'
 */
import { createInterface } from 'node:readline';
import { Admin, ErrorCode, RaftbusClient, RaftbusError } from '../../client/index.ts';
import { errorText } from './classify.ts';
import { ConsumerLoop } from './consumers.ts';
import { drainAll } from './drain.ts';
import { HistoryFile } from './history-file.ts';
import { probeLeaders, recoverAll } from './probe.ts';
import { ProducerFamily } from './producers.ts';
import type { AgentCommand, AgentConfig, AgentReply, WorkloadStats } from './protocol.ts';
import { RateLimiter } from './rate-limiter.ts';

/** A command line longer than this is a broken parent, not a command. */
const commandBytesMax = 64 * 1024;

export function parseAgentConfig(argv: string[]): AgentConfig {
  const i = argv.indexOf('--config');
  const text = i >= 0 ? argv[i + 1] : undefined;
  if (text === undefined) throw new Error('usage: agent.ts --config <json>');
  const c = JSON.parse(text) as AgentConfig;
  const positive = ['partitions', 'replicationFactor', 'slotsPerProducer', 'sendRatePerSecMax'] as const;
  for (const k of positive) if (!(typeof c[k] === 'number' && c[k] > 0)) throw new Error(`config ${k} must be > 0`);
  for (const k of ['producers', 'consumers', 'sendsMax'] as const) {
    if (!(Number.isInteger(c[k]) && c[k] >= 0)) throw new Error(`config ${k} must be an integer >= 0`);
  }
  if (!Array.isArray(c.bootstrap) || c.bootstrap.length === 0) throw new Error('config bootstrap is empty');
  if (typeof c.historyPath !== 'string' || typeof c.topic !== 'string') throw new Error('config lacks paths');
  return c;
}

function newClient(c: AgentConfig, clientId: string): RaftbusClient {
  return new RaftbusClient({
    brokers: c.bootstrap,
    clientId,
    connectTimeoutMs: 2_000,
    requestTimeoutMs: 5_000,
    // A metadata answer can be stale during elections: keep it short-lived.
    metadataMaxAgeMs: 5_000,
  });
}

class Agent {
  private readonly c: AgentConfig;
  private readonly history: HistoryFile;
  private readonly control: RaftbusClient;
  private readonly clients: RaftbusClient[] = [];
  private readonly limiter: RateLimiter;
  private readonly producers: ProducerFamily[] = [];
  private readonly consumers: ConsumerLoop[] = [];
  private readonly stats: WorkloadStats = {
    sendsInvoked: 0,
    sendsOk: 0,
    sendsFail: 0,
    sendsInfo: 0,
    reads: 0,
    readRecords: 0,
    producerRestarts: 0,
    consumerRestarts: 0,
  };
  private producersStopped = false;
  private consumersStopped = false;

  constructor(c: AgentConfig) {
    this.c = c;
    this.history = new HistoryFile(c.historyPath, c.epochMs);
    this.control = newClient(c, 'chaos-control');
    this.limiter = new RateLimiter(c.sendRatePerSecMax, c.sendsMax);
  }

  async handle(cmd: AgentCommand): Promise<unknown> {
    switch (cmd.cmd) {
      case 'setup':
        return this.setup(cmd.timeoutMs);
      case 'start':
        return this.start();
      case 'probe':
        return probeLeaders(this.control, this.c.topic, this.c.partitions, cmd.timeoutMs);
      case 'recover':
        return recoverAll(this.control, this.c.topic, this.c.partitions, this.history, cmd.timeoutMs);
      case 'stop-producers':
        await this.stopProducers(cmd.timeoutMs);
        return this.stats;
      case 'drain': {
        await this.stopConsumers();
        const drainClient = newClient(this.c, 'chaos-drain');
        this.clients.push(drainClient);
        const r = await drainAll(drainClient, this.c.topic, this.c.partitions, this.history, cmd.timeoutMs);
        this.history.flush();
        return r;
      }
      case 'stats':
        return this.stats;
      case 'quit':
        await this.shutdown();
        return this.stats;
    }
  }

  /** Creates the topic (retried until the controller answers) and waits until every partition has a leader. */
  private async setup(timeoutMs: number): Promise<{ leaders: number[] }> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const admin = new Admin(this.control);
    let last: unknown = null;
    for (;;) {
      if (deadline.aborted) throw new Error(`topic not created in ${timeoutMs} ms: ${errorText(last)}`);
      try {
        await admin.createTopics(
          [{ name: this.c.topic, partitions: this.c.partitions, replicationFactor: this.c.replicationFactor }],
          { ignoreExisting: true, signal: deadline },
        );
        break;
      } catch (err) {
        if (err instanceof RaftbusError && err.is(ErrorCode.TOPIC_ALREADY_EXISTS)) break;
        last = err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    for (;;) {
      if (deadline.aborted) throw new Error(`partitions without a leader after ${timeoutMs} ms: ${errorText(last)}`);
      try {
        const p = await probeLeaders(this.control, this.c.topic, this.c.partitions, 2_000);
        if (p.leaders.every((l) => l >= 0)) return { leaders: p.leaders };
        last = new Error(`leaders ${JSON.stringify(p.leaders)}`);
      } catch (err) {
        last = err;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private start(): { producers: number; consumers: number } {
    if (this.producers.length > 0 || this.consumers.length > 0) throw new Error('workload already started');
    for (let i = 0; i < this.c.producers; i++) {
      const client = newClient(this.c, `chaos-p${i}`);
      this.clients.push(client);
      this.producers.push(
        new ProducerFamily({
          index: i,
          client,
          topic: this.c.topic,
          partitions: this.c.partitions,
          slots: this.c.slotsPerProducer,
          history: this.history,
          limiter: this.limiter,
          counters: this.stats,
          produceUntilMs: this.c.produceUntilMs,
        }),
      );
    }
    for (let i = 0; i < this.c.consumers; i++) {
      const client = newClient(this.c, `chaos-c${i}`);
      this.clients.push(client);
      this.consumers.push(
        new ConsumerLoop({
          index: i,
          client,
          topic: this.c.topic,
          partitions: this.c.partitions,
          history: this.history,
          counters: this.stats,
        }),
      );
    }
    for (const p of this.producers) p.start();
    for (const c of this.consumers) c.start();
    return { producers: this.producers.length, consumers: this.consumers.length };
  }

  private async stopProducers(timeoutMs: number): Promise<void> {
    if (this.producersStopped) return;
    this.producersStopped = true;
    this.limiter.stop();
    const all = Promise.all(this.producers.map((p) => p.stop()));
    const bounded = await Promise.race([all.then(() => true), sleep(timeoutMs).then(() => false)]);
    if (!bounded) throw new Error(`producers did not stop within ${timeoutMs} ms`);
    this.history.flush();
  }

  private async stopConsumers(): Promise<void> {
    if (this.consumersStopped) return;
    this.consumersStopped = true;
    await Promise.all(this.consumers.map((c) => c.stop()));
    this.history.flush();
  }

  async shutdown(): Promise<void> {
    this.limiter.stop();
    await Promise.race([
      Promise.all([this.stopProducers(30_000).catch(() => {}), this.stopConsumers()]),
      sleep(35_000),
    ]);
    for (const c of this.clients) await c.close();
    await this.control.close();
    this.history.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

function reply(r: AgentReply): void {
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

async function main(): Promise<void> {
  const config = parseAgentConfig(process.argv.slice(2));
  const agent = new Agent(config);
  let quitting = false;
  const rl = createInterface({ input: process.stdin });
  // Commands run concurrently (a probe during a long recover is fine); each reply carries its id.
  rl.on('line', (line) => {
    if (line.length > commandBytesMax) {
      process.stderr.write(`agent: command of ${line.length} bytes ignored\n`);
      return;
    }
    let cmd: AgentCommand;
    try {
      cmd = JSON.parse(line) as AgentCommand;
    } catch {
      process.stderr.write(`agent: unparseable command ${line.slice(0, 200)}\n`);
      return;
    }
    if (cmd.cmd === 'quit') quitting = true;
    agent.handle(cmd).then(
      (result) => {
        reply({ id: cmd.id, ok: true, result });
        if (cmd.cmd === 'quit') process.exit(0);
      },
      (err: unknown) => reply({ id: cmd.id, ok: false, error: errorText(err) }),
    );
  });
  rl.on('close', () => {
    if (quitting) return;
    // The parent is gone: keep what was recorded and leave.
    void agent.shutdown().finally(() => process.exit(0));
  });
  reply({ id: 0, ok: true, ready: true });
}

process.on('unhandledRejection', (err) => {
  process.stderr.write(`agent: unhandled rejection ${errorText(err)}\n`);
});

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`agent: ${errorText(err)}\n`);
    process.exit(2);
  });
}
