// Investigation on the sandbox and on a real control plane: for every scenario, the seven read
// activities (in parallel, as the workflow runs them) report the findings the
// runbook's diagnosis needs, within their bounds, and never a planted secret.
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../activities/digest.js';
import { diagnose } from '../../workflows/diagnose.js';
import { FindingsSchema } from '../../workflows/domain.js';
import type { ScenarioName } from '../../sandbox/index.js';
import { clusterKinds, clustersForThisFile, eventually, expectNoCanary, investigate, type Investigation } from './helpers.js';

const app = 'agent-native-framework';

const allReady = (f: Investigation) => {
  expect(f.workload.pods).toHaveLength(2);
  expect(f.workload.pods.every((p) => p.ready && p.phase === 'Running')).toBe(true);
};
const crashing = (f: Investigation, reason: string, exitCode: number) => {
  expect(f.workload.readyReplicas).toBe(0);
  expect(f.workload.pods.length).toBeGreaterThan(0);
  for (const pod of f.workload.pods) expect(pod.lastTermination).toEqual({ reason, exitCode });
};

const scenarios: [ScenarioName, string, (f: Investigation) => void][] = [
  [
    'healthy',
    'all pods ready, endpoints and health 200, config and dependencies fine',
    (f) => {
      allReady(f);
      expect(f.health).toMatchObject({ service: { exists: true, endpoints: 2 }, live: { status: 200 }, ready: { status: 200 }, metricsUp: true });
      expect(f.health.direct).toBeUndefined();
      expect(f.config.missingEnv).toEqual([]);
      expect(f.config.configMaps).toMatchObject([{ name: 'agent-config', exists: true, drift: [] }]);
      // Step 4 out of the box: `env | grep -E "(ANTHROPIC|LOG|AGENT)"`, secrets by presence only.
      expect(f.config.env).toEqual([
        { variable: 'AGENT_MAX_WORKERS', source: 'configMap', object: 'agent-config', present: true, value: '8' },
        { variable: 'AGENT_SIGNING_KEY', source: 'secret', object: 'agent-secrets', present: true },
        { variable: 'AGENT_TIMEOUT_SECONDS', source: 'configMap', object: 'agent-config', present: true, value: '30' },
        { variable: 'ANTHROPIC_API_KEY', source: 'secret', object: 'agent-secrets', present: true },
        { variable: 'ANTHROPIC_BASE_URL', source: 'configMap', object: 'agent-config', present: true, value: 'https://api.anthropic.com' },
        { variable: 'LOG_LEVEL', source: 'configMap', object: 'agent-config', present: true, value: 'info' },
      ]);
      // Step 5 out of the box: the runbook's dependency as a pod sees it, without the worker dialling it.
      expect(f.dependencies.probes).toEqual([
        { name: 'anthropic', url: 'https://api.anthropic.com/v1/health', ok: true, from: expect.stringMatching(/^pod\/agent-native-framework-/) as string },
      ]);
      expect(f.dependencies.unchecked).toBeUndefined();
      expect(f.dependencies.serviceAccount).toEqual({ name: app, exists: true });
      expect(f.dependencies.roleBindings).toContain(`RoleBinding/${app}`);
    },
  ],
  [
    'bad-rollout',
    'crash loop with exit code 1 on the newest revision; the previous revision is in the history; previous logs say why',
    (f) => {
      crashing(f, 'Error', 1);
      const [current, previous] = f.workload.revisions;
      expect(current?.revision).toBe(f.workload.currentRevision);
      expect(previous?.images).not.toEqual(current?.images);
      expect(f.workload.pods.every((p) => p.revision === f.workload.currentRevision)).toBe(true);
      expect(f.logs.fatalCount).toBeGreaterThan(0);
      expect(f.logs.lastErrorLines.some((l) => l.previous && /FATAL startup failed/.test(l.line))).toBe(true);
      // RCA: grep -B5 -A5 "ERROR\|FATAL" keeps the lines that led to the crash, from the previous container.
      const block = f.logs.contextExcerpts?.find((e) => e.previous && e.lines.some((l) => /FATAL startup failed/.test(l)));
      expect(block?.lines[0]).toMatch(/INFO +agent-native-framework .* starting/);
      expect(f.events.events.some((e) => e.reason === 'BackOff')).toBe(true);
    },
  ],
  [
    'oom',
    'crash loop with OOMKilled (137), memory use near the limit',
    (f) => {
      crashing(f, 'OOMKilled', 137);
      if (f.resources.gaps === undefined) {
        // The sandbox serves metrics.k8s.io, as a cluster with metrics-server does.
        expect(f.resources.podUsage.length).toBeGreaterThan(0);
        for (const usage of f.resources.podUsage) expect(usage.memoryBytes / (usage.memoryLimitBytes ?? Infinity)).toBeGreaterThan(0.9);
      } else {
        // The real control plane runs no metrics-server: the findings say usage is unknown, and nothing more.
        expect(f.resources.podUsage).toEqual([]);
        expect(f.resources.gaps).toEqual([expect.stringMatching(/^pods\.metrics\.k8s\.io: not served by this cluster; memory and CPU use unknown/) as string]);
      }
    },
  ],
  [
    'missing-secret',
    'the secret lacks ANTHROPIC_API_KEY, which the pods need; the logs say so',
    (f) => {
      crashing(f, 'Error', 1);
      expect(f.config.secrets).toEqual([{ name: 'agent-secrets', exists: true, keys: ['AGENT_SIGNING_KEY'] }]);
      expect(f.config.missingEnv).toEqual([{ variable: 'ANTHROPIC_API_KEY', source: 'secret', object: 'agent-secrets', key: 'ANTHROPIC_API_KEY' }]);
      expect(f.config.env?.find((e) => e.variable === 'ANTHROPIC_API_KEY')).toEqual({
        variable: 'ANTHROPIC_API_KEY',
        source: 'secret',
        object: 'agent-secrets',
        present: false,
      });
      // No pod runs to ask about the dependency: step 5 says so rather than guessing.
      expect(f.dependencies.probes).toEqual([]);
      expect(f.dependencies.unchecked).toEqual([
        { name: 'anthropic', url: 'https://api.anthropic.com/v1/health', reason: 'no pod answered /health/ready with its checks' },
      ]);
      expect(f.logs.lastErrorLines.some((l) => /ANTHROPIC_API_KEY is not set/.test(l.line))).toBe(true);
    },
  ],
  [
    'config-error',
    'the config map drifted from its last applied value; the logs name the bad key',
    (f) => {
      crashing(f, 'Error', 1);
      const [configMap] = f.config.configMaps;
      expect(configMap?.drift).toEqual([{ key: 'AGENT_MAX_WORKERS', current: 'eight', lastApplied: '8', lastAppliedSha256: sha256('8') }]);
      expect(configMap?.lastApplied?.AGENT_MAX_WORKERS).toBe('8');
      expect(f.logs.lastErrorLines.some((l) => /invalid value for AGENT_MAX_WORKERS/.test(l.line))).toBe(true);
    },
  ],
  [
    'scaled-to-zero',
    'no pods, zero desired replicas',
    (f) => {
      expect(f.workload).toMatchObject({ exists: true, desiredReplicas: 0, readyReplicas: 0, pods: [] });
      expect(f.health.service.endpoints).toBe(0);
    },
  ],
  [
    'unschedulable',
    'pods Pending with FailedScheduling, the reason in the scheduling failures',
    (f) => {
      expect(f.workload.pods.length).toBeGreaterThan(0);
      expect(f.workload.pods.every((p) => p.phase === 'Pending')).toBe(true);
      expect(f.resources.schedulingFailures.join('\n')).toMatch(/Insufficient memory/);
      expect(f.events.events.some((e) => e.reason === 'FailedScheduling')).toBe(true);
    },
  ],
  [
    'selector-mismatch',
    'pods ready, but the service selects none of them: no endpoints, health via the service fails, the pods answer directly',
    (f) => {
      allReady(f);
      expect(f.health.service.endpoints).toBe(0);
      expect(f.health.service.selector).not.toEqual(f.health.podLabels);
      expect(f.health.podLabels).toEqual({ app });
      expect(f.health.live).toEqual({ status: 503, body: `no endpoints available for service "${app}"` });
      expect(f.health.direct).toMatchObject({ live: { status: 200 }, ready: { status: 200 } });
    },
  ],
  [
    'latency-regression',
    'at first the bad release of bad-rollout (the slow-down comes after the rollback): crash loop on the newest revision, the previous one in the history',
    (f) => {
      crashing(f, 'Error', 1);
      const [current, previous] = f.workload.revisions;
      expect(current?.revision).toBe(f.workload.currentRevision);
      expect(previous?.images).not.toEqual(current?.images);
    },
  ],
  [
    'dependency-down',
    'pods running but unready; the dependency probe fails and /health/ready names it',
    (f) => {
      expect(f.workload.pods.every((p) => p.phase === 'Running' && !p.ready)).toBe(true);
      expect(f.dependencies.probes).toMatchObject([
        { name: 'anthropic', url: 'https://api.anthropic.com/v1/health', ok: false, status: 503, from: expect.stringMatching(/^pod\//) as string },
      ]);
      expect(f.dependencies.probes[0]?.error).toMatch(/unreachable/);
      expect(f.health.direct?.ready.status).toBe(503);
      expect(f.health.direct?.ready.body).toMatch(/anthropic.*unreachable/);
    },
  ],
  [
    'cpu-starved',
    'pods running, never ready and never restarted; CPU limit 100m, usage at the limit where kubectl top works; readiness probes fail; diagnosed as resource-starved',
    (f) => {
      expect(f.workload.pods.length).toBeGreaterThan(0);
      expect(f.workload.pods.every((p) => p.phase === 'Running' && !p.ready && p.lastTermination === undefined)).toBe(true);
      expect(f.workload.containers[0]).toMatchObject({ requests: { cpu: '50m', memory: '256Mi' }, limits: { cpu: '100m', memory: '2Gi' } });
      if (f.resources.gaps === undefined) {
        expect(f.resources.podUsage.length).toBeGreaterThan(0);
        for (const usage of f.resources.podUsage) expect(usage.cpuMillis).toBe(100);
      } else {
        expect(f.resources.gaps.join('\n')).toMatch(/kubectl top needs metrics-server/);
      }
      expect(f.events.events.some((e) => e.reason === 'Unhealthy' && /Readiness probe failed/.test(e.message))).toBe(true);
      expect(f.health.direct).toMatchObject({ live: { status: 200 }, ready: { status: 503 } });
      expect(f.health.direct?.ready.body).toMatch(/loading agent registry/);
      expect(diagnose({ collectedAt: new Date().toISOString(), ...f }).category).toBe('resource-starved');
    },
  ],
  [
    'release-5xx',
    'pods of the newest revision running, live but never ready; the service and its ingress have no backend; the logs say why',
    (f) => {
      expect(f.workload.pods.every((p) => p.phase === 'Running' && !p.ready && p.revision === f.workload.currentRevision)).toBe(true);
      expect(f.workload.pods.every((p) => p.restarts === 0 && p.lastTermination === undefined)).toBe(true);
      expect(f.workload.revisions[1]?.images).not.toEqual(f.workload.revisions[0]?.images);
      expect(f.health.service.endpoints).toBe(0);
      expect(f.health.ingresses).toEqual([{ name: app, hosts: [`${app}.example.com`] }]);
      expect(f.health.direct).toMatchObject({ live: { status: 200 }, ready: { status: 503 } });
      expect(f.health.direct?.ready.body).toMatch(/agent store schema v7/);
      expect(f.logs.lastErrorLines.some((l) => /500 internal error/.test(l.line))).toBe(true);
    },
  ],
];

describe.each(clusterKinds)('investigation on the %s cluster', (kind) => {
  const start = clustersForThisFile(kind);

  it.each(scenarios)('%s: %s', async (scenario, _what, expectations) => {
    const cluster = await start(scenario);
    const findings = await eventually(() => cluster.run(() => investigate(cluster.activities)), expectations);

    // Compact and well-formed: what goes into the workflow history.
    expect(() => FindingsSchema.parse({ collectedAt: new Date().toISOString(), ...findings })).not.toThrow();
    expect(findings.workload.pods.length).toBeLessThanOrEqual(20);
    expect(findings.workload.revisions.length).toBeLessThanOrEqual(10);
    expect(findings.logs.lastErrorLines.length).toBeLessThanOrEqual(20);
    expect(findings.events.events.length).toBeLessThanOrEqual(20);
    expect(JSON.stringify(findings).length).toBeLessThan(24_000);

    expectNoCanary(cluster, findings);
  });
});
