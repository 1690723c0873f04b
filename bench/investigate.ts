// Benchmark: the runbook's investigation (steps 1-5) as the project runs it
// (the seven read activities in parallel, as the workflow does) against the
// same steps as real kubectl commands one after another, on the sandbox and on
// the real control plane (bad-rollout), in the same run. Prints both medians and
// their ratio per cluster; the target is >= 10x. It asserts nothing about time.
//   npx tsx bench/investigate.ts [--runs N]
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, createDefaultDeps } from '../activities/index.js';
import type { ServiceRef } from '../workflows/domain.js';
import { startControlPlane } from '../control-plane/index.js';
import { dependencyHealthPath } from '../sandbox/admin.js';
import { startSandbox } from '../sandbox/index.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } }, allowPositionals: true });
const runs = Math.max(1, Number(values.runs));

const app = 'agent-native-framework';
const selector = `app=${app}`;
/** Runbook steps 1-5, every command but the two `kubectl exec` ones (env, curl), in the runbook's order. */
const runbookCommands: string[][] = [
  ['get', 'deployment', app],
  ['describe', 'deployment', app],
  ['get', 'pods', '-l', selector],
  ['describe', 'pods', '-l', selector],
  ['logs', '-l', selector, '--tail=100'],
  ['logs', '-l', selector, '--tail=500'],
  ['logs', '-l', selector, '--previous'],
  ['describe', 'nodes'],
  ['top', 'pods', '-l', selector],
  ['describe', 'resourcequota'],
  ['get', 'configmap', 'agent-config', '-o', 'yaml'],
  ['get', 'secret', 'agent-secrets'],
  ['get', 'serviceaccount', app],
  ['describe', 'rolebinding,clusterrolebinding'],
];

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function kubectl(args: string[], kubeconfig: string, cacheDir: string): Promise<{ ok: boolean; stderr: string }> {
  return new Promise((resolve) => {
    execFile('kubectl', [...args, '--kubeconfig', kubeconfig, '--cache-dir', cacheDir, '-n', 'default'], { maxBuffer: 64 * 2 ** 20 }, (err, _stdout, stderr) =>
      resolve({ ok: err === null, stderr: String(stderr).trim() }),
    );
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const quiet: Logger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

interface Target {
  name: string;
  /** The worker's kubeconfig (on the real control plane, the incident-worker ServiceAccount's). */
  workerKubeconfig: string;
  /** A responder's kubeconfig for the kubectl runbook. */
  adminKubeconfig: string;
  dependencyUrl: string;
  probeVia: 'api-proxy' | 'pod-network';
  close: () => Promise<void>;
}

async function measure(target: Target, work: string): Promise<string[]> {
  const service: ServiceRef = { cluster: 'local', namespace: 'default', deployment: app };
  const activities = createActivities(
    createDefaultDeps({
      kube: { kubeconfigPath: target.workerKubeconfig, defaultCluster: service.cluster },
      guardrails: { allowedNamespaces: ['default'], maxReplicas: 6, memoryCeiling: '4Gi' },
      requiredEnv: ['ANTHROPIC_API_KEY'],
      dependencies: [{ name: 'anthropic', url: target.dependencyUrl }],
      notifications: { outboxDir: join(work, 'outbox'), reportsDir: join(work, 'reports') },
      probes: { via: target.probeVia },
    }),
  );
  const env = new MockActivityEnvironment(undefined, { logger: quiet });
  const investigate = () =>
    env.run(() =>
      Promise.all([
        activities.inspectWorkload(service),
        activities.collectLogs(service, { tailLines: 500 }),
        activities.inspectResources(service),
        activities.inspectConfiguration(service),
        activities.checkDependencies(service),
        activities.checkServiceHealth(service),
        activities.recentEvents(service),
      ]),
    );
  let failures = 0;
  const runbook = async () => {
    // A fresh discovery cache per run, as a responder's first command of an incident has.
    const cacheDir = mkdtempSync(join(work, 'kube-cache-'));
    for (const args of runbookCommands) {
      const { ok, stderr } = await kubectl(args, target.adminKubeconfig, cacheDir);
      if (!ok) {
        failures++;
        if (failures <= 3) process.stderr.write(`${target.name}: kubectl ${args.join(' ')} failed: ${stderr.split('\n')[0] ?? ''}\n`);
      }
    }
  };

  // One warm-up of each: module loading and the first connection are not the figure.
  await investigate();
  await runbook();
  failures = 0;
  const project: number[] = [];
  const kubectlTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    project.push(await timed(investigate));
    kubectlTimes.push(await timed(runbook));
  }
  const projectMedian = median(project);
  const kubectlMedian = median(kubectlTimes);
  return [
    `${target.name}:`,
    `  project (7 activities in parallel):         median ${projectMedian.toFixed(1)} ms`,
    `  kubectl (${runbookCommands.length} commands one after another): median ${kubectlMedian.toFixed(1)} ms${failures ? ` (${failures} commands exited non-zero, e.g. top without metrics-server)` : ''}`,
    `  ratio: ${(kubectlMedian / projectMedian).toFixed(1)}x faster (target >= 10x)`,
  ];
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bench-investigate-'));
  const lines = [`investigation, runbook steps 1-5, scenario bad-rollout, ${runs} runs each, on two clusters in the same run`];
  const targets: (() => Promise<Target>)[] = [
    async () => {
      const kubeconfig = join(work, 'sandbox.kubeconfig');
      const sandbox = await startSandbox({ scenario: 'bad-rollout', kubeconfigPath: kubeconfig });
      return {
        name: 'sandbox (the simulator)',
        workerKubeconfig: kubeconfig,
        adminKubeconfig: kubeconfig,
        dependencyUrl: `${sandbox.url}${dependencyHealthPath}`,
        probeVia: 'api-proxy',
        close: () => sandbox.close(),
      };
    },
    async () => {
      const plane = await startControlPlane({ scenario: 'bad-rollout', say: () => undefined });
      return {
        name: 'real control plane (kube-apiserver v1.34.2 + etcd 3.4, RBAC, kwok nodes)',
        workerKubeconfig: plane.workerKubeconfigPath,
        adminKubeconfig: plane.kubeconfigPath,
        dependencyUrl: plane.dependencyUrl,
        probeVia: 'pod-network',
        close: () => plane.close(),
      };
    },
  ];
  try {
    for (const start of targets) {
      const target = await start();
      try {
        lines.push(...(await measure(target, work)));
      } finally {
        await target.close();
      }
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
