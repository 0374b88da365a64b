/**
 * The client-host HTTP agent (http-agent.ts) through its parent side
 * (agent-client.ts), run as a plain child against a local server on port 0:
 * answers are matched by id, a non-2xx answer keeps its status and body, a
 * slow server times out, an oversized body is refused, and a dead agent is
 * replaced on the next request.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_PATH, AgentClient } from './agent-client.ts';
import { HttpGetError } from './errors.ts';
import { httpFetch, okBody } from './http-get.ts';

let server: Server;
let base = '';
const spawned: number[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/ok') res.end('fine');
    else if (req.url === '/busy') {
      res.statusCode = 503;
      res.end('{"status":"starting"}');
    } else if (req.url === '/big') res.end(Buffer.alloc(2048, 97));
    else if (req.url?.startsWith('/echo/')) res.end(req.url.slice('/echo/'.length));
    // /slow never answers
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  for (const pid of spawned) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function newAgent(): AgentClient {
  return new AgentClient(() => {
    const child = spawn(process.execPath, [AGENT_PATH], { stdio: 'pipe' });
    spawned.push(child.pid!);
    return child;
  });
}

describe('client-host HTTP agent', () => {
  it('matches concurrent answers to their requests and keeps a non-2xx status and body', async () => {
    const agent = newAgent();
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => agent.request(`${base}/echo/${i}`, 2_000)),
      );
      expect(answers.map((a) => a.body)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
      const busy = await agent.request(`${base}/busy`, 2_000);
      expect(busy).toEqual({ status: 503, body: '{"status":"starting"}' });
      const err = (() => {
        try {
          okBody(`${base}/busy`, busy);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(HttpGetError);
      expect((err as HttpGetError).status).toBe(503);
      expect((err as HttpGetError).body).toBe('{"status":"starting"}');
    } finally {
      await agent.close();
    }
  });

  it('times out a server that does not answer, and a request to a closed port fails fast', async () => {
    const agent = newAgent();
    try {
      await agent.request(`${base}/ok`, 2_000); // the agent is up: what follows times the request alone
      const started = Date.now();
      await expect(agent.request(`${base}/slow`, 200)).rejects.toThrow(/no answer within 200 ms/);
      expect(Date.now() - started).toBeLessThan(5_000);
      await expect(agent.request('http://127.0.0.1:1/x', 2_000)).rejects.toBeInstanceOf(HttpGetError);
    } finally {
      await agent.close();
    }
  });

  it('starts a new agent after the old one died', async () => {
    const agent = newAgent();
    try {
      expect((await agent.request(`${base}/ok`, 2_000)).body).toBe('fine');
      const first = spawned.at(-1)!;
      process.kill(first, 'SIGKILL');
      await expect
        .poll(() => {
          try {
            process.kill(first, 0);
            return false;
          } catch {
            return true;
          }
        })
        .toBe(true);
      // The exit may land just before or after this request: either it fails with the dead agent or goes to a new one.
      await agent.request(`${base}/ok`, 2_000).catch(() => null);
      expect((await agent.request(`${base}/ok`, 2_000)).body).toBe('fine');
      expect(spawned.at(-1)).not.toBe(first);
    } finally {
      await agent.close();
    }
  });

  it('refuses a body above the bound instead of cutting it', async () => {
    await expect(httpFetch(`${base}/big`, 2_000, 1024)).rejects.toThrow(/body larger than 1024 bytes/);
    expect((await httpFetch(`${base}/big`, 2_000, 4096)).body).toHaveLength(2048);
  });
});
