// The kubectl command each step stands for: the summary of every activity call
// and timer in the Temporal UI, the approval request, and the report. A human
// reading the history sees the runbook's own commands. Those of the
// mitigations are in their catalogue (mitigations.ts).
import type { ServiceRef } from './domain.js';

/** Summaries of the read-only investigation activities (runbook Investigation, steps 1-5). */
export function investigationCommands(
  service: ServiceRef,
): Record<
  'inspectWorkload' | 'collectLogs' | 'inspectResources' | 'inspectConfiguration' | 'checkDependencies' | 'checkServiceHealth' | 'recentEvents',
  string
> {
  const k = `kubectl -n ${service.namespace}`;
  const d = service.deployment;
  return {
    inspectWorkload: `${k} describe deployment/${d}; rollout history; describe pods -l app=${d}`,
    collectLogs: `${k} logs -l app=${d} --tail=500 [--previous] | grep -i "error|exception|fatal"`,
    inspectResources: `kubectl describe nodes; ${k} top pods -l app=${d}; describe resourcequota`,
    inspectConfiguration: `${k} get configmap -o yaml; get secret (key names only); env of deployment/${d} | grep -E "(ANTHROPIC|LOG|AGENT)" (from the pod spec)`,
    checkDependencies: `dependency checks of a pod (GET /health/ready, for exec -- curl -I); ${k} get serviceaccount ${d}; describe rolebinding`,
    checkServiceHealth: `${k} get service,endpoints,ingress; GET ${d}:8080/health/live, /health/ready`,
    recentEvents: `${k} get events --sort-by=.metadata.creationTimestamp | tail -20`,
  };
}
