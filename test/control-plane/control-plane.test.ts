// The real control plane beside the sandbox: the runbook's kubectl commands with
// the real kubectl against a real kube-apiserver, controller manager, scheduler
// and kwok nodes; every address of both clusters inside 127.0.0.0/8; and least
// privilege proven by the real RBAC authorizer with the worker's own token.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { isLoopback, isLoopbackRange } from '../../control-plane/addresses.js';
import { startControlPlane, type ControlPlane } from '../../control-plane/index.js';
import { FailureTypes } from '../../activities/types.js';
import { startSandbox, type ScenarioName } from '../../sandbox/index.js';
import { createActivities } from '../../activities/index.js';
import { writeKubeconfig } from '../../sandbox/kubeconfig.js';
import { eventually, inActivity, sandboxDeps, startCluster, service } from '../activities/helpers.js';
import { closedAfterUse } from '../helpers/test-scoped.js';

const run = promisify(execFile);
const deploy = 'agent-native-framework';
const selector = `app=${deploy}`;

interface Kubectl {
  (...args: string[]): Promise<string>;
  /** Runs and returns the exit code and stderr instead of throwing. */
  fails: (...args: string[]) => Promise<{ code: number; stderr: string }>;
}

function kubectlFor(kubeconfig: string): Kubectl {
  const ok = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' })).stdout;
  const fails = async (...args: string[]) => {
    try {
      await run('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' });
      return { code: 0, stderr: '' };
    } catch (err) {
      const e = err as { code?: number; stderr?: string };
      return { code: e.code ?? -1, stderr: e.stderr ?? '' };
    }
  };
  return Object.assign(ok, { fails });
}

const closeAfterUse = closedAfterUse();

async function plane(scenario: ScenarioName): Promise<{ cp: ControlPlane; admin: Kubectl; worker: Kubectl }> {
  const cp = await startControlPlane({
    scenario,
    timing: { rolloutMs: 300, crashLoopMs: 200 },
    say: (line) => process.stderr.write(`[control plane] ${line.trim()}\n`),
  });
  closeAfterUse(() => cp.close());
  return { cp, admin: kubectlFor(cp.kubeconfigPath), worker: kubectlFor(cp.workerKubeconfigPath) };
}

/** Every address a cluster shows: nodes, their pod ranges, pods and hosts, services, ingresses. */
async function addresses(k: Kubectl): Promise<{ what: string; value: string }[]> {
  const get = async (what: string, jsonpath: string) =>
    (await k('get', what, '-A', '-o', `jsonpath=${jsonpath}`))
      .split(/\s+/)
      .filter(Boolean)
      .map((value) => ({ what, value }));
  return [
    ...(await get('nodes', '{range .items[*]}{.status.addresses[?(@.type=="InternalIP")].address} {end}')),
    ...(await get('nodes', '{range .items[*]}{.spec.podCIDR} {end}')),
    ...(await get('pods', '{range .items[*]}{.status.podIP} {.status.hostIP} {end}')),
    ...(await get('services', '{range .items[*]}{.spec.clusterIP} {end}')),
    ...(await get('ingresses', '{range .items[*]}{.status.loadBalancer.ingress[*].ip} {end}')),
  ];
}

describe('every address of both clusters is inside 127.0.0.0/8', () => {
  it.each(['sandbox', 'real'] as const)('%s', async (kind) => {
    let k: Kubectl;
    if (kind === 'real') k = (await plane('healthy')).admin;
    else {
      const kubeconfigPath = join(mkdtempSync(join(tmpdir(), 'sandbox-')), 'kubeconfig');
      const sandbox = await startSandbox({ kubeconfigPath });
      closeAfterUse(() => sandbox.close());
      k = kubectlFor(kubeconfigPath);
    }
    const seen = await addresses(k);
    // Nodes, pod ranges, at least two pods with their hosts, the service and the kubernetes service, the ingress.
    expect(new Set(seen.map((s) => s.what))).toEqual(new Set(['nodes', 'pods', 'services', 'ingresses']));
    const outside = seen.filter((s) => !(s.value.includes('/') ? isLoopbackRange(s.value) : isLoopback(s.value)));
    expect(outside).toEqual([]);
  });
});

describe('two control planes on one machine', () => {
  it("take separate pod networks, so each one's probes reach its own pods", async () => {
    const [a, b] = await Promise.all([plane('healthy'), plane('healthy')]);
    const prefixes = await Promise.all(
      [a, b].map(async ({ admin }) => {
        const ips = (await admin('get', 'pods', '-l', selector, '-o', 'jsonpath={.items[*].status.podIP}')).split(' ').filter(Boolean);
        expect(ips).toHaveLength(2);
        return new Set(ips.map((ip) => ip.split('.').slice(0, 2).join('.')));
      }),
    );
    expect(prefixes[0]?.size).toBe(1);
    expect([...(prefixes[0] ?? [])][0]).not.toBe([...(prefixes[1] ?? [])][0]);
    // And each one's pods answer on their own addresses: both services are seen recovered.
    await eventually(
      async () => [a.cp.isRecovered(), b.cp.isRecovered()],
      (r) => expect(r).toEqual([true, true]),
    );
  });
});

describe('least privilege, by the real RBAC authorizer', () => {
  it('the worker token may do what the activities do, and nothing the runbook does not need', async () => {
    const { worker, cp } = await plane('healthy');
    const can = async (...args: string[]) => (await worker.fails('auth', 'can-i', ...args)).code === 0;
    // What the investigation and the fixes use.
    for (const verb of [
      ['get', 'deployments'],
      ['patch', 'deployments'],
      ['list', 'pods'],
      ['get', 'pods/log'],
      ['get', 'secrets'],
      ['patch', 'configmaps'],
      ['patch', 'services'],
      ['list', 'nodes'],
    ]) {
      expect(await can(...verb, '-n', 'default'), verb.join(' ')).toBe(true);
    }
    // What it never needs: refused.
    for (const verb of [
      ['delete', 'pods'],
      ['create', 'pods/exec'],
      ['create', 'deployments'],
      ['delete', 'deployments'],
      ['update', 'secrets'],
      ['create', 'pods/portforward'],
    ]) {
      expect(await can(...verb, '-n', 'default'), verb.join(' ')).toBe(false);
    }
    // Outside the namespaces rbac.yaml binds, not even reads (nor any secret).
    expect(await can('get', 'secrets', '-n', 'kube-system')).toBe(false);
    expect(await can('get', 'deployments', '-n', 'kube-system')).toBe(false);

    // And the API server refuses the real requests with 403.
    const pod = (await worker('get', 'pods', '-l', selector, '-o', 'name')).split('\n')[0] ?? '';
    const deleted = await worker.fails('delete', pod);
    expect(deleted.code).not.toBe(0);
    expect(deleted.stderr).toMatch(/Forbidden.*system:serviceaccount:incident-response:incident-worker.*cannot delete resource "pods"/);
    const exec = await worker.fails('exec', pod, '--', 'env');
    expect(exec.stderr).toMatch(/Forbidden.*cannot create resource "pods\/exec"/);
    const secret = await worker.fails('get', 'secret', '-n', 'kube-system');
    expect(secret.stderr).toMatch(/Forbidden.*cannot list resource "secrets".*"kube-system"/);
    expect(cp.audit().filter((e) => !e.dryRun)).toEqual([]);
  });

  it('a worker without the cluster-wide reads records the gap and investigates on', async () => {
    const { admin, cp } = await plane('oom');
    // A narrower account: the namespaced Role of rbac.yaml only, none of its ClusterRole (nodes, pods in every namespace).
    await admin('create', 'serviceaccount', 'narrow-worker', '-n', 'incident-response');
    await admin('create', 'rolebinding', 'narrow-worker', '-n', 'default', '--role=incident-worker', '--serviceaccount=incident-response:narrow-worker');
    const token = (await admin('create', 'token', 'narrow-worker', '-n', 'incident-response')).trim();
    const kubeconfigPath = join(mkdtempSync(join(tmpdir(), 'narrow-')), 'kubeconfig');
    writeKubeconfig(kubeconfigPath, cp.url, token, readFileSync(join(cp.dir, 'pki', 'apiserver.crt'), 'utf8'), 'local', 'narrow-worker');
    const activities = createActivities({
      ...sandboxDeps({ kubeconfigPath, dependencyUrl: cp.dependencyUrl }),
      probes: { ...sandboxDeps({ kubeconfigPath }).probes, via: 'pod-network' },
    });
    const resources = await inActivity(() => activities.inspectResources(service));
    expect(resources.nodes).toEqual([]);
    expect(resources.gaps).toEqual([
      "nodes: forbidden to the worker (no 'list' on nodes); node conditions and capacity unknown",
      'pods.metrics.k8s.io: not served by this cluster; memory and CPU use unknown (kubectl top needs metrics-server)',
      "pods: forbidden to the worker (no 'list' on pods); other namespaces' requests on the nodes unknown",
    ]);
    // What it may read is still there.
    expect(resources.quotas).toMatchObject([{ name: 'compute-resources' }]);
  });

  it('an incident in a namespace the worker may not read says so, and what to grant', async () => {
    const cluster = await startCluster('healthy', 'real');
    closeAfterUse(() => cluster.controls.close());
    const { activities, run } = cluster;
    const failure = await run(() => activities.inspectWorkload({ ...service, namespace: 'kube-system' })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect((failure as ApplicationFailure).type).toBe(FailureTypes.Forbidden);
    expect((failure as ApplicationFailure).nonRetryable).toBe(true);
    expect((failure as ApplicationFailure).message).toMatch(
      /^403 reading deployments\/agent-native-framework in kube-system: the worker's service account lacks 'get' on deployments .*grant it in deploy\/kubernetes\/rbac\.yaml$/,
    );
  });
});

describe("the runbook's kubectl commands on the real control plane", () => {
  it('healthy: steps 1 to 5, the service, the rollout history', async () => {
    const { admin: k } = await plane('healthy');
    expect(await k('get', 'deployment', deploy)).toMatch(new RegExp(`${deploy}\\s+2/2\\s+2\\s+2`));
    const described = await k('describe', 'deployment', deploy);
    expect(described).toMatch(/Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available \| 0 unavailable/);
    expect(described).toMatch(/StrategyType:\s+Recreate/);
    expect(await k('get', 'pods', '-l', selector)).toMatch(/1\/1\s+Running\s+0[\s\S]*1\/1\s+Running\s+0/);
    expect(await k('describe', 'pods', '-l', selector)).toMatch(/Normal\s+Started\s+.+?\s+kubelet\s+Started container agent-manager/);
    // Step 2: the logs, through the API server and the node's kubelet endpoint.
    expect((await k('logs', '-l', selector, '--tail=1')).trim().split('\n')).toHaveLength(2);
    expect(await k('logs', '-l', selector, '--tail=100')).toMatch(/agent-native-framework v1\.4\.2 starting/);
    // Step 3: nodes and quota; `top` needs metrics-server, which this control plane does not run.
    expect(await k('describe', 'nodes')).toMatch(/Ready\s+True/);
    expect(await k('describe', 'resourcequota')).toMatch(/requests\.memory\s+1Gi\s+8Gi/);
    expect((await k.fails('top', 'pods', '-l', selector)).stderr).toMatch(/Metrics API not available/);
    // Step 4 and 5.
    expect(await k('get', 'configmap', 'agent-config', '-o', 'yaml')).toMatch(/AGENT_MAX_WORKERS: "8"/);
    expect(await k('get', 'secret', 'agent-secrets')).toMatch(/agent-secrets\s+Opaque\s+2/);
    expect(await k('get', 'serviceaccount', deploy)).toMatch(new RegExp(deploy));
    expect((await k('describe', 'rolebinding,clusterrolebinding')).split('\n').filter((l) => l.includes(deploy)).length).toBeGreaterThan(0);
    expect(await k('get', 'ingress')).toMatch(/nginx\s+agent-native-framework\.example\.com\s+127\.0\.2\.10\s+80/);
    const history = await k('rollout', 'history', `deployment/${deploy}`);
    expect(history).toMatch(/1\s+release v1\.4\.1[\s\S]*2\s+release v1\.4\.2/);
    // The real endpoints controller cannot publish loopback pod addresses: the service shows none (see control-plane/addresses.ts).
    expect(await k('describe', 'service', deploy)).toMatch(/Endpoints:\s*(<none>)?\n/);
  });

  it('bad rollout: CrashLoopBackOff, exit code 1, the start-up error in the previous logs; rollout undo recovers', async () => {
    const { admin: k, cp } = await plane('bad-rollout');
    // The BackOff event follows the first failed restart: under load, a describe can come between them.
    await eventually(
      () => k('describe', 'pods', '-l', selector),
      (d) => {
        expect(d).toMatch(/Last State:\s+Terminated\n\s+Reason:\s+Error\n\s+Exit Code:\s+1/);
        expect(d).toMatch(/Warning\s+BackOff\s+.*Back-off restarting failed container agent-manager in pod/);
      },
    );
    expect(await k('logs', '-l', selector, '--previous', '--tail=50')).toMatch(/FATAL startup failed: Error: Cannot find module/);
    expect(await k('rollout', 'undo', `deployment/${deploy}`, '--to-revision=2')).toMatch(/rolled back/);
    // The seeded deployment's progress deadline is 5 s (sandbox/timing.ts), and the rollback
    // recreates every pod: on a loaded machine it can go 5 s without progress, and kubectl then
    // stops at once with "exceeded its progress deadline" (a CI run did) while the rollback goes on.
    // An operator runs it again; it succeeds once the rolled-back pods are available.
    await eventually(
      () => k('rollout', 'status', `deployment/${deploy}`, '--timeout=30s').catch((err: unknown) => String(err)),
      (out) => expect(out).toMatch(/successfully rolled out/),
      60_000,
    );
    await eventually(
      async () => cp.isRecovered(),
      (r) => expect(r).toBe(true),
    );
  }, 150_000);

  it('OOM: OOMKilled with exit code 137, and the runbook patch of the limit recovers', async () => {
    const { admin: k, cp } = await plane('oom');
    await eventually(
      () => k('describe', 'pods', '-l', selector),
      (d) => expect(d).toMatch(/Last State:\s+Terminated\n\s+Reason:\s+OOMKilled\n\s+Exit Code:\s+137/),
    );
    await k(
      'patch',
      'deployment',
      deploy,
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"agent-manager","resources":{"limits":{"memory":"4Gi"}}}]}}}}',
    );
    expect(await k('rollout', 'status', `deployment/${deploy}`, '--timeout=30s')).toMatch(/successfully rolled out/);
    await eventually(
      async () => cp.isRecovered(),
      (r) => expect(r).toBe(true),
    );
  });

  it('unschedulable: Pending pods with FailedScheduling for lack of memory', async () => {
    const { admin: k } = await plane('unschedulable');
    const events = await eventually(
      async () => (await k('describe', 'pods', '-l', selector)).split('Events:').slice(1).join('\n'),
      (e) => expect(e).toMatch(/Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/3 nodes are available: 3 Insufficient memory/),
    );
    expect(events).toBeTruthy();
    expect(await k('get', 'pods', '-l', selector)).toMatch(/0\/1\s+Pending/);
  });

  it('scaled to zero: 0/0, and kubectl scale recovers', async () => {
    const { admin: k, cp } = await plane('scaled-to-zero');
    expect(await k('get', 'deployment', deploy)).toMatch(new RegExp(`${deploy}\\s+0/0\\s+0\\s+0`));
    await k('scale', `deployment/${deploy}`, '--replicas=2');
    await eventually(
      async () => cp.isRecovered(),
      (r) => expect(r).toBe(true),
    );
  });
});
