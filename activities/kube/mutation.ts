// The shape every mutation verb (one file each beside this one) fills in: the
// kubectl command it stands for, and the objects it writes, each as a step
// that reads the object and returns a write to send. mutations.ts runs the
// steps: dry-run for the preview, or for real with the idempotency check.
import { PatchStrategy, setHeaderOptions, type V1Container, type V1Deployment } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { ServiceRef } from '../../workflows/domain.js';
import { deploymentChanges } from '../diff.js';
import { FailureTypes } from '../types.js';
import { call } from './call.js';
import type { KubeClients } from './cluster.js';

export const fieldManager = 'incident-response';
export const idempotencyKeyAnnotation = 'incident-response.dev/idempotency-key';
export const approvedByAnnotation = 'incident-response.dev/approved-by';

export interface Stamp {
  /** Recorded on every written object: the idempotency key and who approved. */
  annotations: Record<string, string>;
  dryRun: boolean;
}

export interface Written {
  changes: string[];
  generation: number;
}

export interface PreparedWrite {
  /** The idempotency key the object carries now (from an earlier write, maybe ours). */
  key: string | undefined;
  generation: number;
  write(stamp: Stamp): Promise<Written>;
}

export interface WriteStep {
  /** `deployments/X`, for messages. */
  target: string;
  /** Reads the object; the write it returns carries the read's resourceVersion, so a stale write gets a 409. */
  prepare(): Promise<PreparedWrite>;
}

export interface MutationPlan {
  command: string;
  steps: WriteStep[];
}

export interface DeploymentPatch {
  strategy: PatchStrategy;
  body: object;
  /** Describes the change for humans; the generic deployment diff if absent. */
  describe?: (before: V1Deployment, after: V1Deployment) => string[];
}

/** The metadata part of a merge or strategic patch: our annotations and the read's resourceVersion. */
export function stampedMetadata(current: { metadata?: { resourceVersion?: string } }, stamp: Stamp): object {
  return { resourceVersion: current.metadata?.resourceVersion, annotations: stamp.annotations };
}

function patchDeployment(k: KubeClients, service: ServiceRef, patch: DeploymentPatch, dryRun: boolean): Promise<V1Deployment> {
  const { namespace, deployment: name } = service;
  // Patches need their content type set: the generated client would send JSON patch for every kind.
  return call(k, { verb: 'patch', resource: 'deployments', name, namespace }, () =>
    k.apps.patchNamespacedDeployment(
      { name, namespace, body: patch.body, fieldManager, dryRun: dryRun ? 'All' : undefined },
      setHeaderOptions('Content-Type', patch.strategy),
    ),
  );
}

/**
 * A step that writes the service's deployment. `build` decides the patch from
 * the current object (undefined: already as asked, nothing to write).
 */
export function deploymentStep(
  k: KubeClients,
  service: ServiceRef,
  build: (current: V1Deployment, stamp: Stamp) => Promise<DeploymentPatch | undefined> | DeploymentPatch | undefined,
): WriteStep {
  const { namespace, deployment: name } = service;
  return {
    target: `deployments/${name}`,
    async prepare() {
      const current = await call(k, { verb: 'get', resource: 'deployments', name, namespace }, () => k.apps.readNamespacedDeployment({ name, namespace }));
      const generation = current.metadata?.generation ?? 0;
      return {
        key: current.metadata?.annotations?.[idempotencyKeyAnnotation],
        generation,
        async write(stamp) {
          const patch = await build(current, stamp);
          if (!patch) return { changes: [], generation };
          const after = await patchDeployment(k, service, patch, stamp.dryRun);
          return { changes: (patch.describe ?? deploymentChanges)(current, after), generation: after.metadata?.generation ?? generation };
        },
      };
    },
  };
}

/** The named container of the pod template; a non-retryable BadRequest naming the ones that exist if it is not there. */
export function templateContainer(deployment: V1Deployment, name: string): V1Container {
  const containers = deployment.spec?.template?.spec?.containers ?? [];
  const container = containers.find((c) => c.name === name);
  if (!container) {
    throw ApplicationFailure.nonRetryable(
      `deployment ${deployment.metadata?.name ?? ''} has no container '${name}' (it has: ${containers.map((c) => c.name).join(', ') || 'none'}); the action names the wrong container`,
      FailureTypes.BadRequest,
    );
  }
  return container;
}
