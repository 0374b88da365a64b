/**
 * Prometheus metrics read from Membership.counters() at scrape time, so the heartbeat
 * path does no metric work. Counters are monotonic per process, as Prometheus expects.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Membership } from './membership.ts';

export function registerMembershipMetrics(registry: Registry, membership: Membership): void {
  const c = () => membership.counters();
  registry.registerMetric(
    new Gauge({
      name: 'raftbus_membership_members',
      help: "Members in this node's gossip view, by state",
      labelNames: ['state'],
      registers: [],
      collect() {
        for (const [state, n] of Object.entries(c().membersByState)) this.set({ state }, n);
      },
    }),
  );
  registry.registerMetric(
    new Counter({
      name: 'raftbus_membership_heartbeats_total',
      help: 'Heartbeats by outcome: sent, publish_failed, received (accepted), stale (duplicate or older)',
      labelNames: ['kind'],
      registers: [],
      collect() {
        const k = c();
        this.reset();
        this.inc({ kind: 'sent' }, k.heartbeatsSent);
        this.inc({ kind: 'publish_failed' }, k.heartbeatsPublishFailed);
        this.inc({ kind: 'received' }, k.heartbeatsReceived);
        this.inc({ kind: 'stale' }, k.heartbeatsStale);
      },
    }),
  );
  registry.registerMetric(
    new Counter({
      name: 'raftbus_membership_heartbeats_rejected_total',
      help: 'Heartbeats dropped by validation, by reason',
      labelNames: ['reason'],
      registers: [],
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(c().heartbeatsRejected)) this.inc({ reason }, n);
      },
    }),
  );
}
