/**
 * What the broker asks of the cluster when it runs as a cluster member: the
 * catalogue (topics, replicas, leaders) lives in the controller's Raft group,
 * not in the node's own topic store, so metadata and admin requests go there.
 * The cluster runtime (cluster/runtime) implements it; a single node has none.
 */
import type {
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
  ListTopicsResponse,
  MetadataRequest,
  MetadataResponse,
  RegisterBrokerRequest,
} from '../protocol/api.ts';

export interface ClusterCatalogue {
  metadata(req: MetadataRequest): MetadataResponse;
  listTopics(): ListTopicsResponse;
  createTopics(req: CreateTopicsRequest): Promise<CreateTopicsResponse>;
  deleteTopics(req: DeleteTopicsRequest): Promise<DeleteTopicsResponse>;
  initProducerId(req: InitProducerIdRequest): Promise<InitProducerIdResponse>;
  /** Node to node: proposes the registration, or rejects with NOT_CONTROLLER and the leader hint. */
  registerBroker(req: RegisterBrokerRequest): Promise<Record<string, never>>;
}
