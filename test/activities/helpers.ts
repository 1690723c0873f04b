// One place that builds what the activity tests run on: deps over a sandbox
// cluster, a logger that keeps every line (to prove redaction), the activity
// context (MockActivityEnvironment) and a retry loop that follows the exported
// retry policy, as Temporal would.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger, LogLevel, LogMetadata } from '@temporalio/common';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { expect } from 'vitest';
import { createActivities, type Activities } from '../../activities/index.js';
import { closedAfterUse } from '../helpers/test-scoped.js';
import { startSandbox, type Sandbox, type ScenarioName } from '../../sandbox/index.js';
import type { ActivityDeps } from '../../activities/injected-deps.js';
import { kubeconfigClusterAccess, type ClusterAccess } from '../../activities/kube/cluster.js';
import { startControlPlane } from '../../control-plane/index.js';
import { readOptions } from '../../workflows/retry.js';
import { parseDuration } from '../../workflows/units.js';
import type { Findings, ServiceRef } from '../../workflows/domain.js';

export interface CapturedLogger {
  logger: Logger;
  /** Every line logged, with its metadata, as JSON. */
  lines: string[];
}

export function captureLogger(): CapturedLogger {
  const lines: string[] = [];
  const at = (level: LogLevel) => (message: string, meta?: LogMetadata) => void lines.push(JSON.stringify({ level, message, meta }));
  return {
    lines,
    logger: {
      log: (level, message, meta) => at(level)(message, meta),
      trace: at('TRACE'),
      debug: at('DEBUG'),
      info: at('INFO'),
      warn: at('WARN'),
      error: at('ERROR'),
    },
  };
}

/** Cluster access for tests that must not reach a cluster. */
export const noCluster: ClusterAccess = {
  clients: () => {
    throw new Error('this test has no cluster');
  },
};

export const service: ServiceRef = { cluster: 'sandbox', namespace: 'default', deployment: 'agent-native-framework' };

export interface SandboxDepsOptions {
  kubeconfigPath: string;
  dependencyUrl?: string;
  logger?: Logger;
}

/** The service's probes as the tests' deps see them: its health and metrics ports, through the API server's proxy. */
export const testProbes: ActivityDeps['probes'] = {
  healthPort: 8080,
  metricsPort: 8000,
  livePath: 'health/live',
  readyPath: 'health/ready',
  metricsPath: 'metrics',
  httpTimeoutMs: 2_000,
  via: 'api-proxy',
};

/**
 * fetch that refuses any address outside loopback before dialling: a default
 * such as https://api.anthropic.com dialled by an activity fails the test
 * instead of leaving the machine.
 */
export const loopbackFetch: typeof fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!(host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host))) {
    return Promise.reject(new Error(`test refused to dial ${url.host}: not a loopback address`));
  }
  return globalThis.fetch(input, init);
};

/** The runbook's dependency as the pods probe it: shown in findings, never dialled. */
export const runbookDependency = { name: 'anthropic', url: 'https://api.anthropic.com/v1/health' };

/** Deps over the sandbox's kubeconfig, as createDefaultDeps would build them, with quick timings for tests. */
export function sandboxDeps(options: SandboxDepsOptions): ActivityDeps {
  const dir = mkdtempSync(join(tmpdir(), 'activities-'));
  const logger = options.logger ?? captureLogger().logger;
  return {
    kube: kubeconfigClusterAccess({ kubeconfigPath: options.kubeconfigPath, contexts: {}, defaultCluster: service.cluster, requestTimeoutMs: 5_000, logger }),
    fetch: loopbackFetch,
    notifier: { outboxDir: join(dir, 'outbox'), reportsDir: join(dir, 'reports') },
    clock: () => new Date(),
    logger,
    guardrails: { allowedNamespaces: ['default'], maxReplicas: 6, memoryCeiling: '4Gi' },
    requiredEnv: ['ANTHROPIC_API_KEY'],
    envPattern: '(ANTHROPIC|LOG|AGENT)',
    dependencies: options.dependencyUrl ? [{ name: 'anthropic', url: options.dependencyUrl }] : [],
    podDependencies: [runbookDependency],
    probes: testProbes,
    customerImpact: { probe: 'ingress', sloBurnThreshold: 1 },
    rolloutPollMs: 100,
  };
}

/** Runs one activity in an activity context, as the worker would (heartbeats and cancellation work). */
export function inActivity<R>(fn: () => Promise<R>, env = new MockActivityEnvironment(undefined, { logger: captureLogger().logger })): Promise<R> {
  return env.run(fn);
}

/** The parts of a retry policy (workflows/retry.ts) that withRetries follows. */
export interface TestRetryPolicy {
  initialInterval: string;
  backoffCoefficient: number;
  maximumInterval: string;
  maximumAttempts: number;
  nonRetryableErrorTypes: readonly string[];
}

/**
 * Runs an activity the way Temporal's retry policy would (the workflow's reads
 * policy unless told): retryable failures are retried with the policy's backoff,
 * or the failure's nextRetryDelay (a 429's Retry-After), scaled down 20× so tests
 * stay quick; non-retryable ones and the policy's nonRetryableErrorTypes end it at
 * once. Returns the result and how many attempts it took.
 */
export async function withRetries<R>(fn: () => Promise<R>, policy: TestRetryPolicy = readOptions.retry): Promise<{ result: R; attempts: number }> {
  const initialMs = parseDuration(policy.initialInterval) ?? 1000;
  const maximumMs = parseDuration(policy.maximumInterval) ?? 30_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return { result: await inActivity(fn), attempts: attempt };
    } catch (err) {
      const permanent =
        err instanceof ApplicationFailure &&
        (err.nonRetryable || (err.type !== undefined && err.type !== null && policy.nonRetryableErrorTypes.includes(err.type)));
      if (permanent || attempt >= policy.maximumAttempts) throw err;
      const hinted = err instanceof ApplicationFailure && err.nextRetryDelay !== undefined ? Number(err.nextRetryDelay) : NaN;
      const delay = Number.isFinite(hinted) ? hinted : Math.min(initialMs * policy.backoffCoefficient ** (attempt - 1), maximumMs);
      await new Promise((resolve) => setTimeout(resolve, delay / 20));
    }
  }
}

/** The two clusters every cluster contract test runs on: the simulator, and a real control plane. */
export type ClusterKind = 'sandbox' | 'real';
export const clusterKinds: readonly ClusterKind[] = ['sandbox', 'real'];

export interface TestCluster {
  kind: ClusterKind;
  /** The running cluster: its scenarios, and its health as the simulation sees it. */
  controls: Pick<Sandbox, 'break' | 'heal' | 'isRecovered' | 'close' | 'audit' | 'setFaults'>;
  /** The worker's kubeconfig: on the real control plane, the incident-worker ServiceAccount's (rbac.yaml). */
  kubeconfigPath: string;
  /** A person's kubeconfig (cluster-admin on the real control plane; the same as the worker's on the sandbox). */
  adminKubeconfigPath: string;
  /** The deps the activities run on: another worker builds its own activities from them. */
  deps: ActivityDeps;
  activities: Activities;
  /** Everything the activities and the SDK logged. */
  logs: CapturedLogger;
  /** Runs an activity in a context whose logger is `logs`. */
  run: <R>(fn: () => Promise<R>) => Promise<R>;
}

/** A sandbox cluster, with what only the simulator has: its audit of writes and its fault injection. */
export interface SandboxTestCluster extends TestCluster {
  sandbox: Sandbox;
}

/** Planted by every test sandbox in its secret, a literal env value of the pod template and the app's logs. */
export const canary = 'CANARY-7f3a9c1e';

/**
 * A cluster in the given scenario with quick timings and the canary planted, and
 * the activities over its kubeconfig: the sandbox, or a real control plane where
 * the activities run as the incident-worker ServiceAccount and reach pods on the
 * pod network (the API server will not proxy to loopback pod addresses).
 */
export async function startCluster(scenario: ScenarioName): Promise<SandboxTestCluster>;
export async function startCluster(scenario: ScenarioName, kind: ClusterKind): Promise<TestCluster>;
export async function startCluster(scenario: ScenarioName, kind: ClusterKind = 'sandbox'): Promise<TestCluster> {
  const logs = captureLogger();
  if (kind === 'real') {
    const plane = await startControlPlane({
      scenario,
      canary,
      timing: { rolloutMs: 300, crashLoopMs: 200 },
      say: (line) => process.stderr.write(`[control plane] ${line.trim()}\n`),
    });
    // Step 5 as configured out of the box: the pods' own view of the runbook's dependency, no worker-side probe.
    const deps = sandboxDeps({ kubeconfigPath: plane.workerKubeconfigPath, logger: logs.logger });
    deps.probes = { ...deps.probes, via: 'pod-network' };
    return {
      kind,
      controls: plane,
      kubeconfigPath: plane.workerKubeconfigPath,
      adminKubeconfigPath: plane.kubeconfigPath,
      deps,
      activities: createActivities(deps),
      logs,
      run: (fn) => inActivity(fn, new MockActivityEnvironment(undefined, { logger: logs.logger })),
    };
  }
  const kubeconfigPath = join(mkdtempSync(join(tmpdir(), 'sandbox-')), 'kubeconfig');
  const sandbox = await startSandbox({ scenario, canary, kubeconfigPath, timing: { rolloutMs: 300, crashLoopMs: 200 } });
  const deps = sandboxDeps({ kubeconfigPath, logger: logs.logger });
  const cluster: SandboxTestCluster = {
    kind,
    controls: sandbox,
    sandbox,
    kubeconfigPath,
    adminKubeconfigPath: kubeconfigPath,
    deps,
    activities: createActivities(deps),
    logs,
    run: (fn) => inActivity(fn, new MockActivityEnvironment(undefined, { logger: logs.logger })),
  };
  return cluster;
}

export type Investigation = Omit<Findings, 'collectedAt'>;

/** The seven read activities in parallel, as the workflow runs them. */
/**
 * The investigation as the workflow runs it under trouble: each of the seven
 * activities on its own, retried by the reads policy. Returns the findings and
 * the attempts each took.
 */
export async function investigateWithRetries(activities: Activities, ref: ServiceRef = service): Promise<{ result: Investigation; attempts: number[] }> {
  const runs = await Promise.all([
    withRetries(() => activities.inspectWorkload(ref)),
    withRetries(() => activities.collectLogs(ref, { tailLines: 100 })),
    withRetries(() => activities.inspectResources(ref)),
    withRetries(() => activities.inspectConfiguration(ref)),
    withRetries(() => activities.checkDependencies(ref)),
    withRetries(() => activities.checkServiceHealth(ref)),
    withRetries(() => activities.recentEvents(ref)),
  ]);
  const [workload, logs, resources, config, dependencies, health, events] = runs;
  return {
    result: {
      workload: workload.result,
      logs: logs.result,
      resources: resources.result,
      config: config.result,
      dependencies: dependencies.result,
      health: health.result,
      events: events.result,
    },
    attempts: runs.map((r) => r.attempts),
  };
}

export async function investigate(activities: Activities, ref: ServiceRef = service): Promise<Investigation> {
  const [workload, logs, resources, config, dependencies, health, events] = await Promise.all([
    activities.inspectWorkload(ref),
    activities.collectLogs(ref, { tailLines: 100 }),
    activities.inspectResources(ref),
    activities.inspectConfiguration(ref),
    activities.checkDependencies(ref),
    activities.checkServiceHealth(ref),
    activities.recentEvents(ref),
  ]);
  return { workload, logs, resources, config, dependencies, health, events };
}

/** Starts clusters for one test file: each is closed when the test that started it ends (test/helpers/test-scoped.ts). */
export function clustersForThisFile(): (scenario: ScenarioName) => Promise<SandboxTestCluster>;
export function clustersForThisFile(kind: ClusterKind): (scenario: ScenarioName) => Promise<TestCluster>;
export function clustersForThisFile(kind: ClusterKind = 'sandbox'): (scenario: ScenarioName) => Promise<TestCluster> {
  const closeAfterUse = closedAfterUse();
  return async (scenario) => {
    const cluster = await startCluster(scenario, kind);
    closeAfterUse(() => cluster.controls.close());
    return cluster;
  };
}

/** The canary is in none of these results and in no line the activities logged. */
export function expectNoCanary(cluster: TestCluster, ...results: unknown[]): void {
  expect(JSON.stringify(results)).not.toContain(canary);
  expect(cluster.logs.lines.join('\n')).not.toContain(canary);
}

/** Retries `check` (an assertion) until it passes or `timeoutMs` ends; then throws its last failure. */
export async function eventually<T>(probe: () => Promise<T>, check: (value: T) => void, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    try {
      check(value);
      return value;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
