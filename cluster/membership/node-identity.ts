/**
 * What makes a node the same node across restarts: its libp2p private key (so its
 * peer id is stable and others keep trusting its node id) and an incarnation counter
 * bumped at every start (so its first heartbeat after a restart outranks the last one
 * before it, even though seq starts again at 0).
 */
import fs from 'node:fs';
import path from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { readFileChecked, writeFileAtomic } from '../raft/storage/atomic-file.ts';
import { NodeKeyCorruptError } from './errors.ts';

export const IdentityFiles = {
  dir: 'membership',
  privateKey: 'libp2p-key',
  incarnation: 'incarnation',
} as const;

export interface NodeIdentity {
  privateKey: PrivateKey;
  /** 1 on the first start, +1 on every start after. */
  incarnation: number;
}

/** Load (or create on first start) the key and bump the incarnation; both persisted with fsync. */
export async function loadNodeIdentity(dataDir: string): Promise<NodeIdentity> {
  const dir = path.join(dataDir, IdentityFiles.dir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyFile = path.join(dir, IdentityFiles.privateKey);
  let privateKey: PrivateKey;
  const keyBytes = read(keyFile);
  if (keyBytes === undefined) {
    privateKey = await generateKeyPair('Ed25519');
    writeFileAtomic(keyFile, privateKeyToProtobuf(privateKey));
    fs.chmodSync(keyFile, 0o600);
  } else {
    try {
      privateKey = privateKeyFromProtobuf(keyBytes);
    } catch (err) {
      throw new NodeKeyCorruptError(`membership: ${keyFile} is not a libp2p private key: ${(err as Error).message}`);
    }
  }
  const incFile = path.join(dir, IdentityFiles.incarnation);
  const incBytes = read(incFile);
  let previous = 0;
  if (incBytes !== undefined) {
    previous = Number(Buffer.from(incBytes).toString('ascii'));
    if (!Number.isSafeInteger(previous) || previous < 1) {
      throw new NodeKeyCorruptError(`membership: ${incFile} does not hold a positive integer`);
    }
  }
  const incarnation = previous + 1;
  writeFileAtomic(incFile, Buffer.from(String(incarnation), 'ascii'));
  return { privateKey, incarnation };
}

function read(file: string): Buffer | undefined {
  try {
    return readFileChecked(file);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined;
    throw new NodeKeyCorruptError(`membership: ${file}: ${(err as Error).message}`);
  }
}
