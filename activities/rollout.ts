// `kubectl rollout status deployment/X`: kubectl's DeploymentStatusViewer
// logic, and the activity that polls it until done, reporting kubectl's latest
// message as heartbeat details while it waits.
import type { V1Deployment } from '@kubernetes/client-node';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { RolloutStatus, ServiceRef } from '../workflows/domain.js';
import type { ActivityDeps } from './injected-deps.js';
import type { Progress } from './heartbeat.js';
import { isTransient } from './kube/call.js';
import { readDeployment } from './kube/objects.js';
import { FailureTypes } from './types.js';

export interface RolloutState extends RolloutStatus {
  /** The rollout cannot complete by waiting (ProgressDeadlineExceeded). */
  failed: boolean;
}

/** kubectl's rollout status, message for message (kubectl/pkg/polymorphichelpers/rollout_status.go). */
export function rolloutState(deployment: V1Deployment): RolloutState {
  const name = deployment.metadata?.name ?? '';
  const status = deployment.status ?? {};
  const generation = deployment.metadata?.generation ?? 0;
  const waiting = (message: string): RolloutState => ({ complete: false, failed: false, message });
  if (generation > (status.observedGeneration ?? 0)) return waiting('Waiting for deployment spec update to be observed...');
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { complete: false, failed: true, message: `deployment "${name}" exceeded its progress deadline` };
  }
  const replicas = deployment.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < replicas) return waiting(`Waiting for deployment "${name}" rollout to finish: ${updated} out of ${replicas} new replicas have been updated...`);
  if (total > updated) return waiting(`Waiting for deployment "${name}" rollout to finish: ${total - updated} old replicas are pending termination...`);
  if (available < updated) return waiting(`Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...`);
  return { complete: true, failed: false, message: `deployment "${name}" successfully rolled out` };
}

/** Polls until the rollout completes or fails, or the deadline; run it under heartbeating() (activities/heartbeat.ts). */
export async function waitForRollout(deps: ActivityDeps, service: ServiceRef, options: { timeoutSeconds: number }, progress: Progress): Promise<RolloutStatus> {
  const k = deps.kube.clients(service.cluster);
  const context = Context.current();
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  let last = 'no answer from the API server yet';
  for (;;) {
    try {
      const deployment = await readDeployment(k, service);
      if (!deployment) {
        throw ApplicationFailure.nonRetryable(
          `deployment ${service.deployment} in ${service.namespace} does not exist: nothing to roll out`,
          FailureTypes.NotFound,
        );
      }
      const state = rolloutState(deployment);
      if (state.complete || state.failed) return { complete: state.complete, message: state.message };
      last = state.message;
    } catch (err) {
      // A throttled or failing read is one missed poll, not a failed rollout: keep waiting until the deadline.
      if (!isTransient(err)) throw err;
      deps.logger.warn('rollout status poll failed; polling again', { service: service.deployment, error: (err as Error).message });
    }
    progress({ message: last });
    const left = deadline - Date.now();
    if (left <= 0) return { complete: false, message: `${last} (still not complete after ${options.timeoutSeconds} s)` };
    // Context.sleep ends early with a CancelledFailure when the workflow cancels the wait.
    await context.sleep(Math.min(deps.rolloutPollMs, left));
  }
}
