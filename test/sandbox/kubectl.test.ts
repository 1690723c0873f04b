// The runbook's kubectl commands (all but exec and port-forward), run with the
// real kubectl 1.32 against the sandbox, in the scenarios where they matter,
// checking the output a real cluster would give.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { sandboxFor, waitFor, type TestSandbox } from './helpers.js';

const deploy = 'agent-native-framework';
const selector = `app=${deploy}`;
const proxy = (port: number, path: string) => `/api/v1/namespaces/default/services/${deploy}:${port}/proxy/${path}`;

/** Rows of a kubectl table, split on the runs of spaces between columns. */
function rows(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/));
}

function withSandbox(options: Parameters<typeof sandboxFor>[0]): () => TestSandbox {
  let t: TestSandbox | undefined;
  beforeAll(async () => {
    t = await sandboxFor(options);
  });
  afterAll(() => t?.close());
  return () => {
    if (!t) throw new Error('sandbox not started');
    return t;
  };
}

async function ok(t: TestSandbox, ...args: string[]): Promise<string> {
  const r = await t.kubectl(...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

describe('kubectl on a healthy service', () => {
  const t = withSandbox({});

  it('step 1: get and describe the deployment and its pods', async () => {
    expect(rows(await ok(t(), 'get', 'deployment', deploy))).toEqual([
      ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'],
      [deploy, '2/2', '2', '2', '45d'],
    ]);
    const described = await ok(t(), 'describe', 'deployment', deploy);
    expect(described).toMatch(/Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available \| 0 unavailable/);
    expect(described).toMatch(/StrategyType:\s+Recreate/);
    expect(described).toMatch(/agent-config\s+ConfigMap\s+Optional: false/);
    expect(described).toMatch(/Available\s+True\s+MinimumReplicasAvailable/);
    expect(described).toMatch(/NewReplicaSet:\s+agent-native-framework-\w+ \(2\/2 replicas created\)/);
    const pods = rows(await ok(t(), 'get', 'pods', '-l', selector));
    expect(pods[0]).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    expect(pods.slice(1).map((r) => r.slice(1, 4))).toEqual([
      ['1/1', 'Running', '0'],
      ['1/1', 'Running', '0'],
    ]);
    const describedPods = await ok(t(), 'describe', 'pods', '-l', selector);
    expect(describedPods).toMatch(/Controlled By:\s+ReplicaSet\/agent-native-framework-\w+/);
    expect(describedPods).toMatch(/State:\s+Running/);
    expect(describedPods).toMatch(/Normal\s+Started\s+.+?\s+kubelet\s+Started container agent-manager/);
  });

  it('step 2: reads the logs of all pods with --tail and --since', async () => {
    const logs = await ok(t(), 'logs', '-l', selector, '--tail=100');
    expect(logs).toContain('agent-native-framework v1.4.2 starting');
    expect(logs).toContain('ready: accepting agent runs');
    expect(await ok(t(), 'logs', '-l', selector, '--since=1h')).toContain('starting');
    expect((await ok(t(), 'logs', '-l', selector, '--tail=1')).trim().split('\n')).toHaveLength(2);
  });

  it('step 3: nodes, pod usage and the quota', async () => {
    const nodes = await ok(t(), 'describe', 'nodes');
    expect(nodes.match(/^Name:\s+node-\d$/gm)).toHaveLength(3);
    expect(nodes).toMatch(/Ready\s+True\s+.*KubeletReady\s+kubelet is posting ready status/);
    expect(nodes).toMatch(/Non-terminated Pods:\s+\(1 in total\)/);
    expect(nodes).toMatch(/default\s+agent-native-framework-\S+\s+250m \(6%\)\s+1 \(25%\)\s+512Mi \(3%\)\s+2Gi \(13%\)/);
    expect(nodes).toMatch(/memory\s+512Mi \(3%\)\s+2Gi \(13%\)/);
    const top = rows(await ok(t(), 'top', 'pods', '-l', selector));
    expect(top[0]).toEqual(['NAME', 'CPU(cores)', 'MEMORY(bytes)']);
    expect(top.slice(1).every((r) => /^\d+m$/.test(r[1] ?? '') && /^\d+Mi$/.test(r[2] ?? ''))).toBe(true);
    expect(top).toHaveLength(3);
    const quota = await ok(t(), 'describe', 'resourcequota');
    expect(quota).toMatch(/Name:\s+compute-resources/);
    expect(quota).toMatch(/limits\.memory\s+4Gi\s+16Gi/);
    expect(quota).toMatch(/pods\s+2\s+20/);
  });

  it('step 4: config map as YAML, the secret, the service account', async () => {
    const cm = parse(await ok(t(), 'get', 'configmap', 'agent-config', '-o', 'yaml')) as {
      data: Record<string, string>;
      metadata: { annotations: Record<string, string>; managedFields?: unknown };
    };
    expect(cm.data.LOG_LEVEL).toBe('info');
    expect(JSON.parse(cm.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'] ?? '')).toMatchObject({ data: cm.data });
    expect(rows(await ok(t(), 'get', 'secret', 'agent-secrets'))).toEqual([
      ['NAME', 'TYPE', 'DATA', 'AGE'],
      ['agent-secrets', 'Opaque', '2', '45d'],
    ]);
    expect(rows(await ok(t(), 'get', 'serviceaccount', deploy))).toEqual([
      ['NAME', 'SECRETS', 'AGE'],
      [deploy, '0', '45d'],
    ]);
  });

  it('step 5: role bindings and cluster role bindings that name the service account', async () => {
    const out = await ok(t(), 'describe', 'rolebinding,clusterrolebinding');
    const matching = out.split('\n').filter((l) => l.includes(deploy));
    expect(matching.length).toBeGreaterThanOrEqual(4);
    expect(out).toMatch(/Kind:\s+Role\n\s+Name:\s+agent-native-framework/);
    expect(out).toMatch(/ServiceAccount\s+agent-native-framework\s+default/);
  });

  it('service, ingress, events, and the health endpoints through the service proxy', async () => {
    const svc = rows(await ok(t(), 'get', 'service', deploy));
    expect(svc[1]).toEqual([deploy, 'ClusterIP', expect.stringMatching(/^127\.96\./) as string, '<none>', '8080/TCP,8000/TCP', '45d']);
    expect(await ok(t(), 'describe', 'service', deploy)).toMatch(/Endpoints:\s+127\.244\.\d+\.\d+:8080,127\.244\.\d+\.\d+:8080/);
    expect(rows(await ok(t(), 'get', 'ingress'))[1]).toEqual([deploy, 'nginx', `${deploy}.example.com`, '127.0.2.10', '80', '45d']);
    const events = rows(await ok(t(), 'get', 'events', '--sort-by=.metadata.creationTimestamp'));
    expect(events[0]).toEqual(['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
    expect(events.slice(1).map((e) => e[2])).toEqual(expect.arrayContaining(['Scheduled', 'Started', 'SuccessfulCreate']));
    expect(JSON.parse(await ok(t(), 'get', '--raw', proxy(8080, 'health/live')))).toEqual({ status: 'ok' });
    expect(JSON.parse(await ok(t(), 'get', '--raw', proxy(8080, 'health/ready')))).toMatchObject({ status: 'ready' });
    const metrics = await ok(t(), 'get', '--raw', proxy(8000, 'metrics'));
    expect(metrics).toContain('# TYPE http_requests_total counter');
    expect(metrics).toMatch(/http_request_duration_seconds_bucket\{route="\/v1\/agents\/run",le="\+Inf"\} \d+/);
  });

  it('watches pods with get -w', async () => {
    const child = spawn('kubectl', ['--kubeconfig', t().kubeconfig, '--cache-dir', `${t().dir}/kube-cache`, 'get', 'pods', '-l', selector, '-w']);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await waitFor('the watched pods', () => out.split('\n').filter((l) => l.includes('Running')).length >= 2);
    child.kill();
    expect(out.split('\n')[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
  });

  it('rollout restart, scale, set image and rollout history/status', async () => {
    expect(await ok(t(), 'rollout', 'restart', 'deployment', deploy)).toBe(`deployment.apps/${deploy} restarted\n`);
    expect(await ok(t(), 'rollout', 'status', 'deployment', deploy, '--timeout=30s')).toContain(`deployment "${deploy}" successfully rolled out`);
    expect(await ok(t(), 'scale', 'deployment', deploy, '--replicas=4')).toBe(`deployment.apps/${deploy} scaled\n`);
    await ok(t(), 'rollout', 'status', 'deployment', deploy, '--timeout=30s');
    expect(rows(await ok(t(), 'get', 'deployment', deploy))[1]?.slice(1, 4)).toEqual(['4/4', '4', '4']);
    expect(await ok(t(), 'set', 'image', `deployment/${deploy}`, 'agent-manager=agent-native-framework:hotfix-v1.0.1')).toBe(
      `deployment.apps/${deploy} image updated\n`,
    );
    await ok(t(), 'rollout', 'status', 'deployment', deploy, '--timeout=30s');
    const history = rows(await ok(t(), 'rollout', 'history', 'deployment', deploy));
    expect(history[1]).toEqual(['REVISION', 'CHANGE-CAUSE']);
    expect(history.slice(2).map((r) => r[0])).toEqual(['1', '2', '3', '4']);
    const revision4 = await ok(t(), 'rollout', 'history', 'deployment', deploy, '--revision=4');
    expect(revision4).toContain('Image:\tagent-native-framework:hotfix-v1.0.1');
    expect(t().sandbox.isRecovered()).toBe(true);
    const managers = t()
      .sandbox.audit()
      .map((e) => e.fieldManager);
    expect(managers).toEqual(expect.arrayContaining(['kubectl-rollout', 'kubectl-set']));
  });

  it('patches memory limits and a config map, as the runbook does', async () => {
    const patch =
      '{"spec":{"template":{"spec":{"containers":[{"name":"agent-manager","resources":{"requests":{"memory":"1Gi","cpu":"500m"},"limits":{"memory":"4Gi","cpu":"2000m"}}}]}}}}';
    expect(await ok(t(), 'patch', 'deployment', deploy, '-p', patch)).toBe(`deployment.apps/${deploy} patched\n`);
    await ok(t(), 'rollout', 'status', 'deployment', deploy, '--timeout=30s');
    const container = (
      JSON.parse(await ok(t(), 'get', 'deployment', deploy, '-o', 'json')) as {
        spec: { template: { spec: { containers: { resources: unknown; image: string }[] } } };
      }
    ).spec.template.spec.containers[0];
    expect(container).toMatchObject({
      image: 'agent-native-framework:hotfix-v1.0.1',
      resources: { requests: { memory: '1Gi', cpu: '500m' }, limits: { memory: '4Gi', cpu: '2000m' } },
    });
    expect(await ok(t(), 'patch', 'configmap', 'agent-config', '-p', '{"data":{"LOG_LEVEL":"DEBUG"}}')).toBe('configmap/agent-config patched\n');
    await ok(t(), 'rollout', 'restart', 'deployment', deploy);
    await ok(t(), 'rollout', 'status', 'deployment', deploy, '--timeout=30s');
    expect(await ok(t(), 'logs', '-l', selector, '--tail=100')).toContain('LOG_LEVEL=DEBUG');
  });

  it('reports errors as a real API server does', async () => {
    const missing = await t().kubectl('get', 'deployment', 'nope');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('Error from server (NotFound): deployments.apps "nope" not found');
    const invalid = await t().kubectl('scale', 'deployment', deploy, '--replicas=-1');
    expect(invalid.code).not.toBe(0);
    const noPods = await t().kubectl('get', 'pods', '-l', 'app=nothing');
    expect(noPods.stderr).toContain('No resources found in default namespace.');
  });
});

describe('kubectl on a bad rollout', () => {
  const t = withSandbox({ scenario: 'bad-rollout' });

  it('shows CrashLoopBackOff, exit code 1 and the start-up error in the previous logs', async () => {
    const pods = rows(await ok(t(), 'get', 'pods', '-l', selector));
    expect(pods.slice(1).every((r) => r[1] === '0/1' && ['CrashLoopBackOff', 'Running'].includes(r[2] ?? '') && /^\d+( \(\S+ ago\))?$/.test(r[3] ?? ''))).toBe(
      true,
    );
    await waitFor('CrashLoopBackOff', async () => (await ok(t(), 'get', 'pods', '-l', selector)).includes('CrashLoopBackOff'));
    const described = await ok(t(), 'describe', 'pods', '-l', selector);
    expect(described).toMatch(/Last State:\s+Terminated\n\s+Reason:\s+Error\n\s+Exit Code:\s+1/);
    expect(described).toMatch(/Warning\s+BackOff\s+.*Back-off restarting failed container agent-manager in pod/);
    const previous = await ok(t(), 'logs', '-l', selector, '--previous');
    expect(previous).toContain("FATAL startup failed: Error: Cannot find module '/app/dist/agents/registry.js'");
    const health = await t().kubectl('get', '--raw', proxy(8080, 'health/live'));
    expect(health.code).not.toBe(0);
    expect(health.stderr).toContain('Error from server (ServiceUnavailable): no endpoints available for service "agent-native-framework"');
  });

  it('rolls back with rollout undo, reusing the old replica set under a new revision', async () => {
    const failing = await t().kubectl('rollout', 'status', 'deployment', deploy, '--timeout=1s');
    expect(failing.code).not.toBe(0);
    expect(failing.stdout).toContain('updated replicas are available');
    const before = rows(await ok(t(), 'rollout', 'history', 'deployment', deploy));
    expect(before.slice(2).map((r) => r[0])).toEqual(['1', '2', '3']);
    expect(before[4]?.[1]).toContain('v1.5.0');
    expect(await ok(t(), 'rollout', 'undo', 'deployment', deploy)).toBe(`deployment.apps/${deploy} rolled back\n`);
    expect(await ok(t(), 'rollout', 'status', 'deployment', deploy, '--timeout=30s')).toContain('successfully rolled out');
    const after = rows(await ok(t(), 'rollout', 'history', 'deployment', deploy));
    expect(after.slice(2).map((r) => r[0])).toEqual(['1', '3', '4']);
    expect(after[4]?.[1]).toContain('v1.4.2');
    expect(JSON.parse(await ok(t(), 'get', '--raw', proxy(8080, 'health/ready')))).toMatchObject({ status: 'ready' });
  });
});

describe('kubectl on an OOM-killed service', () => {
  const t = withSandbox({ scenario: 'oom' });

  it('shows OOMKilled with exit code 137 and usage at the limit, and recovers when the limit is raised', async () => {
    await waitFor('OOMKilled', async () =>
      (await ok(t(), 'describe', 'pods', '-l', selector)).match(/Last State:\s+Terminated\n\s+Reason:\s+OOMKilled\n\s+Exit Code:\s+137/),
    );
    const top = rows(await ok(t(), 'top', 'pods', '-l', selector));
    expect(top.slice(1).every((r) => Number((r[2] ?? '').replace('Mi', '')) > 1900)).toBe(true);
    await ok(
      t(),
      'patch',
      'deployment',
      deploy,
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"agent-manager","resources":{"limits":{"memory":"4Gi"}}}]}}}}',
    );
    await ok(t(), 'rollout', 'status', 'deployment', deploy, '--timeout=30s');
    await waitFor('recovery', () => t().sandbox.isRecovered());
  });
});

describe('kubectl on a configuration error', () => {
  const t = withSandbox({ scenario: 'config-error' });

  it('shows the bad key in the logs and the drift from the last applied config map', async () => {
    const previous = await ok(t(), 'logs', '-l', selector, '--previous', '--tail=50');
    expect(previous).toContain('invalid value for AGENT_MAX_WORKERS: must be a positive integer (got "eight")');
    const cm = parse(await ok(t(), 'get', 'configmap', 'agent-config', '-o', 'yaml')) as {
      data: Record<string, string>;
      metadata: { annotations: Record<string, string> };
    };
    expect(cm.data.AGENT_MAX_WORKERS).toBe('eight');
    expect(
      (JSON.parse(cm.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'] ?? '') as { data: Record<string, string> }).data
        .AGENT_MAX_WORKERS,
    ).toBe('8');
    await ok(t(), 'patch', 'configmap', 'agent-config', '-p', '{"data":{"AGENT_MAX_WORKERS":"8"}}');
    await ok(t(), 'rollout', 'restart', 'deployment', deploy);
    await ok(t(), 'rollout', 'status', 'deployment', deploy, '--timeout=30s');
    await waitFor('recovery', () => t().sandbox.isRecovered());
  });
});

describe('kubectl on a missing secret', () => {
  const t = withSandbox({ scenario: 'missing-secret' });

  it('shows the missing key in the logs and one key left in the secret', async () => {
    expect(await ok(t(), 'logs', '-l', selector, '--previous')).toContain('required environment variable ANTHROPIC_API_KEY is not set');
    expect(rows(await ok(t(), 'get', 'secret', 'agent-secrets'))[1]?.slice(0, 3)).toEqual(['agent-secrets', 'Opaque', '1']);
  });
});

describe('kubectl on a service scaled to zero', () => {
  const t = withSandbox({ scenario: 'scaled-to-zero' });

  it('shows 0/0 and no pods, and recovers with kubectl scale', async () => {
    expect(rows(await ok(t(), 'get', 'deployment', deploy))[1]?.slice(1, 4)).toEqual(['0/0', '0', '0']);
    expect((await t().kubectl('get', 'pods', '-l', selector)).stderr).toContain('No resources found in default namespace.');
    await ok(t(), 'scale', 'deployment', deploy, '--replicas=2');
    await ok(t(), 'rollout', 'status', 'deployment', deploy, '--timeout=30s');
    expect(rows(await ok(t(), 'get', 'deployment', deploy))[1]?.slice(1, 4)).toEqual(['2/2', '2', '2']);
  });
});

describe('kubectl on unschedulable pods', () => {
  const t = withSandbox({ scenario: 'unschedulable' });

  it('shows Pending pods with FailedScheduling events and full nodes', async () => {
    expect(
      rows(await ok(t(), 'get', 'pods', '-l', selector))
        .slice(1)
        .map((r) => r.slice(1, 3)),
    ).toEqual([
      ['0/1', 'Pending'],
      ['0/1', 'Pending'],
    ]);
    const events = (await ok(t(), 'describe', 'pods', '-l', selector)).split('Events:')[1] ?? '';
    expect(events).toMatch(
      /Warning\s+FailedScheduling\s+.+?\s+default-scheduler\s+0\/3 nodes are available: 3 Insufficient memory\. preemption: 0\/3 nodes are available: 3 No preemption victims found for incoming pod\./,
    );
    expect(await ok(t(), 'describe', 'nodes')).toMatch(/memory\s+\S+ \(9\d%\)/);
    expect(await ok(t(), 'get', 'events', '--sort-by=.metadata.creationTimestamp')).toContain('FailedScheduling');
  });
});

describe('kubectl on a selector mismatch', () => {
  const t = withSandbox({ scenario: 'selector-mismatch' });

  it('shows ready pods behind a service with no endpoints, and recovers when the selector is fixed', async () => {
    expect(
      rows(await ok(t(), 'get', 'pods', '-l', selector))
        .slice(1)
        .map((r) => r[2]),
    ).toEqual(['Running', 'Running']);
    const svc = await ok(t(), 'describe', 'service', deploy);
    expect(svc).toMatch(/Selector:\s+app=agent-native-framework-v2/);
    expect(svc).toMatch(/Endpoints: *(<none>)?\n/);
    expect(svc).not.toMatch(/Endpoints: +10\./);
    expect((await t().kubectl('get', '--raw', proxy(8080, 'health/live'))).stderr).toContain('no endpoints available');
    await ok(t(), 'patch', 'service', deploy, '-p', `{"spec":{"selector":{"app":"${deploy}"}}}`);
    await waitFor('health through the service', async () => (await t().kubectl('get', '--raw', proxy(8080, 'health/live'))).code === 0);
  });
});

describe('kubectl on a dependency outage', () => {
  const t = withSandbox({ scenario: 'dependency-down' });

  it('shows running pods failing readiness, with /health/ready naming the dependency', async () => {
    expect(
      rows(await ok(t(), 'get', 'pods', '-l', selector))
        .slice(1)
        .map((r) => r.slice(1, 3)),
    ).toEqual([
      ['0/1', 'Running'],
      ['0/1', 'Running'],
    ]);
    await waitFor('a readiness probe event', async () =>
      (await ok(t(), 'describe', 'pods', '-l', selector)).includes('Readiness probe failed: HTTP probe failed with statuscode: 503'),
    );
    const pod = rows(await ok(t(), 'get', 'pods', '-l', selector))[1]?.[0] ?? '';
    const ready = await t().kubectl('get', '--raw', `/api/v1/namespaces/default/pods/${pod}:8080/proxy/health/ready`);
    expect(ready.code).not.toBe(0);
    const live = await ok(t(), 'get', '--raw', `/api/v1/namespaces/default/pods/${pod}:8080/proxy/health/live`);
    expect(JSON.parse(live)).toEqual({ status: 'ok' });
    expect(await ok(t(), 'logs', '-l', selector)).toContain('anthropic: GET https://api.anthropic.com/v1/health failed: 503');
  });
});
