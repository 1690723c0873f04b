// `npm start`: the whole product on the embedded defaults. It brings up the
// Temporal dev server (UI on http://localhost:8233, state under .data/), the
// sandbox cluster, the incident worker and the alert receiver; breaks the
// service with a scenario; sends the runbook's alert as Alertmanager would (or
// lets Debian's real Prometheus and Alertmanager fire it); and follows the
// incident live. Ctrl-C stops everything it started.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { scenarioNames, startSandbox, type Sandbox, type ScenarioName } from '../sandbox/index.js';
import type { ServiceRef } from '../workflows/domain.js';
import { incidentWorkflowId } from '../workflows/messages.js';
import type { IncidentStatus } from '../workflows/records.js';
import { durationPattern, parseDuration } from '../workflows/units.js';
import { startAlertStack } from './alerts/prometheus-stack.js';
import { postWebhook, serviceDownWebhook } from './alerts/webhook.js';
import { incidentView, timelineLine, workflowUrl } from './cli/render.js';
import { loadClientConfig } from './config.js';
import { startDevServer } from './dev-server.js';
import { Incidents } from './incidents.js';
import { httpAnswers, ProcessGroup, waitFor } from './processes.js';

const repoRoot = resolve(import.meta.dirname, '..');

const port = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port from 1 to 65535');
  return n;
};
const duration = (value: string): string => {
  if (!durationPattern.test(value)) throw new InvalidArgumentError('expected a duration such as 30s, 5m or 30m');
  return value;
};

const program = new Command('npm start --')
  .description('Run the incident-response stack locally and walk one incident through the runbook')
  .addOption(new Option('--scenario <name>', 'how the sandbox service breaks').choices(scenarioNames).default('bad-rollout'))
  .option('--auto-approve', 'apply mitigations without waiting for a human (policy for namespace default)')
  .option('--monitor <duration>', "how long to watch a recovered service (the runbook's 30m)", duration, '30m')
  .option('--exit-when-resolved', 'stop when the incident is resolved or handed to humans, printing one JSON line')
  .addOption(new Option('--alerts <source>', 'who fires the alert: a webhook sent like Alertmanager, or real Prometheus + Alertmanager').choices(['webhook', 'prometheus']).default('webhook'))
  .option('--temporal-port <port>', 'Temporal frontend port', port, 7233)
  .option('--ui-port <port>', 'Temporal Web UI port', port, 8233)
  .option('--sandbox-port <port>', 'sandbox cluster port', port, 6443)
  .option('--receiver-port <port>', 'alert receiver port', port, 8095)
  .option('--worker-port <port>', 'worker health port (metrics on the next port)', port, 9464)
  .option('--prometheus-port <port>', 'Prometheus port (with --alerts prometheus)', port, 9090)
  .option('--alertmanager-port <port>', 'Alertmanager port (with --alerts prometheus)', port, 9093)
  .option('--data-dir <dir>', 'where state and logs are kept', join(repoRoot, '.data'))
  .parse();

interface Options {
  scenario: ScenarioName;
  autoApprove?: boolean;
  monitor: string;
  exitWhenResolved?: boolean;
  alerts: 'webhook' | 'prometheus';
  temporalPort: number;
  uiPort: number;
  sandboxPort: number;
  receiverPort: number;
  workerPort: number;
  prometheusPort: number;
  alertmanagerPort: number;
  dataDir: string;
}
const opts = program.opts<Options>();
const out = (line = '') => process.stdout.write(`${line}\n`);

/** Monitor samples: every minute as the runbook has it, more often for a short demo monitor. */
function sampleInterval(monitor: string): string {
  const ms = parseDuration(monitor) ?? 30 * 60_000;
  return `${Math.max(1, Math.min(60, Math.floor(ms / 6_000)))}s`;
}

async function main(): Promise<void> {
  const dataDir = resolve(opts.dataDir);
  const group = new ProcessGroup(join(dataDir, 'logs'));
  let sandbox: Sandbox | undefined;
  let incidents: Incidents | undefined;
  let stopping = false;
  const stop = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      await incidents?.close().catch(() => undefined);
      await group.stopAll();
      await sandbox?.close();
    }
    process.exit(code);
  };
  process.on('SIGINT', () => {
    out('\nstopping everything that npm start started...');
    void stop(0);
  });
  process.on('SIGTERM', () => void stop(0));

  try {
    out('starting the Temporal dev server...');
    const temporal = await startDevServer(group, { repoRoot, dataDir, port: opts.temporalPort, uiPort: opts.uiPort });

    out('starting the sandbox cluster...');
    const kubeconfigPath = join(dataDir, 'sandbox/kubeconfig');
    sandbox = await startSandbox({ port: opts.sandboxPort, host: '127.0.0.1', scenario: 'healthy', kubeconfigPath });
    const service: ServiceRef = { cluster: 'local', namespace: 'default', deployment: sandbox.serviceNames[0] ?? 'agent-native-framework' };
    const sandboxHttp = sandbox.url.replace(/^https:/, 'http:');

    out('starting the incident worker...');
    group.start('worker', process.execPath, ['--import', 'tsx', join(repoRoot, 'worker/main.ts')], {
      TEMPORAL_ADDRESS: temporal.address,
      KUBECONFIG: kubeconfigPath,
      DEFAULT_CLUSTER: service.cluster,
      REQUIRED_ENV: 'ANTHROPIC_API_KEY',
      DEPENDENCY_URLS: `anthropic=${sandboxHttp}/sandbox/dependencies/anthropic/v1/health`,
      OUTBOX_DIR: join(dataDir, 'outbox'),
      REPORTS_DIR: join(dataDir, 'reports'),
      WORKER_HTTP_HOST: '127.0.0.1',
      WORKER_HTTP_PORT: String(opts.workerPort),
      WORKER_METRICS_PORT: String(opts.workerPort + 1),
    });

    out('starting the alert receiver...');
    const receiverToken = randomBytes(24).toString('hex');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'receiver-token'), receiverToken, { mode: 0o600 });
    const clientEnv = {
      TEMPORAL_ADDRESS: temporal.address,
      DEFAULT_CLUSTER: service.cluster,
      INCIDENT_MONITOR: opts.monitor,
      INCIDENT_SAMPLE_INTERVAL: sampleInterval(opts.monitor),
      ...(opts.autoApprove ? { INCIDENT_AUTO_APPROVE: `${service.namespace}=*` } : {}),
    };
    group.start('receiver', process.execPath, ['--import', 'tsx', join(repoRoot, 'client/receiver/main.ts')], {
      ...clientEnv,
      RECEIVER_HOST: '127.0.0.1',
      RECEIVER_PORT: String(opts.receiverPort),
      RECEIVER_TOKEN_FILE: join(dataDir, 'receiver-token'),
    });
    const receiverUrl = `http://127.0.0.1:${opts.receiverPort}`;
    await waitFor(() => httpAnswers(`${receiverUrl}/health/ready`), 'the alert receiver', 60_000);
    await waitFor(() => httpAnswers(`http://127.0.0.1:${opts.workerPort}/health/ready`), 'the worker (it bundles the workflows first)', 120_000);
    incidents = await Incidents.connect(loadClientConfig({ ...process.env, ...clientEnv }));

    if (opts.scenario === 'healthy') {
      // A false alarm: the incident must find nothing broken, verify, monitor and resolve as recovered.
      out(`leaving ${service.namespace}/${service.deployment} healthy: the alert will be a false alarm`);
    } else {
      out(`breaking ${service.namespace}/${service.deployment}: scenario ${opts.scenario}`);
      sandbox.break(opts.scenario, service.deployment);
      const broken = sandbox;
      await waitFor(async () => !broken.isRecovered(service.deployment), 'the scenario to take the service down', 30_000);
    }

    if (opts.alerts === 'prometheus') {
      const alerting = await startAlertStack(group, {
        dataDir,
        clusterUrl: sandboxHttp,
        clusterToken: sandbox.token,
        namespace: service.namespace,
        service: service.deployment,
        cluster: service.cluster,
        receiverUrl,
        receiverToken,
        prometheusPort: opts.prometheusPort,
        alertmanagerPort: opts.alertmanagerPort,
      });
      out(`Prometheus ${alerting.prometheusUrl} and Alertmanager ${alerting.alertmanagerUrl} watch up{job="${service.deployment}"}; the alert fires when it stays 0`);
    } else {
      // As an alert rule's `for:` would, let the outage settle so the symptoms are there to find.
      await new Promise((r) => setTimeout(r, 5_000));
      out('sending the ServiceDown alert as Alertmanager would...');
      await postWebhook(receiverUrl, receiverToken, serviceDownWebhook(service, 'firing', new Date().toISOString()));
    }

    const workflowId = incidentWorkflowId(service);
    const url = workflowUrl(temporal.uiUrl, 'default', workflowId);
    out(
      [
        '',
        `Temporal UI:   ${temporal.uiUrl}`,
        `This incident: ${url}`,
        `Sandbox:       export KUBECONFIG=${kubeconfigPath}`,
        `Outbox:        ${join(dataDir, 'outbox')} (pages, chat, status page)`,
        `Logs:          ${join(dataDir, 'logs')}`,
        'Press Ctrl-C to stop everything.',
        '',
      ].join('\n'),
    );

    const status = await follow(incidents, workflowId, opts.alerts === 'prometheus' ? 180_000 : 30_000);
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
 * (with --exit-when-resolved); otherwise follows until Ctrl-C.
 */
async function follow(incidents: Incidents, workflowId: string, openTimeoutMs: number): Promise<IncidentStatus> {
  let status: IncidentStatus | undefined;
  const deadline = Date.now() + openTimeoutMs;
  while (!status) {
    status = await incidents.status(workflowId).catch(() => undefined);
    if (!status && Date.now() > deadline) throw new Error(`no incident ${workflowId} opened within ${openTimeoutMs / 1000} s`);
    if (!status) await new Promise((r) => setTimeout(r, 500));
  }
  out(`incident ${status.incidentNumber ? `INC-${status.incidentNumber}` : workflowId} opened\n`);
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
      out(`  approve:  npm run incident -- approve ${status.incidentNumber ? `INC-${status.incidentNumber}` : workflowId} --action ${pending.action}`);
      out(`  reject:   npm run incident -- reject ${status.incidentNumber ? `INC-${status.incidentNumber}` : workflowId} --action ${pending.action}\n`);
    }
    if (opts.exitWhenResolved && (status.phase === 'resolved' || handedToHumans(status))) {
      out(`\n${incidentView(status)}\n`);
      return status;
    }
    await new Promise((r) => setTimeout(r, 1_000));
    status = await incidents.status(workflowId);
  }
}

/**
 * The automation has done what it safely can: the incident is escalated, or it
 * waits for a human to fix something first (a secret value, which automation never writes).
 */
function handedToHumans(s: IncidentStatus): boolean {
  return s.phase === 'escalated' || (s.phase === 'awaiting-approval' && s.pendingApproval?.humanFix !== undefined);
}

function seconds(from: string, to?: string): number | null {
  return to ? Math.round((Date.parse(to) - Date.parse(from)) / 100) / 10 : null;
}

/** The one JSON line of --exit-when-resolved. */
function summaryLine(s: IncidentStatus, scenario: ScenarioName) {
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

void main();
