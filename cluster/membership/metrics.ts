/** Prometheus gauges read from Membership.counters() at scrape time (no per-heartbeat metric work). */
import { Gauge, type Registry } from 'prom-client';
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
    new Gauge({
      name: 'raftbus_membership_heartbeats_total',
      help: 'Heartbeats sent, received (accepted), stale and publish failures since start',
      labelNames: ['kind'],
      registers: [],
      collect() {
        const k = c();
        this.set({ kind: 'sent' }, k.heartbeatsSent);
        this.set({ kind: 'received' }, k.heartbeatsReceived);
        this.set({ kind: 'stale' }, k.heartbeatsStale);
        this.set({ kind: 'publish_failed' }, k.heartbeatsPublishFailed);
      },
    }),
  );
  registry.registerMetric(
    new Gauge({
      name: 'raftbus_membership_heartbeats_rejected_total',
      help: 'Heartbeats dropped by validation, by reason',
      labelNames: ['reason'],
      registers: [],
      collect() {
        for (const [reason, n] of Object.entries(c().heartbeatsRejected)) this.set({ reason }, n);
      },
    }),
  );
}
