// The kubectl command each step stands for: the summary of every activity call
// and timer in the Temporal UI, the approval request, and the report. A human
// reading the history sees the runbook's own commands.
import type { MitigationAction, ServiceRef } from './domain.js';

export function mutationCommand(service: ServiceRef, action: MitigationAction): string {
  const k = `kubectl -n ${service.namespace}`;
  const deploy = `deployment/${service.deployment}`;
  switch (action.kind) {
    case 'rollout-undo':
      return `${k} rollout undo ${deploy} --to-revision=${action.toRevision}`;
    case 'rollout-restart':
      return `${k} rollout restart ${deploy}`;
    case 'scale':
      return `${k} scale ${deploy} --replicas=${action.replicas}`;
    case 'set-resources': {
      const flags = [
        ...(action.limits ? [`--limits=${resourceList(action.limits)}`] : []),
        ...(action.requests ? [`--requests=${resourceList(action.requests)}`] : []),
      ];
      return `${k} set resources ${deploy} -c ${action.container} ${flags.join(' ')}`.trimEnd();
    }
    case 'set-image':
      return `${k} set image ${deploy} ${action.container}=${action.image}`;
    case 'patch-config-map':
      return `${k} patch configmap ${action.name} -p '${JSON.stringify({ data: action.data })}' && ${k} rollout restart ${deploy}`;
    case 'restore-config-map': {
      // The values stay in the cluster: the command names each by the digest that was approved.
      const data = Object.fromEntries(Object.entries(action.keys).map(([key, digest]) => [key, lastAppliedPlaceholder(digest)]));
      return `${k} patch configmap ${action.name} -p '${JSON.stringify({ data })}' && ${k} rollout restart ${deploy}`;
    }
    case 'set-service-selector':
      return `${k} patch service ${action.service} -p '${JSON.stringify({ spec: { selector: action.selector } })}'`;
  }
}

/** Stands for a value a restore reads from the last applied configuration: its digest, not the value. */
export function lastAppliedPlaceholder(digest: string): string {
  return `<last applied, sha256 ${digest.slice(0, 12)}>`;
}

function resourceList(r: { cpu?: string | undefined; memory?: string | undefined }): string {
  return [r.cpu ? `cpu=${r.cpu}` : '', r.memory ? `memory=${r.memory}` : ''].filter(Boolean).join(',');
}

/** Summaries of the read-only investigation activities (runbook Investigation, steps 1-5). */
export function investigationCommands(service: ServiceRef): Record<
  'inspectWorkload' | 'collectLogs' | 'inspectResources' | 'inspectConfiguration' | 'checkDependencies' | 'checkServiceHealth' | 'recentEvents',
  string
> {
  const k = `kubectl -n ${service.namespace}`;
  const d = service.deployment;
  return {
    inspectWorkload: `${k} describe deployment/${d}; rollout history; describe pods -l app=${d}`,
    collectLogs: `${k} logs -l app=${d} --tail=500 [--previous] | grep -i "error|exception|fatal"`,
    inspectResources: `kubectl describe nodes; ${k} top pods -l app=${d}; describe resourcequota`,
    inspectConfiguration: `${k} get configmap -o yaml; get secret (key names only); env of deployment/${d}`,
    checkDependencies: `probe external APIs; ${k} get serviceaccount ${d}; describe rolebinding`,
    checkServiceHealth: `${k} get service,endpoints,ingress; GET ${d}:8080/health/live, /health/ready`,
    recentEvents: `${k} get events --sort-by=.metadata.creationTimestamp | tail -20`,
  };
}
