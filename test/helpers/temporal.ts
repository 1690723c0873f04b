// One place that builds Temporal test environments for every test file: the Java
// time-skipping server and the Temporal CLI dev server, both provisioned into
// .tools/ by scripts/provision.sh (npm test runs it first).
import { existsSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DataConverter } from '@temporalio/common';
import { Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { sharedModulesBundlerOptions } from '../../worker/shared-workflow-modules.js';
import { TASK_QUEUE } from '../../workflows/messages.js';
import { incidentSearchAttributes, searchAttributeIndexedTypes } from '../../workflows/search-attributes.js';

export const repoRoot = resolve(import.meta.dirname, '../..');

function tool(name: string): string {
  const path = join(repoRoot, '.tools/bin', name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run 'npm run provision' (npm test does it first)`);
  return path;
}

/**
 * The client's keepalive, made acceptable to the Java test server. The SDK's client pings
 * every 30 s even with no call open; the test server (grpc-java's defaults) allows one
 * ping per 5 minutes, and only with a call open, so after three pings (about 90 s) it
 * sends GOAWAY "too_many_pings" and drops the connection with the calls on it. When that
 * call is a time-skipping sleep, the client retries it and the server's skipping lock
 * is left unbalanced: time then skips while activities run (they "time out" and retry)
 * or stops skipping at all, and a test that ran past 90 s, as under load, hangs.
 * On loopback there is nothing for a keepalive to find: ping rarely, and only in a call.
 */
const testServerChannelArgs = { 'grpc.keepalive_permit_without_calls': 0, 'grpc.keepalive_time_ms': 10 * 60_000 };

/**
 * TestWorkflowEnvironment.createTimeSkipping with the client's connection options: its
 * public form takes none, its private `create` passes them through to Connection.connect
 * (@temporalio/testing 1.24, pinned in package.json; test/toolchain/time-skipping.test.ts
 * keeps a connection open past the GOAWAY point to prove this still holds).
 */
function createTimeSkippingWithQuietKeepalive(options: Record<string, unknown>): Promise<TestWorkflowEnvironment> {
  const create = (TestWorkflowEnvironment as unknown as { create?: (o: Record<string, unknown>) => Promise<TestWorkflowEnvironment> }).create;
  if (typeof create !== 'function')
    throw new Error('@temporalio/testing no longer has TestWorkflowEnvironment.create: update timeSkippingEnv in test/helpers/temporal.ts');
  return create.call(TestWorkflowEnvironment, options);
}

/**
 * The Java time-skipping test server: timers fire as soon as the workflow is blocked on them.
 * The incident search attributes are registered, as on the dev server: the test server
 * refuses an upsert of an attribute it does not know (the workflow task would fail forever).
 */
export async function timeSkippingEnv(options: { dataConverter?: DataConverter } = {}): Promise<TestWorkflowEnvironment> {
  const env = await createTimeSkippingWithQuietKeepalive({
    supportsTimeSkipping: true,
    server: { type: 'time-skipping', executable: { type: 'existing-path', path: tool('temporal-test-server') } },
    connectionOptions: { channelArgs: testServerChannelArgs },
    // The env's client: with the history codec, it reads and writes payloads as the receiver and the CLI do.
    ...(options.dataConverter ? { client: { dataConverter: options.dataConverter } } : {}),
  });
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: searchAttributeIndexedTypes(),
  });
  return env;
}

/**
 * The Temporal CLI dev server with SQLite in a temp dir and the incident search attributes
 * registered; with `uiPort`, its Web UI too.
 */
export function devServerEnv(options: { uiPort?: number } = {}): Promise<TestWorkflowEnvironment> {
  const dir = mkdtempSync(join(tmpdir(), 'incident-devserver-'));
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: tool('temporal') },
      dbFilename: join(dir, 'temporal.db'),
      searchAttributes: [...incidentSearchAttributes],
      ...(options.uiPort ? { ui: true, uiPort: options.uiPort } : {}),
      log: { format: 'pretty', level: 'error' },
    },
  });
}

const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();
/**
 * Bundles a workflows module once per test file (bundling takes seconds), with the
 * data converter's failure converter when it names one (the worker bundles it in, as worker/main.ts does).
 */
export function workflowBundle(workflowsPath: string, failureConverterPath?: string): Promise<WorkflowBundleWithSourceMap> {
  const key = `${workflowsPath}\0${failureConverterPath ?? ''}`;
  let bundle = bundles.get(key);
  if (!bundle) {
    // As the worker bundles it (worker/main.ts): every workflow test runs on the shared modules.
    bundle = sharedModulesBundlerOptions().then((shared) =>
      bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger, ...shared, ...(failureConverterPath ? { failureConverterPath } : {}) }),
    );
    bundles.set(key, bundle);
  }
  return bundle;
}

export interface RunningWorker {
  /** Shuts the worker down and waits until it has stopped. */
  stop(): Promise<void>;
}

/** A worker of the product's workflows on the incident task queue, over the given activities (a fake fleet), polling until stop(). */
/** The incident workflows' entry point, as the worker bundles it. */
export const incidentWorkflowsPath = resolve(repoRoot, 'workflows/index.ts');

/** `maxCachedWorkflows: 0`: no sticky queue, every task replays the history (a worker replaced mid-incident on the test server, which never times a dead worker's sticky queue out). */
export async function startIncidentWorker(
  env: TestWorkflowEnvironment,
  activities: object,
  options: { dataConverter?: DataConverter; maxCachedWorkflows?: number } = {},
): Promise<RunningWorker> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: await workflowBundle(incidentWorkflowsPath, options.dataConverter?.failureConverterPath),
    activities,
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    ...(options.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: options.maxCachedWorkflows }),
  });
  const running = worker.run();
  // A worker whose server went first (a timed-out test's teardown) fails its run: that is no error of the tests.
  running.catch(() => undefined);
  return {
    stop: async () => {
      worker.shutdown();
      await running;
    },
  };
}

const noop = (): void => undefined;
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
