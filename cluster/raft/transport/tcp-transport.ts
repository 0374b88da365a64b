/**
 * Multi-Raft over TCP: one connection per peer pair carries every group.
 * The node with the lower id dials and redials (with backoff); the other side
 * accepts, so the pair never races into two connections. Each connection
 * starts with a handshake naming both node ids. Frames are length-prefixed
 * (batch-codec.ts: a msgpack header, entry data as raw bytes), bounded by frameBytesMax; any malformed frame closes that one
 * connection and nothing else. The send queue per peer is the socket's
 * writable buffer, bounded by sendQueueBytesMax: past it, batches are dropped
 * and reported unreachable so Raft falls back to probing instead of piling up.
 */
import net from 'node:net';
import type { NodeId } from '../types.ts';
import { Backoff } from './backoff.ts';
import { decodeFrame, encodeBatchFrame, encodeHello, wireVersion } from './batch-codec.ts';
import { HandshakeError, TransportConfigError } from './errors.ts';
import { FrameReader, frameBytes, frameHeaderBytes } from './frame-reader.ts';
import type { BatchHandler, PeerBatch, Transport, UnreachableHandler } from './transport.ts';

export interface PeerAddress {
  host: string;
  port: number;
}

export interface TcpTransportOptions {
  localId: NodeId;
  listenHost?: string;
  /** 0 picks a free port; read it back from `port` after start(). */
  listenPort?: number;
  peers?: Map<NodeId, PeerAddress>;
  clusterTag?: string;
  frameBytesMax?: number;
  sendQueueBytesMax?: number;
  reconnectDelayMsMin?: number;
  reconnectDelayMsMax?: number;
  handshakeTimeoutMs?: number;
  onError?: (err: Error, peer: NodeId) => void;
}

export interface TcpTransportStats {
  framesSent: number;
  framesReceived: number;
  batchesDropped: number;
  connectionsRejected: number;
  bytesSent: number;
}

interface PeerLink {
  id: NodeId;
  address: PeerAddress | undefined;
  socket: net.Socket | undefined;
  /** Handshake complete on `socket`. */
  ready: boolean;
  backoff: Backoff;
  redialTimer: NodeJS.Timeout | undefined;
}

export class TcpTransport implements Transport {
  readonly localId: NodeId;
  readonly frameBytesMax: number;
  readonly sendQueueBytesMax: number;
  readonly stats: TcpTransportStats = {
    framesSent: 0,
    framesReceived: 0,
    batchesDropped: 0,
    connectionsRejected: 0,
    bytesSent: 0,
  };
  private readonly listenHost: string;
  private readonly listenPort: number;
  private readonly clusterTag: string;
  private readonly reconnectDelayMsMin: number;
  private readonly reconnectDelayMsMax: number;
  private readonly handshakeTimeoutMs: number;
  private readonly onError: (err: Error, peer: NodeId) => void;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly pending = new Set<net.Socket>();
  private server: net.Server | undefined;
  private handler: BatchHandler | undefined;
  private unreachable: UnreachableHandler | undefined;
  private running = false;

  constructor(o: TcpTransportOptions) {
    if (!Number.isSafeInteger(o.localId) || o.localId <= 0) throw new TransportConfigError('localId must be > 0');
    this.localId = o.localId;
    this.listenHost = o.listenHost ?? '127.0.0.1';
    this.listenPort = o.listenPort ?? 0;
    this.clusterTag = o.clusterTag ?? 'raftbus';
    this.frameBytesMax = o.frameBytesMax ?? 16 * 1024 * 1024;
    this.sendQueueBytesMax = o.sendQueueBytesMax ?? 32 * 1024 * 1024;
    this.reconnectDelayMsMin = o.reconnectDelayMsMin ?? 50;
    this.reconnectDelayMsMax = o.reconnectDelayMsMax ?? 1000;
    this.handshakeTimeoutMs = o.handshakeTimeoutMs ?? 5000;
    this.onError = o.onError ?? (() => {});
    for (const [id, addr] of o.peers ?? []) this.addPeer(id, addr);
  }

  get port(): number {
    const a = this.server?.address();
    if (!a || typeof a === 'string') throw new TransportConfigError('transport: not listening');
    return a.port;
  }

  addPeer(id: NodeId, address: PeerAddress | undefined): void {
    if (id === this.localId) return;
    if (!Number.isSafeInteger(id) || id <= 0) throw new TransportConfigError(`bad peer id ${id}`);
    const existing = this.links.get(id);
    if (existing) {
      existing.address = address;
      return;
    }
    const link: PeerLink = {
      id,
      address,
      socket: undefined,
      ready: false,
      backoff: new Backoff(this.reconnectDelayMsMin, this.reconnectDelayMsMax),
      redialTimer: undefined,
    };
    this.links.set(id, link);
    if (this.running) this.dial(link);
  }

  removePeer(id: NodeId): void {
    const link = this.links.get(id);
    if (!link) return;
    this.links.delete(id);
    clearTimeout(link.redialTimer);
    link.socket?.destroy();
  }

  async start(): Promise<void> {
    if (this.running) return;
    const server = net.createServer((s) => this.accept(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, this.listenHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.running = true;
    for (const link of this.links.values()) this.dial(link);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const link of this.links.values()) {
      clearTimeout(link.redialTimer);
      link.socket?.destroy();
      link.socket = undefined;
      link.ready = false;
    }
    for (const s of this.pending) s.destroy();
    this.pending.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  onMessage(handler: BatchHandler): void {
    this.handler = handler;
  }

  onUnreachable(handler: UnreachableHandler): void {
    this.unreachable = handler;
  }

  isConnected(peer: NodeId): boolean {
    return this.links.get(peer)?.ready ?? false;
  }

  send(to: NodeId, batch: PeerBatch): boolean {
    const link = this.links.get(to);
    if (!link?.ready || !link.socket) return this.drop(to);
    const { parts, payloadBytes } = encodeBatchFrame(batch);
    if (payloadBytes > this.frameBytesMax) {
      this.onError(new TransportConfigError(`outgoing batch of ${payloadBytes} bytes exceeds frameBytesMax`), to);
      return this.drop(to);
    }
    if (link.socket.writableLength + payloadBytes > this.sendQueueBytesMax) return this.drop(to);
    // One writev for the whole frame; entry data goes out from the entries' own (immutable) buffers.
    const socket = link.socket;
    socket.cork();
    for (const part of parts) socket.write(part);
    socket.uncork();
    this.stats.framesSent++;
    this.stats.bytesSent += frameHeaderBytes + payloadBytes;
    return true;
  }

  private drop(to: NodeId): false {
    this.stats.batchesDropped++;
    this.unreachable?.(to);
    return false;
  }

  /** Only the lower id dials: one connection per pair, no tie-breaking dance. */
  private dial(link: PeerLink): void {
    if (!this.running || this.localId > link.id || !link.address || link.socket) return;
    const socket = net.connect({ host: link.address.host, port: link.address.port });
    socket.setNoDelay(true);
    link.socket = socket;
    socket.once('connect', () => socket.write(frameBytes(encodeHello(this.hello(link.id)))));
    this.wire(socket, link.id, (helloFrom) => {
      if (helloFrom !== link.id) throw new HandshakeError(`dialed ${link.id} but ${helloFrom} answered`);
      link.ready = true;
      link.backoff.reset();
    });
    socket.once('close', () => {
      if (link.socket !== socket) return;
      link.socket = undefined;
      link.ready = false;
      if (this.running && this.links.get(link.id) === link) {
        link.redialTimer = setTimeout(() => {
          link.redialTimer = undefined;
          this.dial(link);
        }, link.backoff.nextDelayMs());
      }
    });
  }

  private accept(socket: net.Socket): void {
    if (!this.running) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.pending.add(socket);
    const timer = setTimeout(() => socket.destroy(), this.handshakeTimeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      this.pending.delete(socket);
    });
    this.wire(socket, 0, (helloFrom) => {
      const link = this.links.get(helloFrom);
      if (!link || helloFrom > this.localId) {
        throw new HandshakeError(`unexpected dialer ${helloFrom}`);
      }
      clearTimeout(timer);
      this.pending.delete(socket);
      // A new connection from a peer replaces the old one: the peer restarted or lost it first.
      if (link.socket && link.socket !== socket) link.socket.destroy();
      link.socket = socket;
      link.ready = true;
      socket.write(frameBytes(encodeHello(this.hello(helloFrom))));
      socket.once('close', () => {
        if (link.socket !== socket) return;
        link.socket = undefined;
        link.ready = false;
      });
    });
  }

  private hello(to: NodeId) {
    return { version: wireVersion, from: this.localId, to, clusterTag: this.clusterTag };
  }

  /**
   * Read frames from `socket`. The first must be a hello for us; after it,
   * only batches. `expectedPeer` is 0 on the accepting side until the hello names it.
   */
  private wire(socket: net.Socket, expectedPeer: NodeId, onHello: (from: NodeId) => void): void {
    const reader = new FrameReader(this.frameBytesMax);
    let peer = expectedPeer;
    let greeted = false;
    socket.on('data', (chunk: Buffer) => {
      if (socket.destroyed) return;
      try {
        for (const payload of reader.push(chunk)) {
          const frame = decodeFrame(payload);
          if (!greeted) {
            if (frame.kind !== 'hello') throw new HandshakeError('first frame must be hello');
            const h = frame.hello;
            if (h.version !== wireVersion) throw new HandshakeError(`wire version ${h.version} != ${wireVersion}`);
            if (h.to !== this.localId) throw new HandshakeError(`hello for node ${h.to}, I am ${this.localId}`);
            if (h.clusterTag !== this.clusterTag) throw new HandshakeError(`cluster tag ${h.clusterTag}`);
            onHello(h.from);
            peer = h.from;
            greeted = true;
            continue;
          }
          if (frame.kind !== 'batch') throw new HandshakeError('unexpected hello after handshake');
          this.stats.framesReceived++;
          this.handler?.(peer, frame.batch);
        }
      } catch (err) {
        this.stats.connectionsRejected++;
        this.onError(err as Error, peer);
        socket.destroy();
      }
    });
    socket.on('error', (err) => this.onError(err, peer));
  }
}
