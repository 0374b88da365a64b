/**
 * Routes a decoded request frame to its validator and broker handler. The
 * connection has already checked the api key, version and handshake; here the
 * body is validated (INVALID_REQUEST on any shape problem) and the broker
 * called. The synchronous part of a produce runs before this returns, so
 * pipelined produces on one connection append in arrival order.
 */
import type { Broker } from '../broker/broker.ts';
import type { NodeConfig } from '../config.ts';
import { Acks, API_VERSIONS, ApiKey, type HandshakeResponse } from '../protocol/api.ts';
import { ErrorCode, RaftbusError } from '../protocol/errors.ts';
import type { Frame } from '../protocol/frame.ts';
import {
  validateCreateTopics,
  validateDeleteTopics,
  validateDescribeTopics,
  validateFetch,
  validateHandshake,
  validateListOffsets,
  validateListTopics,
  validateMetadata,
  validateProduce,
} from '../protocol/validate.ts';
import { RAFTBUS_VERSION } from '../version.ts';
import { validateInitProducerId } from './validate-init-producer-id.ts';
import { validateRegisterBroker } from './validate-register-broker.ts';

/** A response body and the raw chunks (record batches) that follow it. */
export interface Reply {
  body: unknown;
  raw?: Uint8Array[];
}

/** What a handler may know of and do to its connection. */
export interface RequestContext {
  /** Aborted when the connection closes. */
  readonly signal: AbortSignal;
  markHandshaken(clientId: string): void;
}

export type ReplyOrNone = Reply | null;

function noRaw(frame: Frame): void {
  if (frame.raw.byteLength !== 0) {
    throw new RaftbusError(ErrorCode.INVALID_REQUEST, {
      detail: `this api carries no raw section, got ${frame.raw.byteLength} bytes`,
    });
  }
}

export class Dispatcher {
  private readonly broker: Broker;
  private readonly config: NodeConfig;
  private readonly apis: [number, number, number][];

  constructor(broker: Broker, config: NodeConfig) {
    this.broker = broker;
    this.config = config;
    // InitProducerId needs the controller (producer ids) and replicated partitions (sequence checks).
    this.apis = Object.entries(API_VERSIONS)
      .map(([k, [min, max]]): [number, number, number] => [Number(k), min, max])
      .filter(([k]) => (k !== ApiKey.InitProducerId && k !== ApiKey.RegisterBroker) || broker.isClusterMember);
  }

  /** Returns a reply, null for none (acks=none), or a promise of either. Throws RaftbusError. */
  handle(frame: Frame, ctx: RequestContext): ReplyOrNone | Promise<ReplyOrNone> {
    switch (frame.apiKey) {
      case ApiKey.Handshake: {
        noRaw(frame);
        const req = validateHandshake(frame.body);
        ctx.markHandshaken(req.clientId);
        const body: HandshakeResponse = {
          nodeId: this.config.nodeId,
          clusterId: this.config.clusterId,
          serverVersion: RAFTBUS_VERSION,
          apis: this.apis,
          frameBytesMax: this.config.frameBytesMax,
          batchBytesMax: this.config.batchBytesMax,
        };
        return { body };
      }
      case ApiKey.Metadata:
        noRaw(frame);
        return { body: this.broker.metadata(validateMetadata(frame.body)) };
      case ApiKey.CreateTopics:
        noRaw(frame);
        return this.broker.createTopics(validateCreateTopics(frame.body)).then((body) => ({ body }));
      case ApiKey.DeleteTopics:
        noRaw(frame);
        return this.broker.deleteTopics(validateDeleteTopics(frame.body)).then((body) => ({ body }));
      case ApiKey.ListTopics:
        noRaw(frame);
        validateListTopics(frame.body);
        return { body: this.broker.listTopics() };
      case ApiKey.DescribeTopics:
        noRaw(frame);
        return { body: this.broker.describeTopics(validateDescribeTopics(frame.body)) };
      case ApiKey.Produce: {
        const req = validateProduce(frame.body, frame.raw.byteLength);
        const done = this.broker.produce(req, frame.raw);
        if (req.acks === Acks.none) return done.then(() => null);
        return done.then((body) => ({ body }));
      }
      case ApiKey.Fetch:
        noRaw(frame);
        return this.broker.fetch(validateFetch(frame.body), ctx.signal).then((r) => ({ body: r.body, raw: r.raw }));
      case ApiKey.ListOffsets:
        noRaw(frame);
        return this.broker.listOffsets(validateListOffsets(frame.body)).then((body) => ({ body }));
      case ApiKey.InitProducerId:
        noRaw(frame);
        if (!this.broker.isClusterMember) throw new RaftbusError(ErrorCode.UNKNOWN_API, { apiKey: frame.apiKey });
        return this.broker.initProducerId(validateInitProducerId(frame.body)).then((body) => ({ body }));
      case ApiKey.RegisterBroker:
        noRaw(frame);
        if (!this.broker.isClusterMember) throw new RaftbusError(ErrorCode.UNKNOWN_API, { apiKey: frame.apiKey });
        return this.broker.registerBroker(validateRegisterBroker(frame.body)).then((body) => ({ body }));
      default:
        // The connection filters unknown keys against API_VERSIONS; reaching here means the two disagree.
        throw new RaftbusError(ErrorCode.UNKNOWN_API, { apiKey: frame.apiKey });
    }
  }
}
