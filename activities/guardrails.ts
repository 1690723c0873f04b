// Guardrails from config, checked before any mutation (preview or apply):
// allowed namespaces, max replicas, memory ceiling. A refusal is permanent for
// that request: a non-retryable GuardrailViolation saying which limit and where it is set.
// Which check applies to which kind of mitigation is the catalogue's
// (mitigations.ts, checkRequest); the checks themselves are here.
import type { V1Container } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { ServiceRef } from '../workflows/domain.js';
import { parseImageReference } from '../workflows/image-reference.js';
import type { Guardrails } from './injected-deps.js';
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

/** Every mutation: only in the allowed namespaces. */
export function checkNamespace(guardrails: Guardrails, service: ServiceRef): void {
  const { namespace, deployment } = service;
  if (!guardrails.allowedNamespaces.includes(namespace)) {
    refuse(
      `mutations in namespace '${namespace}' are not allowed (allowed: ${guardrails.allowedNamespaces.join(', ')}; ALLOWED_NAMESPACES); deployment ${deployment} must be fixed by a human`,
    );
  }
}

/** A scale: at most MAX_REPLICAS. */
export function checkReplicas(guardrails: Guardrails, service: ServiceRef, replicas: number): void {
  if (replicas > guardrails.maxReplicas) {
    refuse(`scaling deployment ${service.deployment} to ${replicas} replicas exceeds the maximum of ${guardrails.maxReplicas} (MAX_REPLICAS)`);
  }
}

type Quantities = { cpu?: string | undefined; memory?: string | undefined };

/** New container resources: memory under the ceiling, limit and request alike. */
export function checkResources(guardrails: Guardrails, container: string, requests: Quantities | undefined, limits: Quantities | undefined): void {
  checkMemory(guardrails, limits?.memory, `memory limit of ${container}`);
  checkMemory(guardrails, requests?.memory, `memory request of ${container}`);
}

/** A pod template the mutation would roll out (rollout undo): its memory must stay under the ceiling too. */
export function checkContainers(guardrails: Guardrails, containers: V1Container[], what: string): void {
  for (const container of containers) {
    checkMemory(guardrails, container.resources?.limits?.memory, `${what}: memory limit of ${container.name}`);
    checkMemory(guardrails, container.resources?.requests?.memory, `${what}: memory request of ${container.name}`);
  }
}

/** A set image: only a well-formed reference, pinned by tag or digest, reaches the API. */
export function checkImage(image: string): void {
  const parsed = parseImageReference(image);
  if ('error' in parsed) throw ApplicationFailure.nonRetryable(`set image: ${parsed.error}`, FailureTypes.BadRequest);
}
