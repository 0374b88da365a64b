/**
 * Test helpers for the node: a raw-protocol client (frames in, frames out, no
 * retries or cleverness, so tests see exactly what the server sends), a node
 * started on port 0 in a temp dir, and `eventually`. Independent of client/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogOpener } from '../broker/broker.ts';
import { defaultNodeConfig, type NodeConfig } from '../config.ts';
import { type RunningNode, type StartOptions, startNode } from '../main.ts';
import { ApiKey } from '../protocol/api.ts';
import { RaftbusError, type WireError } from '../protocol/errors.ts';
import { encodeFrame, type Frame, FrameDecoder, FrameType } from '../protocol/frame.ts';
import { encodeBatch, type RecordInput } from '../storage/batch.ts';
import { FileLog } from '../storage/file-log.ts';
import type { PartitionLog } from '../storage/log.ts';
import { silentLogger } from './logger.ts';

const RESPONSE_TIMEOUT_MS = 15_000;

export class RawClient {
  private readonly socket: Socket;
  private readonly decoder = new FrameDecoder(1024 * 1024 * 1024);
  private readonly pending = new Map<number, { resolve: (f: Frame) => void; reject: (e: Error) => void }>();
  private nextCorrelationId = 1;
  /** Frames that matched no pending request. */
  readonly unmatched: Frame[] = [];
  /** Resolves when the socket closes. */
  readonly closed: Promise<void>;
  isClosed = false;
  private readError: Error | null = null;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.isClosed = true;
        for (const p of this.pending.values()) p.reject(new Error('connection closed'));
        this.pending.clear();
        resolve();
      });
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.decoder.push(chunk);
      } catch (err) {
        this.readError = err as Error;
        socket.destroy();
        return;
      }
      for (const f of frames) {
        const p = this.pending.get(f.correlationId);
        if (p) {
          this.pending.delete(f.correlationId);
          p.resolve(f);
        } else this.unmatched.push(f);
      }
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port, noDelay: true });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new RawClient(s));
      });
      s.once('error', reject);
    });
  }

  /** A protocol error the client's own decoder hit (the server sent garbage). */
  get decodeError(): Error | null {
    return this.readError;
  }

  /** Stops reading responses (the kernel buffers fill and the server sees backpressure). */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** Bytes written by us that the kernel has not yet taken. */
  get unsentBytes(): number {
    return this.socket.writableLength;
  }

  writeRaw(bytes: Uint8Array | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Sends one request frame and returns its correlation id without waiting. */
  send(apiKey: number, body: unknown, raw: Uint8Array[] = [], apiVersion = 0, correlationId?: number): number {
    const id = correlationId ?? this.nextCorrelationId++;
    const bufs = encodeFrame(
      { frameType: FrameType.Request, apiKey, apiVersion, correlationId: id },
      body,
      raw,
      1024 * 1024 * 1024,
    );
    for (const b of bufs) this.writeRaw(b);
    return id;
  }

  /** Waits for the response with this correlation id. */
  response(correlationId: number, timeoutMs = RESPONSE_TIMEOUT_MS): Promise<Frame> {
    const early = this.unmatched.findIndex((f) => f.correlationId === correlationId);
    if (early >= 0) return Promise.resolve(this.unmatched.splice(early, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new Error(`no response to correlation id ${correlationId} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(correlationId, {
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  async request(apiKey: number, body: unknown, raw: Uint8Array[] = [], apiVersion = 0): Promise<Frame> {
    const id = this.send(apiKey, body, raw, apiVersion);
    return this.response(id);
  }

  /** Sends a request and returns its body; throws the RaftbusError of a whole-request error. */
  async call<T>(apiKey: number, body: unknown, raw: Uint8Array[] = []): Promise<{ body: T; raw: Uint8Array }> {
    const f = await this.request(apiKey, body, raw);
    const err = wireErrorOf(f);
    if (err) throw RaftbusError.fromWire(err);
    return { body: f.body as T, raw: f.raw };
  }

  async handshake(): Promise<void> {
    await this.call(ApiKey.Handshake, { clientId: 'raw-test', clientVersion: '0' });
  }

  close(): Promise<void> {
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), 1000);
    return this.closed.then(() => clearTimeout(t));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** The whole-request error in a response body, if any. */
export function wireErrorOf(f: Frame): WireError | null {
  const b = f.body as { error?: WireError } | null;
  return b && typeof b === 'object' && b.error && typeof b.error.code === 'number' ? b.error : null;
}

export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, stepMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}

export function batchOf(values: string[], nowMs = Date.now()): Uint8Array {
  const records: RecordInput[] = values.map((v) => ({ value: v }));
  return encodeBatch(records, undefined, nowMs);
}

export interface TestNode {
  node: RunningNode;
  dataDir: string;
  config: NodeConfig;
  /** Stops the node if running and removes the data dir. */
  cleanup(): Promise<void>;
  restart(): Promise<RunningNode>;
}

export function testConfig(dataDir: string, overrides: Partial<NodeConfig> = {}): NodeConfig {
  return {
    ...defaultNodeConfig(),
    port: 0,
    httpPort: 0,
    dataDir,
    logLevel: 'silent',
    flush: { kind: 'never' },
    shutdownTimeoutMs: 5_000,
    ...overrides,
  };
}

export async function startTestNode(
  overrides: Partial<NodeConfig> = {},
  options: StartOptions = {},
): Promise<TestNode> {
  const dataDir = await mkdtemp(join(tmpdir(), 'raftbus-node-'));
  const config = testConfig(dataDir, overrides);
  const opts: StartOptions = { logger: silentLogger, ...options };
  let node = await startNode(config, opts);
  let running = true;
  const t: TestNode = {
    get node() {
      return node;
    },
    dataDir,
    config,
    async cleanup() {
      if (running) await node.stop();
      running = false;
      await rm(dataDir, { recursive: true, force: true });
    },
    async restart() {
      if (running) await node.stop();
      running = false;
      node = await startNode(config, opts);
      running = true;
      return node;
    },
  };
  return t;
}

/** Wraps FileLog so appends wait at a gate the test opens, making "in flight" observable. */
export function gatedLogOpener(): { open: LogOpener; waiting: () => number; release: () => void } {
  let waiting = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const open: LogOpener = async (dir, config) => {
    const log = await FileLog.open(dir, config);
    const gated: PartitionLog = {
      get startOffset() {
        return log.startOffset;
      },
      get endOffset() {
        return log.endOffset;
      },
      get sizeBytes() {
        return log.sizeBytes;
      },
      async append(batch, term) {
        waiting++;
        await gate;
        return log.append(batch, term);
      },
      read: (from, maxBytes, maxOffset) => log.read(from, maxBytes, maxOffset),
      offsetForTimestamp: (ts) => log.offsetForTimestamp(ts),
      truncateFrom: (offset) => log.truncateFrom(offset),
      applyRetention: (now) => log.applyRetention(now),
      flush: () => log.flush(),
      close: () => log.close(),
    };
    return gated;
  };
  return { open, waiting: () => waiting, release };
}
