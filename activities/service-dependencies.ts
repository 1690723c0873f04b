// Runbook step 5: the external APIs the service needs as a pod sees them (the
// runbook's `kubectl exec deployment/X -- curl -I <url>`), and
// `kubectl get serviceaccount X`, `kubectl describe rolebinding,clusterrolebinding | grep X`.
//
// Without exec rights, and without dialling the dependency from the worker's
// network (which may reach it when the pods cannot, or the other way round), the
// pod is asked instead: the service's readiness answer (`GET /health/ready` on a
// running pod, through the API server's pod proxy or on the pod network, as the
// health step reaches pods) carries the pod's own probe of each dependency as
// `checks.<name>`. The worker never dials the dependency's URL for this.
// Dependencies listed in DEPENDENCY_URLS are also probed from the worker.
import type { V1ClusterRoleBinding, V1RoleBinding } from '@kubernetes/client-node';
import { DependencyFindingsSchema, type DependencyFindings, type ServiceRef } from '../workflows/domain.js';
import type { ActivityDeps, Dependency } from './injected-deps.js';
import { call, callOptional } from './kube/call.js';
import type { KubeClients } from './kube/cluster.js';
import { isPodRunning, listPods, readDeployment } from './kube/objects.js';
import { probeGet } from './health.js';
import { redact, truncate } from './redact.js';

const maxBindings = 20;

async function probe(deps: ActivityDeps, dependency: Dependency): Promise<DependencyFindings['probes'][number]> {
  const { name, url } = dependency;
  const shownUrl = redact.text(url);
  try {
    const response = await deps.fetch(url, { method: 'GET', signal: AbortSignal.timeout(deps.probes.httpTimeoutMs), redirect: 'follow' });
    await response.body?.cancel();
    return { name, url: shownUrl, ok: response.ok, status: response.status };
  } catch (err) {
    const error = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${deps.probes.httpTimeoutMs} ms` : describeFetchError(err);
    return { name, url: shownUrl, ok: false, error };
  }
}

/** fetch's "fetch failed" hides the reason (ECONNREFUSED, ENOTFOUND) in its cause. */
export function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : '';
  return truncate(redact.text(detail ? `${err.message}: ${detail}` : err.message), 200);
}

type Probe = DependencyFindings['probes'][number];
type Unchecked = NonNullable<DependencyFindings['unchecked']>[number];

/** The pod's own word on one dependency, from its readiness answer's `checks`: "ok", or why not. */
export function podCheck(dependency: Dependency, pod: string, checks: Record<string, unknown>): Probe | { pending: string } | undefined {
  const said = checks[dependency.name];
  if (said === undefined) return undefined;
  // "ok", true, or an object with a status ({ "status": "pass", ... }), as health-check formats write it.
  const status = typeof said === 'object' && said !== null && 'status' in said ? said.status : said;
  const text = typeof status === 'string' ? status : JSON.stringify(status);
  // A pod still starting has not asked yet: that says nothing about the dependency (a starved
  // pod stays "pending" for ever), so it is unchecked, not down.
  if (/^(pending|starting|unknown|not checked)\b/i.test(text.trim()))
    return { pending: `pod/${pod} has not checked ${dependency.name} yet (${truncate(redact.text(text), 60)})` };
  const url = redact.text(dependency.url);
  if (status === true || /^(ok|up|pass|healthy)\b/i.test(text.trim())) return { name: dependency.name, url, ok: true, from: `pod/${pod}` };
  const code = /\b([1-5]\d\d)\b/.exec(JSON.stringify(said))?.[1];
  const error = truncate(redact.text(typeof said === 'string' ? said : JSON.stringify(said)), 200);
  return { name: dependency.name, url, ok: false, ...(code ? { status: Number(code) } : {}), error, from: `pod/${pod}` };
}

function readinessChecks(body: string): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(body) as { checks?: unknown };
    return typeof parsed.checks === 'object' && parsed.checks !== null ? (parsed.checks as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Asks a running pod of the deployment how its dependencies look from where it runs. */
async function probeFromPod(
  deps: ActivityDeps,
  k: KubeClients,
  service: ServiceRef,
  deployment: Awaited<ReturnType<typeof readDeployment>>,
): Promise<{ probes: Probe[]; unchecked: Unchecked[] }> {
  const wanted = deps.podDependencies;
  if (wanted.length === 0) return { probes: [], unchecked: [] };
  const none = (reason: string) => ({ probes: [], unchecked: wanted.map((d) => ({ name: d.name, url: redact.text(d.url), reason })) });
  if (!deployment) return none('no deployment');
  const pod = (await listPods(k, service.namespace, deployment))
    .filter(isPodRunning)
    .map((p) => p.metadata?.name ?? '')
    .filter(Boolean)
    .sort()[0];
  // One reason for both: a crash-looping pod is running or not from one read to the next, and the findings must not flicker with it.
  const silent = `no pod answered /${deps.probes.readyPath.replace(/^\/+/, '')} with its checks`;
  if (!pod) return none(silent);
  const answer = await probeGet(deps, k, { kind: 'pods', namespace: service.namespace, name: pod }, deps.probes.healthPort, deps.probes.readyPath);
  const checks = answer.fromProxy ? undefined : readinessChecks(answer.body);
  if (!checks) return none(silent);
  const probes: Probe[] = [];
  const unchecked: Unchecked[] = [];
  for (const dependency of wanted) {
    const probe = podCheck(dependency, pod, checks);
    if (probe && 'pending' in probe) unchecked.push({ name: dependency.name, url: redact.text(dependency.url), reason: probe.pending });
    else if (probe) probes.push(probe);
    else
      unchecked.push({
        name: dependency.name,
        url: redact.text(dependency.url),
        reason: `pod/${pod}'s readiness answer has no check named ${dependency.name}`,
      });
  }
  return { probes, unchecked };
}

function bindsServiceAccount(binding: V1RoleBinding | V1ClusterRoleBinding, account: string, namespace: string): boolean {
  return (binding.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === account && (s.namespace ?? namespace) === namespace);
}

export async function checkDependencies(deps: ActivityDeps, service: ServiceRef): Promise<DependencyFindings> {
  const k = deps.kube.clients(service.cluster);
  const { namespace } = service;
  const deployment = await readDeployment(k, service);
  // The pods run as the template's account; a template that names none runs as "default".
  const account = deployment?.spec?.template?.spec?.serviceAccountName ?? 'default';
  const [probes, fromPod, serviceAccount, roleBindings, clusterRoleBindings] = await Promise.all([
    Promise.all(deps.dependencies.map((dependency) => probe(deps, dependency))),
    probeFromPod(deps, k, service, deployment),
    callOptional(k, { verb: 'get', resource: 'serviceaccounts', name: account, namespace }, () =>
      k.core.readNamespacedServiceAccount({ name: account, namespace }),
    ),
    call(k, { verb: 'list', resource: 'rolebindings', namespace }, () => k.rbac.listNamespacedRoleBinding({ namespace })),
    call(k, { verb: 'list', resource: 'clusterrolebindings' }, () => k.rbac.listClusterRoleBinding({})),
  ]);
  return DependencyFindingsSchema.parse({
    probes: [...fromPod.probes, ...probes],
    ...(fromPod.unchecked.length > 0 ? { unchecked: fromPod.unchecked } : {}),
    serviceAccount: { name: account, exists: serviceAccount !== undefined },
    roleBindings: [
      ...roleBindings.items.filter((b) => bindsServiceAccount(b, account, namespace)).map((b) => `RoleBinding/${b.metadata?.name ?? ''}`),
      ...clusterRoleBindings.items.filter((b) => bindsServiceAccount(b, account, namespace)).map((b) => `ClusterRoleBinding/${b.metadata?.name ?? ''}`),
    ].slice(0, maxBindings),
  });
}
