// The mitigation catalogue: every kind's parts agree. What the compiler already
// checks is not tested again here:
// - every MitigationKind has an entry in workflows/mitigations.ts (command,
//   replacesPods, rollsOut, reachesEndpointsLate) and in activities/mitigations.ts
//   (guardrail, verb): both are `satisfies` a record over every kind;
// - the worker's activity map has previewMutation and applyMutation, which take
//   every kind through that record (createActivities `satisfies IncidentActivities`);
// - the fake cluster has an effect and a description for every kind (its switches
//   end in a never check or return on every path);
// - `samples` below names one action per kind (its type is a record over every kind).
// That some diagnosis proposes every kind but set-image is decisions.property.test.ts.
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { checkRequest, mitigationActivities, planMutation } from '../../activities/mitigations.js';
import type { KubeClients } from '../../activities/kube/cluster.js';
import { FailureTypes } from '../../activities/types.js';
import type { MitigationAction, MitigationKind, ServiceRef } from '../../workflows/domain.js';
import { MitigationKindSchema } from '../../workflows/input.js';
import { mitigations, mutationCommand, type ActionOf } from '../../workflows/mitigations.js';

const service: ServiceRef = { cluster: 'prod', namespace: 'payments', deployment: 'web' };
const guardrails = { allowedNamespaces: ['payments'], maxReplicas: 6, memoryCeiling: '4Gi' };
const restartedAt = '2026-03-01T12:00:00.000Z';

/** One action of each kind, within the guardrails above. */
const samples: { [K in MitigationKind]: ActionOf[K] } = {
  'rollout-undo': { kind: 'rollout-undo', toRevision: 3 },
  'rollout-restart': { kind: 'rollout-restart', restartedAt },
  scale: { kind: 'scale', replicas: 4 },
  'set-resources': { kind: 'set-resources', container: 'app', requests: { cpu: '250m' }, limits: { memory: '1Gi' } },
  'set-image': { kind: 'set-image', container: 'app', image: 'web:v1.4.2' },
  'patch-config-map': { kind: 'patch-config-map', name: 'web-config', data: { LOG_LEVEL: 'DEBUG' }, restartedAt },
  'restore-config-map': { kind: 'restore-config-map', name: 'web-config', keys: { MODE: 'a'.repeat(64) }, restartedAt },
  'set-service-selector': { kind: 'set-service-selector', service: 'web', selector: { app: 'web', tier: 'api' } },
};

const kinds = MitigationKindSchema.options;
const sample = (kind: MitigationKind): MitigationAction => samples[kind];

/** The verbs only keep the clients for their steps: planning reaches no cluster. */
const noClients = {} as KubeClients;

describe('the mitigation catalogue', () => {
  it('covers exactly the kinds of MitigationActionSchema, in both halves', () => {
    expect(Object.keys(mitigations).sort()).toEqual([...kinds].sort());
    expect(Object.keys(mitigationActivities).sort()).toEqual([...kinds].sort());
  });

  it.each(kinds)('%s: the activity reports the command the workflow shows for approval', (kind) => {
    const action = sample(kind);
    const command = mutationCommand(service, action);
    expect(planMutation(noClients, service, action, guardrails).command).toBe(command);
    // The runbook's commands, in the service's namespace and nowhere else.
    expect(command).toMatch(/^kubectl -n payments /);
    expect(command.match(/kubectl -n /g)?.length).toBe(command.match(/kubectl /g)?.length);
  });

  it.each(kinds)('%s: its traits fit together', (kind) => {
    const { replacesPods, rollsOut, reachesEndpointsLate } = mitigations[kind];
    // New pods come from a rollout: verification must wait for it before counting restarts from zero.
    if (replacesPods) expect(rollsOut).toBe(true);
    // A change that lands late on the endpoints is one with no rollout to wait for.
    if (reachesEndpointsLate) expect(rollsOut).toBe(false);
  });

  it.each(kinds)('%s: lets an action within the limits pass, and refuses it outside the allowed namespaces', (kind) => {
    const request = { service, action: sample(kind), idempotencyKey: 'incident/prod/payments/web/action-1', approvedBy: 'alice' };
    expect(() => checkRequest(guardrails, request)).not.toThrow();
    let refused: unknown;
    try {
      checkRequest(guardrails, { ...request, service: { ...service, namespace: 'kube-system' } });
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(ApplicationFailure);
    expect((refused as ApplicationFailure).type).toBe(FailureTypes.GuardrailViolation);
  });
});
