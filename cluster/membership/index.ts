export { MEMBERS_TOPIC, type MembershipOptions } from './config.ts';
export * from './errors.ts';
export { decodeHeartbeat, encodeHeartbeat, HeartbeatLimits } from './heartbeat-codec.ts';
export { Membership, type MembershipCounters } from './membership.ts';
export { MembershipView, type MembershipViewOptions, type ObserveResult } from './membership-view.ts';
export { registerMembershipMetrics } from './metrics.ts';
export * from './types.ts';
