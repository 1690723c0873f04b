// `kubectl rollout status` logic, case by case, with kubectl's own messages.
import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { rolloutState } from '../../activities/rollout.js';

function deployment(generation: number, replicas: number, status: V1Deployment['status']): V1Deployment {
  return { metadata: { name: 'web', generation }, spec: { replicas, selector: {}, template: {} }, status };
}

describe('rollout status (kubectl DeploymentStatusViewer)', () => {
  it.each([
    ['spec not yet observed', deployment(3, 2, { observedGeneration: 2 }), false, false, 'Waiting for deployment spec update to be observed...'],
    [
      'new replicas not all updated',
      deployment(3, 2, { observedGeneration: 3, updatedReplicas: 1, replicas: 3 }),
      false,
      false,
      'Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas have been updated...',
    ],
    [
      'old replicas still running',
      deployment(3, 2, { observedGeneration: 3, updatedReplicas: 2, replicas: 3, availableReplicas: 2 }),
      false,
      false,
      'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...',
    ],
    [
      'updated replicas not yet available',
      deployment(3, 2, { observedGeneration: 3, updatedReplicas: 2, replicas: 2, availableReplicas: 1 }),
      false,
      false,
      'Waiting for deployment "web" rollout to finish: 1 of 2 updated replicas are available...',
    ],
    [
      'complete',
      deployment(3, 2, { observedGeneration: 3, updatedReplicas: 2, replicas: 2, availableReplicas: 2 }),
      true,
      false,
      'deployment "web" successfully rolled out',
    ],
    ['scaled to zero and observed', deployment(4, 0, { observedGeneration: 4 }), true, false, 'deployment "web" successfully rolled out'],
    [
      'progress deadline exceeded',
      deployment(3, 2, {
        observedGeneration: 3,
        updatedReplicas: 1,
        replicas: 3,
        conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
      }),
      false,
      true,
      'deployment "web" exceeded its progress deadline',
    ],
  ])('%s', (_case, d, complete, failed, message) => {
    expect(rolloutState(d)).toEqual({ complete, failed, message });
  });
});
