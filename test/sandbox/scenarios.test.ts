// Each scenario shows the runbook's symptoms, survives the wrong fixes, and
// recovers when, and only when, the right fix is applied (architecture §7).
import { PatchStrategy, setHeaderOptions, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { scenarioNames, type ScenarioName } from '../../sandbox/index.js';
import { api, sandboxFor, staysBroken, timing, waitFor, type TestSandbox } from './helpers.js';

const namespace = 'default';
const name = 'agent-native-framework';
const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

type Fix = (t: TestSandbox) => Promise<unknown>;

// ---- fixes, as the product's activities would apply them ----

const restart: Fix = (t) =>
  t.apps.patchNamespacedDeployment(
    { name, namespace, body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } } },
    strategic,
  );

const scaleTo =
  (replicas: number): Fix =>
  (t) =>
    t.apps.patchNamespacedDeploymentScale({ name, namespace, body: { spec: { replicas } } }, merge);

const memoryLimit =
  (memory: string): Fix =>
  (t) =>
    t.apps.patchNamespacedDeployment(
      { name, namespace, body: { spec: { template: { spec: { containers: [{ name: 'agent-manager', resources: { limits: { memory } } }] } } } } },
      strategic,
    );

/** The runbook's "Resource Issues" patch (Resolution step 2). */
const runbookResources: Fix = (t) =>
  t.apps.patchNamespacedDeployment(
    {
      name,
      namespace,
      body: {
        spec: {
          template: {
            spec: {
              containers: [{ name: 'agent-manager', resources: { requests: { memory: '1Gi', cpu: '500m' }, limits: { memory: '4Gi', cpu: '2000m' } } }],
            },
          },
        },
      },
    },
    strategic,
  );

/** kubectl rollout undo [--to-revision]: a revision's template by JSON patch (default: the previous one). */
const rollback =
  (toRevision?: number): Fix =>
  async (t) => {
    const all = await t.apps.listNamespacedReplicaSet({ namespace, labelSelector: `app=${name}` });
    const revision = (rs: V1ReplicaSet) => Number(rs.metadata?.annotations?.['deployment.kubernetes.io/revision']);
    const sorted = [...all.items].sort((a, b) => revision(b) - revision(a));
    const target = (toRevision === undefined ? sorted[1] : sorted.find((rs) => revision(rs) === toRevision)) as V1ReplicaSet;
    const template = structuredClone(target.spec?.template);
    delete template?.metadata?.labels?.['pod-template-hash'];
    return t.apps.patchNamespacedDeployment({ name, namespace, body: [{ op: 'replace', path: '/spec/template', value: template }] });
  };

const restoreSecret: Fix = (t) =>
  t.core.patchNamespacedSecret(
    { name: 'agent-secrets', namespace, body: { data: { ANTHROPIC_API_KEY: Buffer.from('sk-ant-restored-by-a-human').toString('base64') } } },
    merge,
  );

/** Back to the map's last applied value, as the runbook's diagnosis proposes. */
const restoreConfig: Fix = async (t) => {
  const cm = await t.core.readNamespacedConfigMap({ name: 'agent-config', namespace });
  const applied = JSON.parse(cm.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '{}') as { data: Record<string, string> };
  return t.core.patchNamespacedConfigMap({ name: 'agent-config', namespace, body: { data: applied.data } }, merge);
};

const debugLogging: Fix = (t) => t.core.patchNamespacedConfigMap({ name: 'agent-config', namespace, body: { data: { LOG_LEVEL: 'DEBUG' } } }, merge);

/** A human adds capacity: a new node joins the cluster. */
const addNode: Fix = (t) =>
  t.core.createNode({
    body: {
      metadata: { name: 'node-extra', labels: { 'kubernetes.io/hostname': 'node-extra' } },
      status: {
        capacity: { cpu: '8', memory: '32Gi', pods: '110' },
        allocatable: { cpu: '8', memory: '32Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    },
  });

const fixSelector: Fix = (t) => t.core.patchNamespacedService({ name, namespace, body: { spec: { selector: { app: name } } } }, merge);

const dependencyBack: Fix = async (t) => t.sandbox.heal();

const all =
  (...fixes: Fix[]): Fix =>
  async (t) => {
    for (const f of fixes) await f(t);
  };

// ---- symptoms ----

async function pods(t: TestSandbox): Promise<V1Pod[]> {
  return (await t.core.listNamespacedPod({ namespace, labelSelector: `app=${name}` })).items.filter((p) => !p.metadata?.deletionTimestamp);
}

const lastTermination = async (t: TestSandbox) => (await pods(t)).map((p) => p.status?.containerStatuses?.[0]?.lastState?.terminated);

async function previousLogs(t: TestSandbox): Promise<string> {
  const [pod] = await pods(t);
  return t.core.readNamespacedPodLog({ name: pod?.metadata?.name ?? '', namespace, previous: true });
}

async function crashLoop(t: TestSandbox, exitCode: number, reason: string): Promise<boolean> {
  const terminated = await lastTermination(t);
  return terminated.length === 2 && terminated.every((s) => s?.exitCode === exitCode && s.reason === reason);
}

interface Case {
  scenario: ScenarioName;
  symptoms: (t: TestSandbox) => Promise<boolean>;
  wrong: [string, Fix][];
  right: Fix;
}

const cases: Case[] = [
  {
    scenario: 'bad-rollout',
    symptoms: async (t) => (await crashLoop(t, 1, 'Error')) && (await previousLogs(t)).includes('Cannot find module'),
    wrong: [
      ['restart', restart],
      ['scale up to 4', scaleTo(4)],
      // After the restart above the previous revision is the broken one again: undoing to it changes nothing.
      ['rollback to the previous (broken) revision', rollback()],
    ],
    right: rollback(2),
  },
  {
    scenario: 'oom',
    symptoms: async (t) => crashLoop(t, 137, 'OOMKilled'),
    wrong: [
      ['restart', restart],
      ['rollback', rollback()],
      ['a limit raised not enough (2.5Gi)', memoryLimit('2560Mi')],
    ],
    right: memoryLimit('4Gi'),
  },
  {
    scenario: 'cpu-starved',
    symptoms: async (t) => {
      const ps = await pods(t);
      const running = ps.length === 2 && ps.every((p) => p.status?.phase === 'Running' && !p.status.containerStatuses?.[0]?.ready);
      const restarts = ps.reduce((n, p) => n + (p.status?.containerStatuses?.[0]?.restartCount ?? 0), 0);
      const ready = await api(t.sandbox, `/api/v1/namespaces/${namespace}/pods/${ps[0]?.metadata?.name}:8080/proxy/health/ready`);
      return running && restarts === 0 && ready.status === 503 && ready.text.includes('loading agent registry');
    },
    wrong: [
      ['restart', restart],
      ['scale up to 4', scaleTo(4)],
      // The OOM quick fix: memory was never the problem.
      ['a memory limit of 4Gi', memoryLimit('4Gi')],
    ],
    right: runbookResources,
  },
  {
    scenario: 'missing-secret',
    symptoms: async (t) => (await crashLoop(t, 1, 'Error')) && (await previousLogs(t)).includes('ANTHROPIC_API_KEY is not set'),
    wrong: [
      ['restart', restart],
      ['rollback', rollback()],
      ['restoring the secret without a restart', restoreSecret],
    ],
    right: restart,
  },
  {
    scenario: 'config-error',
    symptoms: async (t) => (await crashLoop(t, 1, 'Error')) && (await previousLogs(t)).includes('AGENT_MAX_WORKERS'),
    wrong: [
      ['restart', restart],
      ['LOG_LEVEL=DEBUG and restart', all(debugLogging, restart)],
      ['restoring the config without a restart', restoreConfig],
    ],
    right: restart,
  },
  {
    scenario: 'scaled-to-zero',
    symptoms: async (t) => (await pods(t)).length === 0 && (await t.apps.readNamespacedDeployment({ name, namespace })).spec?.replicas === 0,
    wrong: [
      ['restart', restart],
      ['rollback', rollback()],
    ],
    right: scaleTo(2),
  },
  {
    scenario: 'unschedulable',
    symptoms: async (t) => {
      const ps = await pods(t);
      const events = await t.core.listNamespacedEvent({ namespace, fieldSelector: 'reason=FailedScheduling' });
      return (
        ps.length === 2 &&
        ps.every((p) => p.status?.phase === 'Pending' && !p.spec?.nodeName) &&
        events.items.some((e) => e.message?.includes('Insufficient memory'))
      );
    },
    wrong: [
      ['restart', restart],
      ['scale up to 4', scaleTo(4)],
    ],
    right: addNode,
  },
  {
    scenario: 'selector-mismatch',
    symptoms: async (t) => {
      const ready = (await pods(t)).every((p) => p.status?.containerStatuses?.[0]?.ready);
      const ep = await t.core.readNamespacedEndpoints({ name, namespace });
      const health = await api(t.sandbox, `/api/v1/namespaces/${namespace}/services/${name}:8080/proxy/health/live`);
      return ready && !ep.subsets?.length && health.status === 503;
    },
    wrong: [
      ['restart', restart],
      ['scale up to 4', scaleTo(4)],
    ],
    right: fixSelector,
  },
  {
    scenario: 'dependency-down',
    symptoms: async (t) => {
      const ps = await pods(t);
      const running = ps.length === 2 && ps.every((p) => p.status?.phase === 'Running' && !p.status.containerStatuses?.[0]?.ready);
      const ready = await api(t.sandbox, `/api/v1/namespaces/${namespace}/pods/${ps[0]?.metadata?.name}:8080/proxy/health/ready`);
      const dependency = await fetch(`${t.sandbox.url}/sandbox/dependencies/anthropic/v1/health`);
      return running && ready.status === 503 && ready.text.includes('anthropic') && dependency.status === 503;
    },
    wrong: [
      ['restart', restart],
      ['rollback', rollback()],
      ['scale up to 4', scaleTo(4)],
    ],
    right: dependencyBack,
  },
];

// A wrong fix has had its chance once a rollout and a few crash loops have passed.
const settleMs = 3 * timing.rolloutMs + 3 * timing.crashLoopMs;

describe.concurrent('scenarios recover with the right fix only', () => {
  it.each(cases)('$scenario', async ({ scenario, symptoms, wrong, right }) => {
    const t = await sandboxFor({ scenario });
    try {
      expect(t.sandbox.isRecovered()).toBe(false);
      await waitFor(`the symptoms of ${scenario}`, () => symptoms(t));
      for (const [, fix] of wrong) {
        await fix(t);
        await staysBroken(t.sandbox, settleMs);
      }
      // The second half of a two-step fix (restore, then restart) comes after its first half above.
      await right(t);
      await waitFor(`recovery from ${scenario}`, () => t.sandbox.isRecovered(), 30_000);
    } finally {
      await t.close();
    }
  });
});

describe('heal', () => {
  // Every way the sandbox breaks, so a new scenario cannot be left out.
  it.each(scenarioNames.filter((s) => s !== 'healthy'))('brings %s back to healthy at run time', async (scenario) => {
    const t = await sandboxFor();
    try {
      t.sandbox.break(scenario);
      await waitFor('the break to show', () => !t.sandbox.isRecovered());
      t.sandbox.heal();
      await waitFor('recovery', () => t.sandbox.isRecovered(), 30_000);
    } finally {
      await t.close();
    }
  });
});
