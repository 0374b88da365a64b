/**
 * The tiny client interface of kv-node (HTTP on loopback):
 *   PUT /kv/<key>        body = value; 200 {index?, previous} once applied
 *   GET /kv/<key>        linearizable (ReadIndex); ?local=1 reads this replica as is
 *   GET /status          {id, role, leaderId, term, commit, applied, lastIndex}
 * Not leader: 409 {error, leaderId}. Outcome unknown: 503. Bad request: 400.
 */
import http from 'node:http';
import { NotLeaderError } from '../driver/errors.ts';
import type { RaftGroup } from '../driver/raft-group.ts';
import { encodePut, type KvStateMachine } from './kv-state-machine.ts';

const bodyBytesMax = 1024 * 1024;
const requestTimeoutMs = 5000;

export function createKvServer(nodeId: number, group: () => RaftGroup, sm: KvStateMachine): http.Server {
  return http.createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const fail = (err: unknown) => {
      if (err instanceof NotLeaderError) reply(409, { error: err.code, leaderId: err.leaderId });
      else reply(503, { error: (err as { code?: string }).code ?? 'ERROR', message: (err as Error).message });
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/status' && req.method === 'GET') {
      const st = group().status();
      reply(200, {
        id: nodeId,
        role: st.role,
        leaderId: st.leaderId,
        term: st.term,
        commit: st.commit,
        applied: group().appliedIndex,
        lastIndex: st.lastIndex,
        keys: sm.map.size,
      });
      return;
    }
    const m = /^\/kv\/([^/]{1,1024})$/.exec(url.pathname);
    if (!m) return reply(404, { error: 'NOT_FOUND' });
    const key = decodeURIComponent(m[1]!);
    if (req.method === 'GET') {
      if (url.searchParams.get('local') === '1') return reply(200, { value: sm.get(key) ?? null });
      group()
        .readIndex({ signal: AbortSignal.timeout(requestTimeoutMs) })
        .then(() => reply(200, { value: sm.get(key) ?? null }), fail);
      return;
    }
    if (req.method !== 'PUT') return reply(405, { error: 'METHOD_NOT_ALLOWED' });
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes > bodyBytesMax) {
        reply(413, { error: 'BODY_TOO_LARGE' });
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (bytes > bodyBytesMax) return;
      const value = Buffer.concat(chunks).toString('utf8');
      group()
        .propose(encodePut(key, value), { signal: AbortSignal.timeout(requestTimeoutMs) })
        .then((previous) => reply(200, { previous: previous ?? null }), fail);
    });
  });
}
