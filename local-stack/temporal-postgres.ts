// A production-shaped Temporal cluster on this machine: the real Temporal server
// (go.temporal.io/server, built into .tools/bin by scripts/provision.sh) on
// Debian's PostgreSQL, its schema set up and updated by the server's own SQL
// tool from the schema files of the same module. Benchmarks and the
// fleet tests run on it; `npm run temporal:postgres` starts one for people.
//
// PostgreSQL refuses to run as root: when we are root, it runs as the
// `postgres` system user (setpriv), in a directory of its own under the state
// directory. Everything listens on 127.0.0.1 only, on free ports; the socket
// lives in that directory. stop() ends the server, then PostgreSQL.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
import { stringify } from 'yaml';
import { searchAttributeIndexedTypes } from '../workflows/search-attributes.js';

export interface PostgresTemporalOptions {
  /** The repository (for .tools); default: this checkout. */
  repoRoot?: string;
  /** Where PostgreSQL's data, the server's config and the logs live; reused when it holds a cluster already. Default: a new temp dir, removed by stop(). */
  stateDir?: string;
  /** The frontend's gRPC port; default: a free one. */
  port?: number;
  /** History shards (fixed for the life of the database). */
  historyShards?: number;
  /** Progress lines (default: none). */
  say?: (line: string) => void;
}

export interface PostgresTemporal {
  /** The frontend, host:port (127.0.0.1). */
  address: string;
  namespace: string;
  stateDir: string;
  /** Where each process writes its log. */
  logs: { postgres: string; temporal: string };
  /** The processes: PostgreSQL's postmaster and the Temporal server. */
  pids: { postgres: number; temporal: number };
  /** How long each part of the start took (ms). */
  timings: { initdb: number; postgres: number; schema: number; server: number; namespace: number; total: number };
  /** Runs one SQL statement in one of the cluster's databases with psql; its rows, tab-separated. */
  sql(database: 'temporal' | 'temporal_visibility', statement: string): Promise<string>;
  /** Stops the Temporal server, then PostgreSQL; removes the state dir if it was a temp one. */
  stop(): Promise<void>;
}

const serverVersion = 'v1.29.1';
const dbUser = 'temporal';
/** gRPC's ALREADY_EXISTS (@grpc/grpc-js is not a direct dependency). */
const grpcAlreadyExists = 6;
const grpcNotFound = 5;
const databases = { temporal: 'temporal', visibility: 'temporal_visibility' } as const;

/** PostgreSQL's binaries: $PG_BIN, else the newest /usr/lib/postgresql/N/bin (Debian keeps initdb off PATH), else PATH. */
export function postgresBinDir(): string | undefined {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin/postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

/**
 * Free TCP ports on 127.0.0.1 below 32768, all held until every one is taken so that none repeats.
 * Below: the server keeps its membership ports in a smallint column, and the OS hands out
 * ephemeral ports from 32768 up, so ports are probed from a random start in [20000, 32000).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  const listen = (port: number) =>
    new Promise<Server | undefined>((ok) => {
      const server = createServer();
      server.once('error', () => ok(undefined));
      server.listen(port, '127.0.0.1', () => ok(server));
    });
  try {
    const first = Math.floor(Math.random() * 12_000);
    for (let i = 0; servers.length < count && i < 1_000; i++) {
      const server = await listen(20_000 + ((first + i) % 12_000));
      if (server) servers.push(server);
    }
    if (servers.length < count) throw new Error(`no ${count} free ports on 127.0.0.1 from ${20_000 + first}`);
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  }
}

interface Run {
  code: number | null;
  output: string;
}

/** Runs a program to its end; its output is kept for the error message. */
function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((ok, fail) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', fail);
    child.once('exit', (code) => ok({ code, output }));
  });
}

async function mustRun(what: string, command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}):\n${result.output.slice(-3000)}`);
  return result.output;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((ok) => child.once('exit', () => ok()));
}

/** Signals a process and waits for it to end; SIGKILL after `graceMs`. */
async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

async function waitUntil(probe: () => Promise<boolean>, what: string, timeoutMs: number, failed?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = failed?.();
    if (why) throw new Error(`${what}: ${why}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const tail = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8').slice(-3000) : '');

/** The server's configuration: persistence and visibility on PostgreSQL (postgres12 plugin), every listener on 127.0.0.1. */
export function serverConfig(options: {
  pgPort: number;
  password: string;
  ports: { frontend: number; history: number; matching: number; worker: number; membership: [number, number, number, number] };
  historyShards: number;
}): Record<string, unknown> {
  const datastore = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `127.0.0.1:${options.pgPort}`,
      connectProtocol: 'tcp',
      user: dbUser,
      password: options.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const { ports } = options;
  const service = (grpcPort: number, membershipPort: number) => ({ rpc: { grpcPort, membershipPort, bindOnIP: '127.0.0.1' } });
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: options.historyShards,
      datastores: { 'postgres-default': datastore(databases.temporal, 20), 'postgres-visibility': datastore(databases.visibility, 10) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services: {
      frontend: service(ports.frontend, ports.membership[0]),
      history: service(ports.history, ports.membership[1]),
      matching: service(ports.matching, ports.membership[2]),
      worker: service(ports.worker, ports.membership[3]),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${ports.frontend}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
  };
}

export async function startPostgresTemporal(options: PostgresTemporalOptions = {}): Promise<PostgresTemporal> {
  const started = Date.now();
  const say = options.say ?? (() => undefined);
  const repoRoot = options.repoRoot ?? resolve(import.meta.dirname, '..');
  const tools = join(repoRoot, '.tools');
  const serverBin = join(tools, 'bin/temporal-server');
  const sqlTool = join(tools, 'bin/temporal-sql-tool');
  const schemaDir = join(tools, 'temporal-schema');
  const versionOf = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim() : '');
  if (
    !existsSync(serverBin) ||
    !existsSync(sqlTool) ||
    versionOf(join(tools, 'temporal-server.version')) !== serverVersion ||
    versionOf(join(schemaDir, 'version')) !== serverVersion
  ) {
    throw new Error(`the Temporal server ${serverVersion} or its schema is not provisioned: run 'npm run provision' first`);
  }
  const schemaRoot = join(schemaDir, 'postgresql/v12');
  const pgBin = postgresBinDir();
  const pg = (name: string) => (pgBin ? join(pgBin, name) : name);

  const temporary = options.stateDir === undefined;
  const stateDir = options.stateDir ? resolve(options.stateDir) : mkdtempSync(join(tmpdir(), 'temporal-postgres-'));
  mkdirSync(stateDir, { recursive: true });
  // PostgreSQL's own user must reach its directory: the state dir is traversable, its pg/ dir is its alone.
  chmodSync(stateDir, 0o755);
  const pgDir = join(stateDir, 'pg');
  const dataDir = join(pgDir, 'data');
  const logDir = join(stateDir, 'logs');
  mkdirSync(pgDir, { recursive: true, mode: 0o700 });
  mkdirSync(logDir, { recursive: true });
  const logs = { postgres: join(logDir, 'postgres.log'), temporal: join(logDir, 'temporal.log') };

  // As root, PostgreSQL's programs run as its system user, in its directory.
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? await systemUser('postgres') : undefined;
  if (owner) chownSync(pgDir, owner.uid, owner.gid);
  const asPostgres = (command: string, args: string[]): [string, string[]] =>
    owner ? ['setpriv', [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--init-groups', '--', command, ...args]] : [command, args];

  const passwordFile = join(stateDir, 'db-password');
  const timings = { initdb: 0, postgres: 0, schema: 0, server: 0, namespace: 0, total: 0 };
  let postgres: ChildProcess | undefined;
  let server: ChildProcess | undefined;
  // Should this process end without stop() (an uncaught error), its children are not left behind.
  const orphans = () => {
    server?.kill('SIGTERM');
    postgres?.kill('SIGINT');
  };
  process.once('exit', orphans);
  const stop = async () => {
    process.off('exit', orphans);
    await stopProcess(server, 'SIGTERM', 15_000);
    // SIGINT: PostgreSQL's fast shutdown (open sessions are ended, then a checkpoint).
    await stopProcess(postgres, 'SIGINT', 20_000);
    if (temporary) rmSync(stateDir, { recursive: true, force: true });
  };

  try {
    // 1. initdb, once per state dir. Host connections need the password; the socket (in pg/, PostgreSQL's user's alone) is trusted.
    let t = Date.now();
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      say('initdb...');
      const password = randomBytes(18).toString('base64url');
      writeFileSync(passwordFile, password, { mode: 0o600 });
      const pwfile = join(pgDir, 'initdb-password');
      writeFileSync(pwfile, password, { mode: 0o600 });
      if (owner) chownSync(pwfile, owner.uid, owner.gid);
      const [cmd, args] = asPostgres(pg('initdb'), [
        '-D',
        dataDir,
        '-U',
        dbUser,
        `--pwfile=${pwfile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
      ]);
      try {
        await mustRun('initdb', cmd, args, { cwd: pgDir });
      } finally {
        rmSync(pwfile, { force: true });
      }
    }
    const password = readFileSync(passwordFile, 'utf8').trim();
    timings.initdb = Date.now() - t;

    // 2. PostgreSQL on 127.0.0.1 and a free port, its socket in pg/.
    t = Date.now();
    const [pgPort] = await freePorts(1);
    if (pgPort === undefined) throw new Error('no free port');
    {
      const [cmd, args] = asPostgres(pg('postgres'), [
        '-D',
        dataDir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `port=${pgPort}`,
        '-c',
        `unix_socket_directories=${pgDir}`,
        '-c',
        'max_connections=200',
      ]);
      const log = createWriteStream(logs.postgres, { flags: 'a' });
      // A process group of its own (as the server's): Ctrl-C reaches them through stop(), server first.
      postgres = spawn(cmd, args, { cwd: pgDir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      // Both into one log: neither may end it (a write after its end would throw).
      postgres.stdout?.pipe(log, { end: false });
      postgres.stderr?.pipe(log, { end: false });
    }
    const psql = (database: string, statement: string) =>
      mustRun(`psql ${database}`, pg('psql'), [
        '-h',
        pgDir,
        '-p',
        String(pgPort),
        '-U',
        dbUser,
        '-d',
        database,
        '-X',
        '-q',
        '-t',
        '-A',
        '-F',
        '\t',
        '-c',
        statement,
      ]);
    const pgDied = () => (postgres && postgres.exitCode !== null ? `PostgreSQL exited (${postgres.exitCode}):\n${tail(logs.postgres)}` : undefined);
    await waitUntil(async () => (await run(pg('pg_isready'), ['-h', pgDir, '-p', String(pgPort), '-U', dbUser])).code === 0, 'PostgreSQL', 30_000, pgDied);
    timings.postgres = Date.now() - t;

    // 3. The databases and their schemas, by the server's SQL tool from the module's own schema files.
    t = Date.now();
    const sqlEnv = { SQL_PLUGIN: 'postgres12', SQL_HOST: '127.0.0.1', SQL_PORT: String(pgPort), SQL_USER: dbUser, SQL_PASSWORD: password };
    for (const [schema, database] of [
      ['temporal', databases.temporal],
      ['visibility', databases.visibility],
    ] as const) {
      const exists = (await psql('postgres', `SELECT 1 FROM pg_database WHERE datname = '${database}'`)).trim() === '1';
      const env = { ...sqlEnv, SQL_DATABASE: database };
      if (!exists) {
        say(`creating ${database} and its schema...`);
        await mustRun(`create-database ${database}`, sqlTool, ['create-database'], { env });
        await mustRun(`setup-schema ${database}`, sqlTool, ['setup-schema', '-v', '0.0'], { env });
      }
      await mustRun(`update-schema ${database}`, sqlTool, ['update-schema', '-d', join(schemaRoot, schema, 'versioned')], { env });
    }
    timings.schema = Date.now() - t;

    // 4. The server, every service in one process, every listener on 127.0.0.1.
    t = Date.now();
    const free = (await freePorts(9)).filter((p) => p !== options.port);
    const port = (i: number): number => free[i] ?? 0;
    const ports = {
      frontend: options.port ?? port(0),
      history: port(1),
      matching: port(2),
      worker: port(3),
      membership: [port(4), port(5), port(6), port(7)] as [number, number, number, number],
    };
    const configDir = join(stateDir, 'config');
    mkdirSync(configDir, { recursive: true, mode: 0o700 });
    const config = serverConfig({ pgPort, password, ports, historyShards: options.historyShards ?? 4 });
    writeFileSync(join(configDir, 'production.yaml'), stringify(config), { mode: 0o600 });
    const log = createWriteStream(logs.temporal, { flags: 'a' });
    server = spawn(serverBin, ['--root', stateDir, '--config', 'config', '--env', 'production', '--allow-no-auth', 'start'], {
      cwd: stateDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    server.stdout?.pipe(log, { end: false });
    server.stderr?.pipe(log, { end: false });
    const address = `127.0.0.1:${ports.frontend}`;
    const serverDied = () => (server && server.exitCode !== null ? `the Temporal server exited (${server.exitCode}):\n${tail(logs.temporal)}` : undefined);
    // Connection.connect asks the frontend for its system info: it succeeds once the frontend answers.
    await waitUntil(
      async () => {
        const probe = await Connection.connect({ address, connectTimeout: 2_000 });
        await probe.close();
        return true;
      },
      `the Temporal server at ${address}`,
      120_000,
      serverDied,
    );
    const connection = await Connection.connect({ address });
    timings.server = Date.now() - t;

    // 5. The default namespace and the incident search attributes (the same list the dev server gets).
    t = Date.now();
    const namespace = 'default';
    const registered = await connection.workflowService.describeNamespace({ namespace }).then(
      () => true,
      () => false,
    );
    if (!registered) {
      try {
        await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('3 days') });
      } catch (err) {
        if (!(isGrpcServiceError(err) && Number(err.code) === grpcAlreadyExists)) throw err;
      }
    }
    // The operator service reads the namespace from the server's cache, refreshed every few seconds: NOT_FOUND until then.
    const wanted = searchAttributeIndexedTypes();
    await waitUntil(
      async () => {
        const known = (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
        const missing = Object.fromEntries(Object.entries(wanted).filter(([name]) => !(name in known)));
        if (Object.keys(missing).length > 0) await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
        return true;
      },
      `the namespace ${namespace} and its search attributes`,
      60_000,
      serverDied,
    );
    // Ready when a visibility query over them is accepted: the namespace is cached and its attributes known.
    const query = Object.keys(wanted)
      .map((name) => `${name} IS NULL`)
      .join(' OR ');
    await waitUntil(
      async () => Boolean(await connection.workflowService.countWorkflowExecutions({ namespace, query })),
      'the incident search attributes',
      60_000,
      serverDied,
    );
    // The frontend answers before the history and matching services have joined its ring
    // ("Not enough hosts to serve the request", UNAVAILABLE): ready when a lookup routed to each is answered.
    await waitUntil(
      async () => {
        const history = await connection.workflowService
          .describeWorkflowExecution({ namespace, execution: { workflowId: 'readiness-probe-no-such-workflow' } })
          .then(
            () => true,
            (err: unknown) => isGrpcServiceError(err) && Number(err.code) === grpcNotFound,
          );
        if (!history) return false;
        await connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: 'readiness-probe' }, taskQueueType: 1 });
        return true;
      },
      'the history and matching services',
      60_000,
      serverDied,
    );
    await connection.close();
    timings.namespace = Date.now() - t;
    timings.total = Date.now() - started;
    say(`ready at ${address} in ${(timings.total / 1000).toFixed(1)} s`);

    return {
      address,
      namespace,
      stateDir,
      logs,
      pids: { postgres: postgres.pid ?? 0, temporal: server.pid ?? 0 },
      timings,
      sql: (database, statement) => psql(database, statement),
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** uid and gid of a system user, from getent. */
async function systemUser(name: string): Promise<{ uid: number; gid: number }> {
  const { code, output } = await run('getent', ['passwd', name]);
  const [, , uid, gid] = output.trim().split(':');
  if (code !== 0 || uid === undefined || gid === undefined) {
    throw new Error(`PostgreSQL refuses to run as root and there is no '${name}' user to run it as (Debian: apt-get install postgresql)`);
  }
  return { uid: Number(uid), gid: Number(gid) };
}
