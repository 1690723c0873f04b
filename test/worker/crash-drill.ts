// A worker crash, for real: the Temporal dev server, the sandbox cluster, the
// worker as the process a deployment runs (`node --import tsx worker/main.ts`),
// an incident whose investigation is slowed by a latency fault on one read, and
// SIGKILL of whichever worker runs that read while it runs. The test
// (worker-crash.test.ts) asserts the outcome and the benchmark
// (bench/worker-crash.ts) prints the times. Everything listens on 127.0.0.1 and
// every worker runs in a process group of its own, killed by close().
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePendingActivityState, type Client, type WorkflowHandle } from '@temporalio/client';
import { decodeTimeoutType } from '@temporalio/common';
import { Incidents } from '../../client/incidents.js';
import { loadClientConfig } from '../../client/config.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../sandbox/index.js';
import type { ServiceRef } from '../../workflows/domain.js';
import { statusQuery } from '../../workflows/messages.js';
import type { IncidentStatus } from '../../workflows/records.js';
import { devServerEnv, repoRoot, uniqueId } from '../helpers/temporal.js';

/** The investigation read the drill slows down, and the Kubernetes call it makes that the fault delays. */
export const slowRead = { activity: 'inspectResources', fault: { verb: 'list', resource: 'resourcequotas' } } as const;
/** Long enough to kill the worker inside the read; under the activities' 10 s Kubernetes request timeout. */
const slowReadLatencyMs = 8_000;

export interface WorkerProcess {
  readonly name: string;
  /** The Temporal worker identity: the SDK's default, `<pid>@<hostname>`. */
  readonly identity: string;
  /** When it was spawned and when /health/ready first answered 200 (epoch ms, as Temporal's event times). */
  readonly spawnedAt: number;
  readyAt?: number;
  output(): string;
  alive(): boolean;
  /** Signals the whole process group and waits for the process to end. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // the group has ended already
  }
}

async function poll<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** What the drill observed. Times are epoch ms: the worker's clock and Temporal's event times are this machine's. */
export interface CrashOutcome {
  killed: WorkerProcess;
  /** The worker that finished the read (a standby, or one started after the kill). */
  successor: WorkerProcess;
  killedAt: number;
  /** When the read's successful attempt started (its ActivityTaskStarted event). */
  retriedAt: number;
  /** When the workflow acted on the read's result: the first workflow task completed after it. */
  resumedAt: number;
  /** The `status` query once it shows the investigation done. */
  status: IncidentStatus;
  /** The read's completed attempt, from the history: its attempt number, its worker, and why the attempt before it ended. */
  retried: { attempt: number; identity: string; lastFailure?: { message: string; timeoutType?: string } };
  /** Timeouts of the read recorded in the history (ActivityTaskTimedOut): none when a retry succeeds. */
  timedOut: string[];
}

type ReadHistory = Pick<CrashOutcome, 'retried' | 'timedOut' | 'retriedAt'> & { resumedAt?: number };

const epochMs = (t: { seconds?: { toString(): string } | null; nanos?: number | null } | null | undefined): number =>
  Number(t?.seconds?.toString() ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

/** The Temporal the drill runs on: the dev server (a TestWorkflowEnvironment) or another one, such as the server on PostgreSQL. */
export interface DrillTemporal {
  readonly address: string;
  readonly client: Client;
  teardown(): Promise<void>;
}

export interface DrillOptions {
  /** Copies of the service in the sandbox, each in the scenario. */
  services?: number;
  scenario?: SandboxOptions['scenario'];
  /** Default: the dev server. */
  temporal?: () => Promise<DrillTemporal>;
  /** More of the incidents' client configuration (INCIDENT_MONITOR, ...). */
  clientEnv?: Record<string, string>;
  /** More of the workers' configuration (GOVERNOR_*, ...). */
  workerEnv?: Record<string, string>;
}

export class CrashDrill {
  private readonly workers: WorkerProcess[] = [];
  private readonly children: ChildProcess[] = [];

  private constructor(
    readonly env: DrillTemporal,
    readonly sandbox: Sandbox,
    readonly incidents: Incidents,
    private readonly taskQueue: string,
    private readonly dir: string,
    private readonly workerEnv: Record<string, string> = {},
  ) {}

  /** The dev server (or options.temporal) and a sandbox with `services` copies of the service, each in the bad-rollout scenario (or options.scenario). */
  static async start(options: DrillOptions = {}): Promise<CrashDrill> {
    const dir = mkdtempSync(join(tmpdir(), 'worker-crash-'));
    const taskQueue = uniqueId('worker-crash');
    const env = await (options.temporal ?? devServerEnv)();
    let sandbox: Sandbox | undefined;
    try {
      sandbox = await startSandbox({
        scenario: options.scenario ?? 'bad-rollout',
        services: options.services ?? 1,
        kubeconfigPath: join(dir, 'kubeconfig'),
        timing: { rolloutMs: 300, crashLoopMs: 200 },
      });
      const incidents = await Incidents.connect(
        loadClientConfig({ ...options.clientEnv, TEMPORAL_ADDRESS: env.address, TEMPORAL_TASK_QUEUE: taskQueue, DEFAULT_CLUSTER: 'local' }),
      );
      return new CrashDrill(env, sandbox, incidents, taskQueue, dir, options.workerEnv);
    } catch (err) {
      await sandbox?.close();
      await env.teardown();
      throw err;
    }
  }

  get services(): ServiceRef[] {
    return this.sandbox.serviceNames.map((deployment) => ({ cluster: 'local', namespace: 'default', deployment }));
  }

  /** Spawns `node --import tsx worker/main.ts` as local-stack/start.ts does, in a process group of its own. */
  async spawnWorker(name: string): Promise<WorkerProcess> {
    const [httpPort, metricsPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'worker/main.ts')], {
      cwd: repoRoot,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: this.env.address,
        TEMPORAL_TASK_QUEUE: this.taskQueue,
        KUBECONFIG: join(this.dir, 'kubeconfig'),
        DEFAULT_CLUSTER: 'local',
        REQUIRED_ENV: 'ANTHROPIC_API_KEY',
        DEPENDENCY_URLS: `anthropic=${this.sandbox.url}/sandbox/dependencies/anthropic/v1/health`,
        OUTBOX_DIR: join(this.dir, 'outbox'),
        REPORTS_DIR: join(this.dir, 'reports'),
        WORKER_HTTP_HOST: '127.0.0.1',
        WORKER_HTTP_PORT: String(httpPort),
        WORKER_METRICS_PORT: String(metricsPort),
        LOG_LEVEL: 'warn',
        ...this.workerEnv,
      },
    });
    this.children.push(child);
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const worker: WorkerProcess = {
      name,
      identity: `${child.pid}@${hostname()}`,
      spawnedAt: Date.now(),
      output: () => output,
      alive: () => child.exitCode === null && child.signalCode === null,
      kill: async (signal) => {
        if (!worker.alive()) return;
        signalGroup(child, signal);
        await exited;
      },
    };
    this.workers.push(worker);
    await poll(
      async () => {
        if (!worker.alive()) throw new Error(`worker ${name} exited:\n${output.slice(-2000)}`);
        const res = await fetch(`http://127.0.0.1:${httpPort}/health/ready`, { signal: AbortSignal.timeout(1_000) });
        return res.ok ? true : undefined;
      },
      `worker ${name} to be ready (it bundles the workflows first)`,
      120_000,
      50,
    ).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${output.slice(-2000)}`);
    });
    worker.readyAt = Date.now();
    return worker;
  }

  /**
   * Opens the service's incident with the slow read's fault in place; resolves
   * once the workflow waits on that read alone (the other reads done, no
   * workflow task in flight), with the worker running it.
   */
  async openWithSlowRead(service: ServiceRef): Promise<{ handle: WorkflowHandle; runner: WorkerProcess }> {
    this.sandbox.setFaults([{ ...slowRead.fault, rate: 1, latencyMs: slowReadLatencyMs }]);
    const startsAt = new Date().toISOString();
    const workflowId = await this.incidents.open(service, {
      name: 'ServiceDown',
      severity: 'critical',
      summary: `${service.deployment} in ${service.namespace} is down`,
      labels: { namespace: service.namespace, deployment: service.deployment },
      startsAt,
      fingerprint: uniqueId('fp'),
    });
    const handle = this.env.client.workflow.getHandle(workflowId);
    const identity = await poll(
      async () => {
        const { raw } = await handle.describe();
        const [read, ...others] = raw.pendingActivities ?? [];
        const waitsOnTheReadAlone = read?.activityType?.name === slowRead.activity && others.length === 0 && !raw.pendingWorkflowTask;
        return waitsOnTheReadAlone && decodePendingActivityState(read.state) === 'STARTED' ? (read.lastWorkerIdentity ?? '') : undefined;
      },
      `the workflow to wait on ${slowRead.activity} alone`,
      60_000,
    );
    const runner = this.workers.find((w) => w.identity === identity);
    if (!runner) throw new Error(`${slowRead.activity} runs on '${identity}', none of the drill's workers (${this.workers.map((w) => w.identity).join(', ')})`);
    return { handle, runner };
  }

  /** Workers spawned by this drill that still run. */
  liveWorkers(): WorkerProcess[] {
    return this.workers.filter((w) => w.alive());
  }

  /**
   * Kills the worker running the slow read with SIGKILL and lifts the fault (so
   * the retry's own time is not the fault's); then `restart` starts a new worker
   * process, while `standby` leaves it to another worker already running. Waits
   * for the investigation to finish.
   */
  async crash(service: ServiceRef, successorFrom: 'restart' | 'standby'): Promise<CrashOutcome> {
    const { handle, runner } = await this.openWithSlowRead(service);
    const standby = this.liveWorkers().find((w) => w !== runner);
    if (successorFrom === 'standby' && !standby) throw new Error('no standby worker runs');
    const killedAt = Date.now();
    await runner.kill('SIGKILL');
    this.sandbox.setFaults([]);
    const successor = successorFrom === 'standby' && standby ? standby : await this.spawnWorker(`${runner.name}+`);
    // The history, not the query: a query can be answered by replaying the read's result while the workflow itself waits.
    const history = await poll(
      async () => {
        const h = await this.readHistory(handle);
        return h?.resumedAt !== undefined ? { ...h, resumedAt: h.resumedAt } : undefined;
      },
      'the workflow to act on the retried read',
      120_000,
      50,
    );
    const status = await poll(
      async () => {
        const s = await handle.query(statusQuery);
        return s.investigations >= 1 && s.diagnosis ? s : undefined;
      },
      'the status query to show the investigation done',
      60_000,
    );
    return { killed: runner, successor, killedAt, status, ...history };
  }

  /** The slow read's outcome in the history; undefined until it has completed. */
  private async readHistory(handle: WorkflowHandle): Promise<ReadHistory | undefined> {
    const events = (await handle.fetchHistory()).events ?? [];
    const id = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === slowRead.activity)?.eventId?.toString();
    const ofTheRead = (scheduledEventId: { toString(): string } | null | undefined) => id !== undefined && scheduledEventId?.toString() === id;
    const startedEvent = events.find((e) => ofTheRead(e.activityTaskStartedEventAttributes?.scheduledEventId));
    const started = startedEvent?.activityTaskStartedEventAttributes;
    const closed = events.findIndex((e) =>
      ofTheRead((e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes)?.scheduledEventId),
    );
    if (!started || closed < 0) return undefined;
    const resumed = events.slice(closed).find((e) => e.workflowTaskCompletedEventAttributes);
    const failure = started.lastFailure;
    const timedOut = events.flatMap((e) => {
      const t = e.activityTaskTimedOutEventAttributes;
      return t && ofTheRead(t.scheduledEventId) ? [decodeTimeoutType(t.failure?.timeoutFailureInfo?.timeoutType) ?? 'unknown'] : [];
    });
    return {
      retried: {
        attempt: started.attempt ?? 1,
        identity: started.identity ?? '',
        ...(failure ? { lastFailure: { message: failure.message ?? '', timeoutType: decodeTimeoutType(failure.timeoutFailureInfo?.timeoutType) } } : {}),
      },
      retriedAt: epochMs(startedEvent.eventTime),
      ...(resumed ? { resumedAt: epochMs(resumed.eventTime) } : {}),
      timedOut,
    };
  }

  /** The output of every worker, for a failure message. */
  workerOutput(): string {
    return this.workers.map((w) => `--- worker ${w.name} (${w.identity})\n${w.output().slice(-3000)}`).join('\n');
  }

  /** Kills every worker's process group, then closes the client, the sandbox and the dev server. */
  async close(): Promise<void> {
    for (const child of this.children) signalGroup(child, 'SIGKILL');
    await Promise.all(this.workers.map((w) => w.kill('SIGKILL')));
    await this.incidents.close().catch(() => undefined);
    await this.sandbox.close();
    await this.env.teardown();
  }
}
