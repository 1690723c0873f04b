// The mitigation catalogue, workflow half: for each MitigationKind, what the
// workflow must know about it. Its kubectl command (the summary of its activity
// calls, the approval request, the report; the activities return the same
// string), whether it replaces the pods (verification's restart baseline),
// whether it rolls pods out (verification waits for `kubectl rollout status`),
// and whether its effect reaches the endpoints late (verification looks twice).
//
// The activity half (guardrail, the verb that writes the cluster) is
// activities/mitigations.ts, keyed the same way. Both are `satisfies` a record
// over every kind: a new kind in MitigationActionSchema (domain.ts) without an
// entry here or there does not compile. docs/architecture.md walks through it.
//
// Pure and deterministic: bundled into the workflow sandbox, and imported by
// activities for the command text.
import type { MitigationAction, MitigationKind, ServiceRef } from './domain.js';

/** Each kind's action, by kind: `ActionOf['scale']` is `{ kind: 'scale'; replicas: number }`. */
export type ActionOf = { [K in MitigationKind]: Extract<MitigationAction, { kind: K }> };

export interface Mitigation<A extends MitigationAction> {
  /** The kubectl command the action stands for, as people read it: `kubectl -n <namespace> …`. */
  command: (service: ServiceRef, action: A) => string;
  /**
   * Every pod is replaced, so verification counts restarts from zero; false keeps
   * the pods and their restart count (scale, selector).
   */
  replacesPods: boolean;
  /** The deployment's pods change (a new revision, more replicas): verification first waits for its rollout. */
  rollsOut: boolean;
  /**
   * What it changes reaches the service's endpoints a moment later (the endpoints
   * controller), with no rollout to wait for: a failed verification looks once more.
   */
  reachesEndpointsLate: boolean;
}

export const mitigations = {
  'rollout-undo': {
    command: (s, a) => `${ns(s)} rollout undo ${deploy(s)} --to-revision=${a.toRevision}`,
    replacesPods: true,
    rollsOut: true,
    reachesEndpointsLate: false,
  },
  'rollout-restart': {
    command: (s) => `${ns(s)} rollout restart ${deploy(s)}`,
    replacesPods: true,
    rollsOut: true,
    reachesEndpointsLate: false,
  },
  scale: {
    command: (s, a) => `${ns(s)} scale ${deploy(s)} --replicas=${a.replicas}`,
    replacesPods: false,
    // No new revision, but new pods: rollout status waits until they are available.
    rollsOut: true,
    reachesEndpointsLate: false,
  },
  'set-resources': {
    command: (s, a) => {
      const flags = [...(a.limits ? [`--limits=${resourceList(a.limits)}`] : []), ...(a.requests ? [`--requests=${resourceList(a.requests)}`] : [])];
      return `${ns(s)} set resources ${deploy(s)} -c ${a.container} ${flags.join(' ')}`.trimEnd();
    },
    replacesPods: true,
    rollsOut: true,
    reachesEndpointsLate: false,
  },
  'set-image': {
    command: (s, a) => `${ns(s)} set image ${deploy(s)} ${a.container}=${a.image}`,
    replacesPods: true,
    rollsOut: true,
    reachesEndpointsLate: false,
  },
  'patch-config-map': {
    command: (s, a) =>
      `${ns(s)} patch configmap ${a.name} -p '${JSON.stringify({ data: { ...a.data, ...Object.fromEntries((a.remove ?? []).map((k) => [k, null])) } })}' && ${ns(s)} rollout restart ${deploy(s)}`,
    replacesPods: true,
    rollsOut: true,
    reachesEndpointsLate: false,
  },
  'restore-config-map': {
    command: (s, a) => {
      // The values stay in the cluster: the command names each by the digest that was approved.
      const data = Object.fromEntries(Object.entries(a.keys).map(([key, digest]) => [key, lastAppliedPlaceholder(digest)]));
      return `${ns(s)} patch configmap ${a.name} -p '${JSON.stringify({ data })}' && ${ns(s)} rollout restart ${deploy(s)}`;
    },
    replacesPods: true,
    rollsOut: true,
    reachesEndpointsLate: false,
  },
  'set-service-selector': {
    // `set selector`, not `patch`: the verb replaces the selector (keys not named are removed), as kubectl set selector does.
    command: (s, a) =>
      `${ns(s)} set selector service/${a.service} '${Object.entries(a.selector)
        .map(([key, value]) => `${key}=${value}`)
        .join(',')}'`,
    replacesPods: false,
    rollsOut: false,
    reachesEndpointsLate: true,
  },
} satisfies { [K in MitigationKind]: Mitigation<ActionOf[K]> };

/** The entry of one kind, typed for that kind's action. */
export function mitigationOf<K extends MitigationKind>(kind: K): Mitigation<ActionOf[K]> {
  const catalogue: { [J in MitigationKind]: Mitigation<ActionOf[J]> } = mitigations;
  return catalogue[kind];
}

/** The kubectl command an action stands for (the catalogue's rendering of its kind). */
export function mutationCommand(service: ServiceRef, action: MitigationAction): string {
  return render(service, action.kind, action);
}

function render<K extends MitigationKind>(service: ServiceRef, kind: K, action: ActionOf[K]): string {
  return mitigationOf(kind).command(service, action);
}

/** Stands for a value a restore reads from the last applied configuration: its digest, not the value. */
export function lastAppliedPlaceholder(digest: string): string {
  return `<last applied, sha256 ${digest.slice(0, 12)}>`;
}

function ns(service: ServiceRef): string {
  return `kubectl -n ${service.namespace}`;
}

function deploy(service: ServiceRef): string {
  return `deployment/${service.deployment}`;
}

function resourceList(r: { cpu?: string | undefined; memory?: string | undefined }): string {
  return [r.cpu ? `cpu=${r.cpu}` : '', r.memory ? `memory=${r.memory}` : ''].filter(Boolean).join(',');
}
