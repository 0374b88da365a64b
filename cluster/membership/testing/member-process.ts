/**
 * One Membership in its own process, for kill -9 tests. Usage:
 *   node member-process.ts '<MembershipOptions as JSON>'
 * Prints one JSON line {"ready":true,"peerId":...,"multiaddrs":[...]} once started.
 * Stops cleanly on SIGTERM, and when its stdin closes (the parent test died).
 */
import { Membership } from '../membership.ts';

const arg = process.argv[2];
if (arg === undefined) {
  process.stderr.write('usage: member-process.ts <options-json>\n');
  process.exit(2);
}
const membership = new Membership(JSON.parse(arg));
await membership.start();
process.stdout.write(
  `${JSON.stringify({ ready: true, peerId: membership.peerId, multiaddrs: membership.multiaddrs() })}\n`,
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await membership.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.resume();
