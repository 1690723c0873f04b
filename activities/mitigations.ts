// The mitigation catalogue, activity half: for each MitigationKind, its
// guardrail (checked before any preview or apply) and its verb (kube/<kind>.ts:
// the objects it writes, and the command, rendered by the workflow half).
//
// The workflow half (command, replacesPods, rollsOut, reachesEndpointsLate) is
// workflows/mitigations.ts: workflow code cannot import this file (it reaches
// the cluster), while this file may import that one (it is pure). Both are
// `satisfies` a record over every kind, so a kind missing from either does not
// compile; test/workflows/mitigations.test.ts checks that the two agree.
import type { MitigationAction, MitigationKind, MutationRequest, ServiceRef } from '../workflows/domain.js';
import type { ActionOf } from '../workflows/mitigations.js';
import type { Guardrails } from './injected-deps.js';
import { checkImage, checkNamespace, checkReplicas, checkResources } from './guardrails.js';
import type { KubeClients } from './kube/cluster.js';
import type { MutationPlan } from './kube/mutation.js';
import { patchConfigMap } from './kube/patch-config-map.js';
import { restoreConfigMap } from './kube/restore-config-map.js';
import { rolloutRestart } from './kube/rollout-restart.js';
import { rolloutUndo } from './kube/rollout-undo.js';
import { scale } from './kube/scale.js';
import { setImage } from './kube/set-image.js';
import { setResources } from './kube/set-resources.js';
import { setServiceSelector } from './kube/set-service-selector.js';

export interface MitigationActivity<A extends MitigationAction> {
  /**
   * What the action itself must respect, beyond the allowed namespaces (which hold
   * for every kind): throws a GuardrailViolation. `noActionLimit` when nothing in
   * the action can exceed a guardrail.
   */
  guardrail: (guardrails: Guardrails, service: ServiceRef, action: A) => void;
  /** The verb: the writes it makes, and its command (workflows/mitigations.ts renders it). */
  plan: (k: KubeClients, service: ServiceRef, action: A, guardrails: Guardrails) => MutationPlan;
}

/** Nothing in the action can exceed a configured limit: only the namespace applies. */
export function noActionLimit(): void {}

export const mitigationActivities = {
  'rollout-undo': {
    // The target revision's memory is checked too, by the verb, once it has read that revision's template (checkContainers).
    guardrail: noActionLimit,
    plan: (k, s, a, guardrails) => rolloutUndo(k, s, a.toRevision, guardrails),
  },
  'rollout-restart': {
    guardrail: noActionLimit,
    plan: (k, s, a) => rolloutRestart(k, s, a.restartedAt),
  },
  scale: {
    guardrail: (g, s, a) => checkReplicas(g, s, a.replicas),
    plan: (k, s, a) => scale(k, s, a.replicas),
  },
  'set-resources': {
    guardrail: (g, _s, a) => checkResources(g, a.container, a.requests, a.limits),
    plan: (k, s, a) => setResources(k, s, a.container, a.requests, a.limits),
  },
  'set-image': {
    // A person supplied the image: the workflow checked it, and it is checked again before it reaches the API.
    guardrail: (_g, _s, a) => checkImage(a.image),
    plan: (k, s, a) => setImage(k, s, a.container, a.image),
  },
  'patch-config-map': {
    guardrail: noActionLimit,
    plan: (k, s, a) => patchConfigMap(k, s, a.name, a.data, a.restartedAt, a.remove),
  },
  'restore-config-map': {
    guardrail: noActionLimit,
    plan: (k, s, a) => restoreConfigMap(k, s, a.name, a.keys, a.restartedAt),
  },
  'set-service-selector': {
    guardrail: noActionLimit,
    plan: (k, s, a) => setServiceSelector(k, s, a.service, a.selector),
  },
} satisfies { [K in MitigationKind]: MitigationActivity<ActionOf[K]> };

function activityOf<K extends MitigationKind>(kind: K): MitigationActivity<ActionOf[K]> {
  const catalogue: { [J in MitigationKind]: MitigationActivity<ActionOf[J]> } = mitigationActivities;
  return catalogue[kind];
}

/** Checks what the request itself says; throws GuardrailViolation (or BadRequest for a malformed value). */
export function checkRequest(guardrails: Guardrails, request: MutationRequest): void {
  checkNamespace(guardrails, request.service);
  guard(guardrails, request.service, request.action.kind, request.action);
}

function guard<K extends MitigationKind>(guardrails: Guardrails, service: ServiceRef, kind: K, action: ActionOf[K]): void {
  activityOf(kind).guardrail(guardrails, service, action);
}

/** The verb's plan for an action: its command and its write steps. */
export function planMutation(k: KubeClients, service: ServiceRef, action: MitigationAction, guardrails: Guardrails): MutationPlan {
  return planOf(k, service, action.kind, action, guardrails);
}

function planOf<K extends MitigationKind>(k: KubeClients, service: ServiceRef, kind: K, action: ActionOf[K], guardrails: Guardrails): MutationPlan {
  return activityOf(kind).plan(k, service, action, guardrails);
}
