// `npm start`: the whole product on the embedded defaults. It brings up the
// Temporal dev server (UI on http://localhost:8233, state under .data/), the
// sandbox cluster, the incident worker and the alert receiver; breaks the
// service with a scenario; sends the runbook's alert as Alertmanager would (or
// lets Debian's real Prometheus and Alertmanager fire it); and follows the
// incident live. Ctrl-C stops everything it started.
//
// The stack is supervised: a worker, receiver or dev server that dies is
// started again (the dev server on the same SQLite database), and the terminal
// follower waits out the gap instead of giving up. `npm run gameday` drives the
// same stack (LocalStack below) through every scenario.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { Command, InvalidArgumentError, Option } from 'commander';
import { startControlPlane, type ControlPlane } from '../control-plane/index.js';
import { scenarioNames, startSandbox, type Sandbox, type ScenarioName } from '../sandbox/index.js';
import type { ServiceRef } from '../workflows/domain.js';
import { incidentWorkflowId } from '../workflows/messages.js';
import type { IncidentStatus } from '../workflows/records.js';
import { parseDuration } from '../workflows/units.js';
import { startAlertStack } from './prometheus-stack.js';
import { postWebhook, serviceDownWebhook } from '../client/alerts/webhook.js';
import { incidentView, timelineLine, workflowUrl } from '../client/cli/render.js';
import { loadClientConfig } from '../client/config.js';
import { WorkerDeployments } from '../client/deployments.js';
import { startDevServer, type DevServer } from './dev-server.js';
import { Incidents } from '../client/incidents.js';
import { httpAnswers, patiently, ProcessGroup, waitFor, type SupervisedProcess } from './processes.js';
import { localHistoryKeysFile, startLocalCodecServer } from './history-encryption.js';
import type { FastifyInstance } from 'fastify';

export const repoRoot = resolve(import.meta.dirname, '..');

export interface StackPorts {
  temporal: number;
  ui: number;
  sandbox: number;
  receiver: number;
  /** Worker health; its metrics listen on the next port. */
  worker: number;
  /** The codec server the UI decrypts histories through. */
  codec: number;
}

/** Which Kubernetes the stack runs the incident on: the simulator, or a real control plane (control-plane/). */
export type ClusterKind = 'sandbox' | 'real';

export interface StackOptions {
  dataDir: string;
  /** More of the worker's configuration (the game day turns the governor's cooldown off). */
  workerEnv?: Record<string, string>;
  /** The sandbox (the default: up in a second) or a real control plane (about 10 s, built by `npm run provision:cluster`). */
  cluster?: ClusterKind;
  ports: StackPorts;
  /** Apply every mitigation of namespace default without a human (INCIDENT_AUTO_APPROVE='default=*'). */
  autoApprove: boolean;
  /** The monitor of new incidents (the runbook's 30m). */
  monitor: string;
  /** Prometheus (with --alerts prometheus): the monitor's baseline of p99 latency and active agents comes from it. */
  prometheusUrl?: string;
  /** Progress lines for the terminal. */
  say: (line: string) => void;
  /** The supervisor's lines (a process died, is back); stderr by default. */
  supervisorSay?: (line: string) => void;
}

/** Everything a started stack offers its driver (`npm start`, the game day). */
export interface RunningStack {
  group: ProcessGroup;
  temporal: DevServer;
  sandbox: Sandbox;
  /** The sandbox's service the scenarios break. */
  service: ServiceRef;
  workflowId: string;
  /** The sandbox over plain http (same port as the kubeconfig's https). */
  sandboxHttp: string;
  kubeconfigPath: string;
  outboxDir: string;
  reportsDir: string;
  logsDir: string;
  receiverUrl: string;
  receiverToken: string;
  worker: SupervisedProcess;
  receiver: SupervisedProcess;
  incidents: Incidents;
  /** The key the histories are encrypted with, and the codec server the UI decrypts them through. */
  historyKeysFile: string;
  codecUrl: string;
}

/** Monitor samples: every minute as the runbook has it, more often for a short demo monitor. */
export function sampleInterval(monitor: string): string {
  const ms = parseDuration(monitor) ?? 30 * 60_000;
  return `${Math.max(1, Math.min(60, Math.floor(ms / 6_000)))}s`;
}

/**
 * The local stack: the dev server, the sandbox (in this process), the worker and
 * the receiver. Built at once so that Ctrl-C during start-up can stop what has started.
 */
export class LocalStack {
  readonly group: ProcessGroup;
  private sandbox: Sandbox | undefined;
  private incidents: Incidents | undefined;
  private codecServer: FastifyInstance | undefined;
  private stopped: Promise<void> | undefined;

  constructor(readonly options: StackOptions) {
    this.group = new ProcessGroup(join(resolve(options.dataDir), 'logs'), options.supervisorSay);
  }

  async start(): Promise<RunningStack> {
    const { ports, say } = this.options;
    const dataDir = resolve(this.options.dataDir);
    const group = this.group;

    // Histories are encrypted (codec/); the UI reads them through the codec server.
    const historyKeysFile = localHistoryKeysFile(dataDir);
    const codec = await startLocalCodecServer(historyKeysFile, ports.codec, ports.ui);
    this.codecServer = codec.app;
    const historyEnv = { INCIDENT_HISTORY_KEYS: '', INCIDENT_HISTORY_KEYS_FILE: historyKeysFile };

    say('starting the Temporal dev server...');
    const temporal = await startDevServer(group, { repoRoot, dataDir, port: ports.temporal, uiPort: ports.ui, codecEndpoint: codec.url });

    const real = this.options.cluster === 'real';
    let sandbox: Sandbox;
    let kubeconfigPath: string;
    let workerKubeconfigPath: string;
    if (real) {
      say('starting a real Kubernetes control plane (etcd, kube-apiserver, controller manager, scheduler, kwok)...');
      const plane = await startControlPlane({
        dir: join(dataDir, 'control-plane'),
        port: ports.sandbox,
        say: (line) => (this.options.supervisorSay ?? say)(line.trim()),
      });
      sandbox = controlPlaneAsSandbox(plane);
      this.sandbox = sandbox;
      kubeconfigPath = plane.kubeconfigPath;
      workerKubeconfigPath = plane.workerKubeconfigPath;
    } else {
      say('starting the sandbox cluster...');
      kubeconfigPath = join(dataDir, 'sandbox/kubeconfig');
      sandbox = await startSandbox({ port: ports.sandbox, host: '127.0.0.1', scenario: 'healthy', kubeconfigPath });
      this.sandbox = sandbox;
      workerKubeconfigPath = kubeconfigPath;
    }
    const service: ServiceRef = { cluster: 'local', namespace: 'default', deployment: sandbox.serviceNames[0] ?? 'agent-native-framework' };
    const sandboxHttp = sandbox.url.replace(/^https:/, 'http:');
    const outboxDir = join(dataDir, 'outbox');
    const reportsDir = join(dataDir, 'reports');

    await routeNewWorkToUnversioned(temporal.address, this.options.supervisorSay ?? say);
    say('starting the incident worker...');
    const workerReady = () => httpAnswers(`http://127.0.0.1:${ports.worker}/health/ready`);
    const worker = group.supervise(
      'worker',
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'worker/main.ts')],
      {
        TEMPORAL_ADDRESS: temporal.address,
        // On the real control plane: the incident-worker ServiceAccount's token, bound by deploy/kubernetes/rbac.yaml.
        KUBECONFIG: workerKubeconfigPath,
        DEFAULT_CLUSTER: service.cluster,
        // Runbook steps 4 and 5 as configured out of the box (REQUIRED_ENV, ENV_PATTERN, POD_DEPENDENCIES):
        // the dependency is read from the pods' own readiness checks, never dialled from the worker.
        // The real API server will not proxy to loopback pod addresses: the worker dials them itself.
        PROBE_VIA: real ? 'pod-network' : 'api-proxy',
        ...(this.options.prometheusUrl ? { PROMETHEUS_URL: this.options.prometheusUrl } : {}),
        OUTBOX_DIR: outboxDir,
        REPORTS_DIR: reportsDir,
        WORKER_HTTP_HOST: '127.0.0.1',
        WORKER_HTTP_PORT: String(ports.worker),
        WORKER_METRICS_PORT: String(ports.worker + 1),
        // Unversioned, whatever the shell says: see routeNewWorkToUnversioned.
        WORKER_BUILD_ID: '',
        ...historyEnv,
        // The approval policy is the worker's: every incident loads it (never from whoever starts one).
        ...(this.options.autoApprove ? { INCIDENT_AUTO_APPROVE: `${service.namespace}=*` } : {}),
        ...this.options.workerEnv,
      },
      // Exit code 2 is a bad configuration: the same on every start.
      { ready: workerReady, policy: { fatalExitCodes: ['2'] } },
    );

    say('starting the alert receiver...');
    const receiverToken = randomBytes(24).toString('hex');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'receiver-token'), receiverToken, { mode: 0o600 });
    const clientEnv = {
      TEMPORAL_ADDRESS: temporal.address,
      DEFAULT_CLUSTER: service.cluster,
      INCIDENT_MONITOR: this.options.monitor,
      INCIDENT_SAMPLE_INTERVAL: sampleInterval(this.options.monitor),
      ...historyEnv,
    };
    const receiverUrl = `http://127.0.0.1:${ports.receiver}`;
    const receiver = group.supervise(
      'receiver',
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'client/receiver/main.ts')],
      { ...clientEnv, RECEIVER_HOST: '127.0.0.1', RECEIVER_PORT: String(ports.receiver), RECEIVER_TOKEN_FILE: join(dataDir, 'receiver-token') },
      { ready: () => httpAnswers(`${receiverUrl}/health/live`), policy: { fatalExitCodes: ['2'] } },
    );
    // A process the supervisor gave up on (a bad configuration, say) ends the wait at once, with its reason.
    const gaveUp = group.gaveUp.then((reason) => {
      throw new Error(reason);
    });
    await Promise.race([waitFor(() => httpAnswers(`${receiverUrl}/health/ready`), 'the alert receiver', 60_000), gaveUp]);
    await Promise.race([waitFor(workerReady, 'the worker (it bundles the workflows first)', 120_000), gaveUp]);
    const incidents = await Incidents.connect(loadClientConfig({ ...process.env, ...clientEnv }));
    this.incidents = incidents;

    return {
      group,
      temporal,
      sandbox,
      service,
      workflowId: incidentWorkflowId(service),
      sandboxHttp,
      kubeconfigPath,
      outboxDir,
      reportsDir,
      logsDir: join(dataDir, 'logs'),
      receiverUrl,
      receiverToken,
      worker,
      receiver,
      incidents,
      historyKeysFile,
      codecUrl: codec.url,
    };
  }

  /** Stops everything started so far (processes last started first, then the sandbox). Safe to call twice. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await this.incidents?.close().catch(() => undefined);
      await this.group.stopAll();
      await this.codecServer?.close();
      await this.sandbox?.close();
    })();
    return this.stopped;
  }
}

/**
 * `npm start` runs one unversioned worker: it is restarted on whatever code is in
 * the checkout, and the incidents kept in .data/ from earlier runs go on with it
 * (changes behind patched(), as always). A build left current on this dev server
 * by trying the deploy runbook would take every new incident to a build with no
 * worker here, so new work goes back to unversioned workers, saying so; runs
 * pinned to such a build stay on it (`npm run incident -- deploy status`).
 */
async function routeNewWorkToUnversioned(address: string, say: (line: string) => void): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const deployments = new WorkerDeployments(new Client({ connection }), process.env.WORKER_DEPLOYMENT_NAME ?? 'incident-response');
    const report = await deployments.describe();
    if (!report?.current) return;
    await deployments.promoteUnversioned();
    say(`worker build ${report.name}:${report.current} was current on this dev server: new incidents go to the unversioned npm start worker again`);
  } catch (err) {
    say(`could not check the worker deployment (${err instanceof Error ? err.message : String(err)}): going on unversioned`);
  } finally {
    await connection.close();
  }
}

/**
 * The real control plane behind the interface the stack drives: scenarios, health,
 * the audit of writes and fault injection (its proxy on the worker's path) work the same.
 */
function controlPlaneAsSandbox(plane: ControlPlane): Sandbox {
  return {
    url: plane.url,
    token: '',
    kubeconfigPath: plane.kubeconfigPath,
    serviceNames: plane.serviceNames,
    break: (scenario, service) => plane.break(scenario, service),
    heal: (service) => plane.heal(service),
    isRecovered: (service) => plane.isRecovered(service),
    audit: () => plane.audit(),
    setFaults: (rules) => plane.setFaults(rules),
    close: () => plane.close(),
  };
}

/** Breaks the stack's service with a scenario and waits until the outage shows. */
export async function breakService(stack: RunningStack, scenario: ScenarioName): Promise<void> {
  const { sandbox, service } = stack;
  sandbox.break(scenario, service.deployment);
  await waitFor(async () => !sandbox.isRecovered(service.deployment), 'the scenario to take the service down', 30_000);
}

/** How long an alert rule's `for:` lets an outage settle before firing, so the symptoms are there to find. */
export const alertSettleMs = 5_000;

/**
 * Sends the runbook's ServiceDown alert (firing or resolved) to the receiver as
 * Alertmanager would, retrying as Alertmanager does while the receiver or
 * Temporal restarts (a retry is harmless: the workflow ID is the service).
 */
export async function sendAlert(
  stack: RunningStack,
  status: 'firing' | 'resolved',
  startsAt: string,
  say: (line: string) => void,
  endsAt?: string,
): Promise<unknown> {
  return patiently(() => postWebhook(stack.receiverUrl, stack.receiverToken, serviceDownWebhook(stack.service, status, startsAt, endsAt)), {
    what: 'the alert receiver',
    giveUpAfterMs: 120_000,
    say,
    // A 4xx is the receiver's answer about the alert, not an outage.
    isAnswer: (err) => err instanceof Error && /receiver answered 4\d\d/.test(err.message),
  });
}

/** How long the follower waits out Temporal or the worker not answering before it gives up. */
export const outageLimitMs = 5 * 60_000;

/** The incident's status, waiting through a restart of Temporal or of the worker (a query needs a worker). */
export function incidentStatus(
  incidents: Incidents,
  workflowId: string,
  say: (line: string) => void,
  what = `the incident ${workflowId}`,
): Promise<IncidentStatus> {
  return patiently(() => incidents.client.withDeadline(Date.now() + 10_000, () => incidents.status(workflowId)), {
    what: `${what} (status query)`,
    giveUpAfterMs: outageLimitMs,
    say,
    isAnswer: (err) => err instanceof WorkflowNotFoundError,
  });
}

/** Waits until the service's incident is open (signal-with-start has run), through outages. */
export async function incidentOpened(incidents: Incidents, workflowId: string, openTimeoutMs: number, say: (line: string) => void): Promise<IncidentStatus> {
  const deadline = Date.now() + openTimeoutMs;
  for (;;) {
    try {
      return await incidentStatus(incidents, workflowId, say);
    } catch (err) {
      // Not there yet: the alert (or Alertmanager's rule) has not opened it.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      if (Date.now() > deadline) throw new Error(`no incident ${workflowId} opened within ${openTimeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * The automation has done what it safely can: the incident is escalated, or it
 * waits for a human to fix something first (a secret value, which automation never writes).
 */
export function handedToHumans(s: IncidentStatus): boolean {
  return s.phase === 'escalated' || (s.phase === 'awaiting-approval' && s.pendingApproval?.humanFix !== undefined);
}

export function seconds(from: string, to?: string): number | null {
  return to ? Math.round((Date.parse(to) - Date.parse(from)) / 100) / 10 : null;
}

/** The one JSON line of --exit-when-resolved. */
export function summaryLine(s: IncidentStatus, scenario: ScenarioName) {
  return {
    incidentId: s.incidentId,
    incidentNumber: s.incidentNumber ?? null,
    scenario,
    status: s.phase === 'resolved' ? (s.restoredAt ? 'recovered' : 'resolved') : handedToHumans(s) ? 'escalated' : s.phase,
    phase: s.phase,
    humanFix: s.pendingApproval?.humanFix ?? null,
    resolution: s.resolution ?? null,
    diagnosis: s.diagnosis?.category ?? null,
    actionsApplied: s.actions.filter((a) => a.appliedAt).map((a) => a.command),
    escalationLevel: s.escalationLevel,
    timeToMitigateSeconds: seconds(s.openedAt, s.restoredAt),
    timeToResolveSeconds: seconds(s.openedAt, s.resolvedAt),
  };
}

// --- the `npm start` command ---------------------------------------------------

const port = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port from 1 to 65535');
  return n;
};
const duration = (value: string): string => {
  if (parseDuration(value) === undefined) throw new InvalidArgumentError('expected a duration such as 30s, 5m or 30m');
  return value;
};

interface StartOptions {
  scenario: ScenarioName;
  cluster: ClusterKind;
  autoApprove?: boolean;
  monitor: string;
  exitWhenResolved?: boolean;
  alerts: 'webhook' | 'prometheus';
  temporalPort: number;
  uiPort: number;
  sandboxPort: number;
  receiverPort: number;
  workerPort: number;
  codecPort: number;
  prometheusPort: number;
  alertmanagerPort: number;
  dataDir: string;
}

const out = (line = '') => process.stdout.write(`${line}\n`);

async function startCommand(): Promise<void> {
  const opts = new Command('npm start --')
    .description('Run the incident-response stack locally and walk one incident through the runbook')
    .addOption(new Option('--scenario <name>', 'how the sandbox service breaks').choices(scenarioNames).default('bad-rollout'))
    .addOption(
      new Option('--cluster <kind>', 'the simulated cluster, or a real Kubernetes control plane on loopback (npm run provision:cluster builds it)')
        .choices(['sandbox', 'real'])
        .default('sandbox'),
    )
    .option('--auto-approve', 'apply mitigations without waiting for a human (policy for namespace default)')
    .option('--monitor <duration>', "how long to watch a recovered service (the runbook's 30m)", duration, '30m')
    .option('--exit-when-resolved', 'stop when the incident is resolved or handed to humans, printing one JSON line')
    .addOption(
      new Option('--alerts <source>', 'who fires the alert: a webhook sent like Alertmanager, or real Prometheus + Alertmanager')
        .choices(['webhook', 'prometheus'])
        .default('webhook'),
    )
    .option('--temporal-port <port>', 'Temporal frontend port', port, 7233)
    .option('--ui-port <port>', 'Temporal Web UI port', port, 8233)
    .option('--sandbox-port <port>', 'sandbox cluster port (the API server port with --cluster real)', port, 6443)
    .option('--receiver-port <port>', 'alert receiver port', port, 8095)
    .option('--worker-port <port>', 'worker health port (metrics on the next port)', port, 9464)
    .option('--codec-port <port>', "codec server port (the UI decrypts the incidents' histories through it)", port, 8097)
    .option('--prometheus-port <port>', 'Prometheus port (with --alerts prometheus)', port, 9090)
    .option('--alertmanager-port <port>', 'Alertmanager port (with --alerts prometheus)', port, 9093)
    .option('--data-dir <dir>', 'where state and logs are kept', join(repoRoot, '.data'))
    .parse()
    .opts<StartOptions>();

  const dataDir = resolve(opts.dataDir);
  if (opts.cluster === 'real' && opts.alerts === 'prometheus') {
    process.stderr.write('npm start: --alerts prometheus scrapes the sandbox through its own proxy; with --cluster real use --alerts webhook (the default)\n');
    process.exit(2);
  }
  const local = new LocalStack({
    dataDir,
    ports: {
      temporal: opts.temporalPort,
      ui: opts.uiPort,
      sandbox: opts.sandboxPort,
      receiver: opts.receiverPort,
      worker: opts.workerPort,
      codec: opts.codecPort,
    },
    cluster: opts.cluster,
    autoApprove: opts.autoApprove ?? false,
    monitor: opts.monitor,
    ...(opts.alerts === 'prometheus' ? { prometheusUrl: `http://127.0.0.1:${opts.prometheusPort}` } : {}),
    say: out,
  });
  let stopping = false;
  const stop = async (code: number): Promise<never> => {
    stopping = true;
    await local.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => {
    if (stopping) return;
    out('\nstopping everything that npm start started...');
    void stop(0);
  });
  process.on('SIGTERM', () => void stop(0));

  try {
    const stack = await local.start();
    const { sandbox, service, workflowId } = stack;

    if (opts.scenario === 'healthy') {
      // A false alarm: the incident must find nothing broken, verify, monitor and resolve as recovered.
      out(`leaving ${service.namespace}/${service.deployment} healthy: the alert will be a false alarm`);
    } else {
      out(`breaking ${service.namespace}/${service.deployment}: scenario ${opts.scenario}`);
      await breakService(stack, opts.scenario);
    }

    if (opts.alerts === 'prometheus') {
      const alerting = await startAlertStack(stack.group, {
        dataDir,
        clusterUrl: stack.sandboxHttp,
        clusterToken: sandbox.token,
        namespace: service.namespace,
        service: service.deployment,
        cluster: service.cluster,
        receiverUrl: stack.receiverUrl,
        receiverToken: stack.receiverToken,
        prometheusPort: opts.prometheusPort,
        alertmanagerPort: opts.alertmanagerPort,
      });
      out(
        `Prometheus ${alerting.prometheusUrl} and Alertmanager ${alerting.alertmanagerUrl} watch up{job="${service.deployment}"}; the alert fires when it stays 0`,
      );
    } else {
      await new Promise((r) => setTimeout(r, alertSettleMs));
      out('sending the ServiceDown alert as Alertmanager would...');
      await sendAlert(stack, 'firing', new Date().toISOString(), out);
    }

    const url = workflowUrl(stack.temporal.uiUrl, 'default', workflowId);
    out(
      [
        '',
        `Temporal UI:   ${stack.temporal.uiUrl}`,
        `This incident: ${url}`,
        `History:       encrypted with the key in ${stack.historyKeysFile}; the UI reads it through ${stack.codecUrl}`,
        `${opts.cluster === 'real' ? 'Cluster:      ' : 'Sandbox:      '} export KUBECONFIG=${stack.kubeconfigPath}`,
        `Outbox:        ${stack.outboxDir} (pages, chat, status page, stakeholders)`,
        `Logs:          ${stack.logsDir}`,
        'Press Ctrl-C to stop everything.',
        '',
      ].join('\n'),
    );

    // The supervisor giving up on a process ends the follow: the incident cannot go on.
    const gaveUp = stack.group.gaveUp.then((reason) => {
      throw new Error(reason);
    });
    const status = await Promise.race([
      follow(stack.incidents, workflowId, opts.alerts === 'prometheus' ? 180_000 : 30_000, opts.exitWhenResolved ?? false),
      gaveUp,
    ]);
    if (opts.exitWhenResolved) {
      out(JSON.stringify(summaryLine(status, opts.scenario)));
      await stop(status.phase === 'resolved' || handedToHumans(status) ? 0 : 1);
    }
  } catch (err) {
    if (stopping) return; // Ctrl-C while waiting: not a failure
    process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n(see the logs in ${join(dataDir, 'logs')})\n`);
    await stop(1);
  }
}

/**
 * Prints the incident's timeline as it grows, and the approve command whenever
 * an action waits. Returns once the incident is resolved or handed to humans
 * (with --exit-when-resolved); otherwise follows until Ctrl-C. A short outage of
 * Temporal or of the worker is waited out, saying so.
 */
async function follow(incidents: Incidents, workflowId: string, openTimeoutMs: number, exitWhenResolved: boolean): Promise<IncidentStatus> {
  const say = (line: string) => out(`  (${line})`);
  let status = await incidentOpened(incidents, workflowId, openTimeoutMs, say);
  const ref = status.incidentNumber ? `INC-${status.incidentNumber}` : workflowId;
  out(`incident ${ref} opened\n`);
  const seen = new Set<string>();
  let announced: number | undefined;
  for (;;) {
    for (const e of status.timeline) {
      const key = `${e.at}|${e.kind}|${e.text}`;
      if (!seen.has(key)) {
        seen.add(key);
        out(timelineLine(e));
      }
    }
    const pending = status.pendingApproval;
    if (pending && pending.action !== announced) {
      announced = pending.action;
      out(`\n  action #${pending.action} waits for approval: ${pending.command}`);
      for (const change of pending.preview.changes) out(`    dry-run: ${change}`);
      out(`  approve:  npm run incident -- approve ${ref} --action ${pending.action}`);
      out(`  reject:   npm run incident -- reject ${ref} --action ${pending.action}\n`);
    }
    if (exitWhenResolved && (status.phase === 'resolved' || handedToHumans(status))) {
      // Resolved: its last messages (the status page's "resolved", the page's resolve) go out as the workflow
      // closes; stopping the worker before that lost them. Handed to humans, it stays open for them.
      if (status.phase === 'resolved') await closed(incidents, workflowId, 30_000);
      out(`\n${incidentView(status)}\n`);
      return status;
    }
    await new Promise((r) => setTimeout(r, 1_000));
    status = await incidentStatus(incidents, workflowId, say, ref);
  }
}

/** Waits until the incident's workflow has closed (at most `timeoutMs`; a slow close is not a failure). */
async function closed(incidents: Incidents, workflowId: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const running = await incidents.client.workflow
      .getHandle(workflowId)
      .describe()
      .then((d) => d.status.name === 'RUNNING')
      .catch(() => true);
    if (!running) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

// Run as a program (npm start), not when the game day imports the stack from here.
if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) void startCommand();
