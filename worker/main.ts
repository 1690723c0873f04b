// The worker process: config (fails fast), Runtime telemetry, connection to
// Temporal, the incident workflows and activities, and an HTTP endpoint for
// /health/live and /health/ready; the SDK's Prometheus metrics are served on
// WORKER_METRICS_PORT. Both listen on WORKER_HTTP_HOST (loopback unless set).
// SIGINT/SIGTERM drain it gracefully.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { DefaultLogger, NativeConnection, Runtime, Worker, makeTelemetryFilterString, type LogLevel } from '@temporalio/worker';
import { ConfigError, describeConfig, historyKeyRing, loadConfig, workerDeploymentOptions, type WorkerConfig } from './config.js';
import { createLogger } from './logger.js';
import { buildActivities } from './activities.js';
import { sharedModulesBundlerOptions } from './shared-workflow-modules.js';
import { historyDataConverter } from '../codec/encryption-codec.js';

/** The workflows entry: the TypeScript source under tsx, the compiled file in an image. */
function workflowsPath(): string {
  const ts = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL('../workflows/index.js', import.meta.url));
}

const levels: Record<WorkerConfig['LOG_LEVEL'], LogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };

/** host:port as a socket address: an IPv6 host goes in brackets. */
const socketAddress = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, { component: 'worker' });
  const historyKeys = historyKeyRing(config);
  log.info(
    {
      config: describeConfig(config),
      history: historyKeys ? { encrypted: true, keyId: historyKeys.current.id, decrypts: [...historyKeys.keys.keys()] } : { encrypted: false },
    },
    'starting incident worker',
  );

  // Runtime first: it must exist before any connection or worker.
  Runtime.install({
    logger: new DefaultLogger(levels[config.LOG_LEVEL], ({ level, message, meta }) => {
      // The SDK's levels are pino's method names in capitals.
      log[level.toLowerCase() as Lowercase<LogLevel>](meta ?? {}, message);
    }),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      metrics: { prometheus: { bindAddress: socketAddress(config.WORKER_HTTP_HOST, config.WORKER_METRICS_PORT) } },
    },
  });

  const connection = await NativeConnection.connect({
    address: config.TEMPORAL_ADDRESS,
    tls: config.TEMPORAL_TLS,
    apiKey: config.TEMPORAL_API_KEY,
  });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowsPath: workflowsPath(),
    // zod and the schemas once per worker, not once per open incident (see shared-workflow-modules.ts).
    bundlerOptions: await sharedModulesBundlerOptions(),
    activities: buildActivities(config),
    // The same keys as every client's: payloads are sealed before they reach Temporal (codec/encryption-codec.ts).
    dataConverter: historyDataConverter(historyKeys),
    // With WORKER_BUILD_ID: this worker is version <WORKER_DEPLOYMENT_NAME>:<WORKER_BUILD_ID> of the deployment.
    workerDeploymentOptions: workerDeploymentOptions(config),
    // A dead worker's workflows wait this long on its sticky queue before another worker may take them (default 10 s); a live one polls it at once.
    stickyQueueScheduleToStartTimeout: '2s',
    ...(config.WORKER_MAX_CACHED_WORKFLOWS === undefined ? {} : { maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS }),
    // Beats reach Temporal every 2 s (not 80% of the 5 s heartbeatTimeout), leaving 3 s for a slow RPC before a false timeout.
    maxHeartbeatThrottleInterval: '2s',
  });

  const http = Fastify({ logger: false });
  http.get('/health/live', async () => ({ status: 'live' }));
  http.get('/health/ready', async (_req, reply) => {
    const state = worker.getState();
    return reply.code(state === 'RUNNING' ? 200 : 503).send({ status: state });
  });
  await http.listen({ host: config.WORKER_HTTP_HOST, port: config.WORKER_HTTP_PORT });
  const deployment = config.WORKER_BUILD_ID ? `${config.WORKER_DEPLOYMENT_NAME}:${config.WORKER_BUILD_ID}` : 'unversioned';
  log.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, deployment, http: socketAddress(config.WORKER_HTTP_HOST, config.WORKER_HTTP_PORT) }, 'worker running');

  try {
    await worker.run(); // resolves after a shutdown signal, once in-flight tasks drain
  } finally {
    await http.close();
    await connection.close();
    log.info('worker stopped');
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
