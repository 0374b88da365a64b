/**
 * kill -9 of a member running in its own process: the survivors mark it suspect (the
 * kernel closes its TCP connections, so early), then dead only once deadAfterMs has passed
 * since its last heartbeat; restarted on the same data dir it is alive again under the same
 * peer id with a higher incarnation. SIGSTOP/SIGCONT (connection open, process silent): suspect by
 * timeout only, alive again on its next heartbeat, never dead.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from './testing/heartbeats.ts';
import { LocalMembers } from './testing/local-members.ts';
import type { MemberEvent } from './types.ts';

const script = path.join(import.meta.dirname, 'testing', 'member-process.ts');
const timing = { heartbeatIntervalMs: 200, suspectAfterMs: 600, deadAfterMs: 1500, connectIntervalMs: 200 };
let cluster: LocalMembers | undefined;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  }
  await cluster?.close();
  cluster = undefined;
});

async function spawnMember(options: object): Promise<{ child: ChildProcess; peerId: string }> {
  const child = spawn(process.execPath, [script, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const lines = readline.createInterface({ input: child.stdout! });
  const ready = await new Promise<{ peerId: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('member process did not start within 10 s')), 10_000);
    child.once('exit', (code, signal) => reject(new Error(`member process exited early: ${code ?? signal}`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line));
    });
  });
  return { child, peerId: ready.peerId };
}

describe('Membership with a member in a child process', () => {
  it('kill -9: suspect, then dead within the configured time; restarted it is alive again; paused, suspect but not dead', async () => {
    cluster = new LocalMembers(timing);
    const c = cluster;
    await c.start(1);
    await c.start(2);
    await c.start(3);
    const victimId = 4;
    const options = { ...c.optionsFor(victimId), port: 0 };
    const first = await spawnMember(options);
    await eventually(() => c.allSeeAlive([1, 2, 3, 4]), 'child process seen alive by all');
    const watcher = c.members.get(2)!;
    expect(watcher.member(victimId)?.peerId).toBe(first.peerId);
    const port = Number(watcher.member(victimId)!.p2pAddrs[0]!.split('/')[4]);
    const events: MemberEvent[] = [];
    watcher.on('change', (e) => {
      if (e.member.nodeId === victimId) events.push(e);
    });

    // Wait for the full mesh, so that every survivor loses a direct connection at the kill.
    await eventually(
      () => [...c.members.values()].every((m) => m.isConnectedTo(victimId)),
      'all connected to the child',
    );
    const flaps: MemberEvent[] = [];
    for (const m of c.members.values()) {
      m.on('change', (e) => {
        if (e.member.nodeId === victimId) flaps.push(e);
      });
    }
    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    const suspectMs = await eventually(() => c.stateEverywhere(victimId, 'suspect'), 'suspect everywhere', {
      timeoutMs: 3000,
    });
    await eventually(() => c.stateEverywhere(victimId, 'dead'), 'dead everywhere', { timeoutMs: 5000 });
    const deadMs = Date.now() - killedAt;
    console.log(`membership: kill -9 -> suspect everywhere after ${suspectMs} ms, dead everywhere after ${deadMs} ms`);
    expect(events.map((e) => `${e.type}/${e.reason}`)).toEqual(['suspect/connection-closed', 'dead/timeout']);
    // The closed connection made it suspect before the suspect timeout could have.
    expect(events[0]!.member.stateSinceMs - events[0]!.member.lastSeenMs).toBeLessThan(timing.suspectAfterMs);
    const dead = events[1]!;
    expect(dead.member.stateSinceMs - dead.member.lastSeenMs).toBeGreaterThanOrEqual(timing.deadAfterMs);
    expect(deadMs).toBeLessThan(timing.deadAfterMs + 2000);

    const second = await spawnMember({ ...options, port });
    expect(second.peerId).toBe(first.peerId);
    await eventually(() => c.allSeeAlive([1, 2, 3, 4]), 'restarted child alive everywhere');
    expect(events.at(-1)?.type).toBe('alive');
    // No flapping after the restart: each survivor saw suspect, dead, alive, in that order, and nothing else.
    await new Promise((r) => setTimeout(r, 2 * timing.heartbeatIntervalMs)); // window for a flap to show
    const perNode = [...c.members.keys()].length;
    expect(flaps.map((e) => e.type).sort()).toEqual([
      ...Array(perNode).fill('alive'),
      ...Array(perNode).fill('dead'),
      ...Array(perNode).fill('suspect'),
    ]);
    expect(watcher.member(victimId)?.incarnation).toBe(2);

    // SIGSTOP: the connection stays open, so only the timeout can suspect it, and it must not
    // be declared dead if it comes back (SIGCONT) before deadAfterMs: a newer seq revives it.
    events.length = 0;
    second.child.kill('SIGSTOP');
    await eventually(() => c.stateEverywhere(victimId, 'suspect'), 'paused member suspect', { timeoutMs: 3000 });
    second.child.kill('SIGCONT');
    await eventually(() => c.allSeeAlive([1, 2, 3, 4]), 'resumed member alive again', { timeoutMs: 3000 });
    expect(events.map((e) => `${e.type}/${e.reason}`)).toEqual(['suspect/timeout', 'alive/heartbeat']);
    expect(watcher.member(victimId)?.incarnation).toBe(2);

    // Clean stop of the child (SIGTERM) must exit 0.
    const exited = new Promise<number | null>((r) => second.child.once('exit', (code) => r(code)));
    second.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
