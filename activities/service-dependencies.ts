// Runbook step 5: the external APIs the service needs, probed from the worker
// (the runbook's `kubectl exec ... curl` without exec rights), and
// `kubectl get serviceaccount X`, `kubectl describe rolebinding,clusterrolebinding | grep X`.
import type { V1ClusterRoleBinding, V1RoleBinding } from '@kubernetes/client-node';
import { DependencyFindingsSchema, type DependencyFindings, type ServiceRef } from '../workflows/domain.js';
import type { ActivityDeps, Dependency } from './injected-deps.js';
import { call, callOptional } from './kube/call.js';
import { readDeployment } from './kube/objects.js';
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

function bindsServiceAccount(binding: V1RoleBinding | V1ClusterRoleBinding, account: string, namespace: string): boolean {
  return (binding.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === account && (s.namespace ?? namespace) === namespace);
}

export async function checkDependencies(deps: ActivityDeps, service: ServiceRef): Promise<DependencyFindings> {
  const k = deps.kube.clients(service.cluster);
  const { namespace } = service;
  const deployment = await readDeployment(k, service);
  // The pods run as the template's account; a template that names none runs as "default".
  const account = deployment?.spec?.template?.spec?.serviceAccountName ?? 'default';
  const [probes, serviceAccount, roleBindings, clusterRoleBindings] = await Promise.all([
    Promise.all(deps.dependencies.map((dependency) => probe(deps, dependency))),
    callOptional(k, { verb: 'get', resource: 'serviceaccounts', name: account, namespace }, () =>
      k.core.readNamespacedServiceAccount({ name: account, namespace }),
    ),
    call(k, { verb: 'list', resource: 'rolebindings', namespace }, () => k.rbac.listNamespacedRoleBinding({ namespace })),
    call(k, { verb: 'list', resource: 'clusterrolebindings' }, () => k.rbac.listClusterRoleBinding({})),
  ]);
  return DependencyFindingsSchema.parse({
    probes,
    serviceAccount: { name: account, exists: serviceAccount !== undefined },
    roleBindings: [
      ...roleBindings.items.filter((b) => bindsServiceAccount(b, account, namespace)).map((b) => `RoleBinding/${b.metadata?.name ?? ''}`),
      ...clusterRoleBindings.items.filter((b) => bindsServiceAccount(b, account, namespace)).map((b) => `ClusterRoleBinding/${b.metadata?.name ?? ''}`),
    ].slice(0, maxBindings),
  });
}
