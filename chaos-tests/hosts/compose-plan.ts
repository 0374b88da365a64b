/**
 * What running a compose file's broker services "for real" means without a
 * container engine: for each service, the image's ENTRYPOINT (read from the
 * Dockerfile its build names) followed by the service's own command, the
 * image's ENV plus the service's environment, and its container ports. Only
 * volumes change: a volume mounted at a path becomes a host folder, and every
 * env value or argument that points into the mount path is rewritten to that
 * folder, which is what mounting the volume there does for the process.
 * Pure: reads the files, starts nothing.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseYamlSubset, type YamlValue } from '../../deploy/yaml-subset.ts';
import { ComposeFileError } from './errors.ts';

type Obj = { [key: string]: YamlValue };

export interface ComposeServicePlan {
  service: string;
  nodeId: number;
  /** The program and its arguments: the image's ENTRYPOINT, then the service's command. */
  command: string;
  args: string[];
  /** The process environment: the image's ENV, then the service's environment, volume paths rewritten. */
  env: Record<string, string>;
  /** Working directory: the build context (the Dockerfile copies it to its WORKDIR). */
  cwd: string;
  /** Host folder per volume: container path -> host path. */
  mounts: { containerPath: string; hostPath: string }[];
  /** Container ports as written (the `target` of each mapping). */
  containerPorts: number[];
  clientPort: number;
  httpPort: number;
  /** The service runs in cluster mode (RAFTBUS_RAFT_PORT set): readiness waits for registration. */
  clustered: boolean;
  /** The data folder on the host (where the /data volume went). */
  dataDir: string;
}

export interface ComposePlanOptions {
  /** Host folder under which named volumes become folders. */
  dir: string;
  /** Services run: those whose name starts with this (default `broker-`). */
  servicePrefix?: string;
  /** What `node` in the ENTRYPOINT runs (default process.execPath). */
  nodeExecPath?: string;
}

/** Services one compose file may ask the harness to run (a bound, far above a sane cluster). */
const composeServicesMax = 32;

export function planComposeServices(composeFile: string, o: ComposePlanOptions): ComposeServicePlan[] {
  const composeDir = dirname(resolve(composeFile));
  const model = obj(parseYamlSubset(readFileSync(composeFile, 'utf8')), 'the compose file');
  const services = obj(model.services, 'services');
  const namedVolumes = new Set(Object.keys(model.volumes === undefined ? {} : obj(model.volumes, 'volumes')));
  const prefix = o.servicePrefix ?? 'broker-';
  const names = Object.keys(services).filter((n) => n.startsWith(prefix));
  if (names.length === 0) throw new ComposeFileError(`no service named ${prefix}* in ${composeFile}`);
  if (names.length > composeServicesMax) throw new ComposeFileError(`more than ${composeServicesMax} services`);
  const plans = names.map((name) =>
    planService(name, obj(services[name], `service ${name}`), composeDir, namedVolumes, o),
  );
  const ids = plans.map((p) => p.nodeId);
  if (new Set(ids).size !== ids.length) throw new ComposeFileError(`node ids repeat: ${ids.join(', ')}`);
  return plans;
}

function planService(
  name: string,
  svc: Obj,
  composeDir: string,
  namedVolumes: Set<string>,
  o: ComposePlanOptions,
): ComposeServicePlan {
  const { context, dockerfile } = buildOf(svc, name, composeDir);
  const image = readDockerfile(dockerfile);
  const mounts = (svc.volumes === undefined ? [] : arr(svc.volumes, `${name}.volumes`)).map((v) =>
    mountOf(v, name, composeDir, namedVolumes, o.dir),
  );
  const intoMounts = (value: string): string => {
    for (const m of mounts) {
      if (value === m.containerPath) return m.hostPath;
      if (value.startsWith(`${m.containerPath}/`)) return m.hostPath + value.slice(m.containerPath.length);
    }
    return value;
  };
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...image.env, ...environmentOf(svc, name) })) env[k] = intoMounts(v);
  const serviceCommand = svc.command === undefined ? image.cmd : words(svc.command, `${name}.command`);
  const argv = [...image.entrypoint, ...serviceCommand].map(intoMounts);
  if (argv.length === 0) throw new ComposeFileError(`${name}: no ENTRYPOINT and no command`);
  // `node` in the image is the Node that runs this harness.
  const command = argv[0] === 'node' ? (o.nodeExecPath ?? process.execPath) : argv[0]!;
  const nodeId = Number(env.RAFTBUS_NODE_ID);
  if (!(Number.isInteger(nodeId) && nodeId >= 1))
    throw new ComposeFileError(`${name}: RAFTBUS_NODE_ID must be a positive integer`);
  const containerPorts = (svc.ports === undefined ? [] : arr(svc.ports, `${name}.ports`)).map((p) =>
    targetPort(p, name),
  );
  const clientPort = Number(env.RAFTBUS_PORT ?? 9092);
  const httpRaw = env.RAFTBUS_HTTP_PORT ?? 'auto';
  const httpPort = httpRaw === 'auto' ? clientPort + 1000 : Number(httpRaw);
  for (const [what, port] of [
    ['client', clientPort],
    ['http', httpPort],
  ] as const)
    if (!(Number.isInteger(port) && port > 0 && port < 65536))
      throw new ComposeFileError(`${name}: ${what} port must be a fixed port, got ${port}`);
  // The ports the file publishes must be the ones the node listens on, or the file has rotted.
  for (const port of [clientPort, httpPort])
    if (containerPorts.length > 0 && !containerPorts.includes(port))
      throw new ComposeFileError(`${name}: the node listens on ${port} but ports publish ${containerPorts.join(', ')}`);
  const dataMount = mounts.find((m) => m.hostPath === env.RAFTBUS_DATA_DIR);
  if (!dataMount)
    throw new ComposeFileError(`${name}: RAFTBUS_DATA_DIR must lie on a volume (so it outlives a restart)`);
  return {
    service: name,
    nodeId,
    command,
    args: argv.slice(1),
    env,
    cwd: context,
    mounts,
    containerPorts,
    clientPort,
    httpPort,
    clustered: env.RAFTBUS_RAFT_PORT !== undefined,
    dataDir: dataMount.hostPath,
  };
}

function buildOf(svc: Obj, name: string, composeDir: string): { context: string; dockerfile: string } {
  if (typeof svc.build === 'string')
    return { context: resolve(composeDir, svc.build), dockerfile: resolve(composeDir, svc.build, 'Dockerfile') };
  const b = obj(svc.build, `${name}.build (the harness runs what the Dockerfile builds)`);
  const context = resolve(composeDir, String(b.context ?? '.'));
  return { context, dockerfile: resolve(context, String(b.dockerfile ?? 'Dockerfile')) };
}

export interface DockerfileImage {
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
}

/** ENTRYPOINT and CMD (exec form, JSON arrays) and `ENV k=v` of a Dockerfile; the last of each wins. */
export function readDockerfile(path: string): DockerfileImage {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ComposeFileError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const image: DockerfileImage = { entrypoint: [], cmd: [], env: {} };
  // Continuation lines (trailing backslash) join into one instruction.
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const line of instructions) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, op, rest] = m as unknown as [string, string, string];
    if (op.toUpperCase() === 'ENTRYPOINT') image.entrypoint = execForm(rest, path, 'ENTRYPOINT');
    else if (op.toUpperCase() === 'CMD') image.cmd = execForm(rest, path, 'CMD');
    else if (op.toUpperCase() === 'ENV') {
      for (const kv of rest.split(/\s+/)) {
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new ComposeFileError(`${path}: ENV without key=value: ${line}`);
        image.env[kv.slice(0, eq)] = kv.slice(eq + 1).replace(/^"(.*)"$/, '$1');
      }
    }
  }
  return image;
}

function execForm(rest: string, path: string, op: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(rest);
  } catch {
    throw new ComposeFileError(`${path}: ${op} must be in exec form (a JSON array): ${rest}`);
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new ComposeFileError(`${path}: ${op} must list strings`);
  return v as string[];
}

function mountOf(
  v: YamlValue,
  name: string,
  composeDir: string,
  namedVolumes: Set<string>,
  dir: string,
): { containerPath: string; hostPath: string } {
  let source: string;
  let target: string;
  if (typeof v === 'string') {
    const parts = v.split(':');
    if (parts.length < 2) throw new ComposeFileError(`${name}: anonymous volume ${v} (give it a name)`);
    [source, target] = [parts[0]!, parts[1]!];
  } else {
    const o = obj(v, `${name}.volumes[]`);
    [source, target] = [String(o.source), String(o.target)];
  }
  if (!target.startsWith('/')) throw new ComposeFileError(`${name}: volume target ${target} is not absolute`);
  // A named volume becomes a folder of its own under `dir`; a bind mount is the host path it names.
  const hostPath = namedVolumes.has(source) ? join(resolve(dir), source) : resolve(composeDir, source);
  if (!namedVolumes.has(source) && !source.startsWith('.') && !source.startsWith('/'))
    throw new ComposeFileError(`${name}: volume ${source} is not declared under top-level volumes`);
  return { containerPath: target.replace(/\/+$/, ''), hostPath };
}

function environmentOf(svc: Obj, name: string): Record<string, string> {
  const e = svc.environment;
  if (e === undefined || e === null) return {};
  const out: Record<string, string> = {};
  if (Array.isArray(e)) {
    for (const item of e) {
      const s = String(item);
      const eq = s.indexOf('=');
      if (eq <= 0) throw new ComposeFileError(`${name}: environment entry without =: ${s}`);
      out[s.slice(0, eq)] = s.slice(eq + 1);
    }
    return out;
  }
  for (const [k, v] of Object.entries(obj(e, `${name}.environment`))) out[k] = v === null ? '' : String(v);
  return out;
}

function targetPort(p: YamlValue, name: string): number {
  if (typeof p === 'number') return p;
  if (typeof p === 'string') {
    const target = p.split(':').pop()!.split('/')[0]!;
    const n = Number(target);
    if (Number.isInteger(n) && n > 0) return n;
  } else if (p !== null && typeof p === 'object' && !Array.isArray(p) && p.target !== undefined) {
    return Number(p.target);
  }
  throw new ComposeFileError(`${name}: cannot read port ${JSON.stringify(p)}`);
}

function words(v: YamlValue, what: string): string[] {
  if (typeof v === 'string') return v.split(/\s+/).filter(Boolean);
  return arr(v, what).map((x) => String(x));
}

function obj(v: YamlValue | undefined, what: string): Obj {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v))
    throw new ComposeFileError(`${what} must be a mapping`);
  return v;
}

function arr(v: YamlValue | undefined, what: string): YamlValue[] {
  if (!Array.isArray(v)) throw new ComposeFileError(`${what} must be a list`);
  return v;
}
