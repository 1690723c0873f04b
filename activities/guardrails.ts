// Guardrails from config, checked before any mutation (preview or apply):
// allowed namespaces, max replicas, memory ceiling. A refusal is permanent for
// that request: a non-retryable GuardrailViolation saying which limit and where it is set.
import type { V1Container } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { MutationRequest } from '../workflows/domain.js';
import type { Guardrails } from './deps.js';
import { memoryBytes } from './quantity.js';
import { FailureTypes } from './types.js';

function refuse(message: string): never {
  throw ApplicationFailure.nonRetryable(message, FailureTypes.GuardrailViolation);
}

function checkMemory(guardrails: Guardrails, quantity: string | undefined, what: string): void {
  if (quantity === undefined) return;
  let bytes: number;
  try {
    bytes = memoryBytes(quantity);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`${what}: ${(err as Error).message}`, FailureTypes.BadRequest);
  }
  if (bytes > memoryBytes(guardrails.memoryCeiling)) {
    refuse(`${what} ${quantity} exceeds the memory ceiling of ${guardrails.memoryCeiling} (MEMORY_CEILING); a human must decide on more`);
  }
}

/** Checks what the request itself says; throws GuardrailViolation (or BadRequest for a malformed value). */
export function checkRequest(guardrails: Guardrails, request: MutationRequest): void {
  const { namespace, deployment } = request.service;
  if (!guardrails.allowedNamespaces.includes(namespace)) {
    refuse(`mutations in namespace '${namespace}' are not allowed (allowed: ${guardrails.allowedNamespaces.join(', ')}; ALLOWED_NAMESPACES); deployment ${deployment} must be fixed by a human`);
  }
  const action = request.action;
  if (action.kind === 'scale' && action.replicas > guardrails.maxReplicas) {
    refuse(`scaling deployment ${deployment} to ${action.replicas} replicas exceeds the maximum of ${guardrails.maxReplicas} (MAX_REPLICAS)`);
  }
  if (action.kind === 'set-resources') {
    checkMemory(guardrails, action.limits?.memory, `memory limit of ${action.container}`);
    checkMemory(guardrails, action.requests?.memory, `memory request of ${action.container}`);
  }
}

/** A pod template the mutation would roll out (rollout undo): its memory must stay under the ceiling too. */
export function checkContainers(guardrails: Guardrails, containers: V1Container[], what: string): void {
  for (const container of containers) {
    checkMemory(guardrails, container.resources?.limits?.memory, `${what}: memory limit of ${container.name}`);
    checkMemory(guardrails, container.resources?.requests?.memory, `${what}: memory request of ${container.name}`);
  }
}
