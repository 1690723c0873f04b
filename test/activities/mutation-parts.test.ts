// The pure parts of the mutations: guardrails, human-readable diffs, kubectl's
// rollback template and annotations, selector replacement, config drift.
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { configDrift, lastAppliedData } from '../../activities/configuration.js';
import { dataChanges, deploymentChanges, selectorChanges } from '../../activities/diff.js';
import { rollbackAnnotations, templateOf } from '../../activities/kube/rollout-undo.js';
import { checkRequest } from '../../activities/mitigations.js';
import { selectorPatch } from '../../activities/kube/set-service-selector.js';
import { podSpecReferences, secretEnvLiterals } from '../../activities/pod-spec.js';
import { FailureTypes } from '../../activities/types.js';
import type { MitigationAction, MutationRequest } from '../../workflows/domain.js';

const guardrails = { allowedNamespaces: ['default'], maxReplicas: 6, memoryCeiling: '4Gi' };
const request = (action: MitigationAction, namespace = 'default'): MutationRequest => ({
  service: { cluster: 'local', namespace, deployment: 'web' },
  action,
  idempotencyKey: 'incident/local/default/web/action-1',
  approvedBy: 'alice',
});

function failureOf(fn: () => void): ApplicationFailure {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

describe('guardrails', () => {
  it.each([
    ['a namespace not allowed', request({ kind: 'rollout-restart', restartedAt: 't' }, 'kube-system'), /namespace 'kube-system' are not allowed/],
    ['more replicas than the maximum', request({ kind: 'scale', replicas: 7 }), /7 replicas exceeds the maximum of 6/],
    [
      'a memory limit above the ceiling',
      request({ kind: 'set-resources', container: 'app', limits: { memory: '8Gi' } }),
      /memory limit of app 8Gi exceeds the memory ceiling of 4Gi/,
    ],
    [
      'a memory request above the ceiling',
      request({ kind: 'set-resources', container: 'app', requests: { memory: '5000Mi' } }),
      /memory request of app 5000Mi exceeds/,
    ],
  ])('refuse %s, non-retryably', (_case, req, message) => {
    const failure = failureOf(() => checkRequest(guardrails, req));
    expect(failure.type).toBe(FailureTypes.GuardrailViolation);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(message);
  });

  it('let requests within the limits pass', () => {
    expect(() => checkRequest(guardrails, request({ kind: 'scale', replicas: 6 }))).not.toThrow();
    expect(() => checkRequest(guardrails, request({ kind: 'set-resources', container: 'app', limits: { memory: '4Gi' } }))).not.toThrow();
  });

  it('call a malformed quantity a bad request, not a violation', () => {
    expect(failureOf(() => checkRequest(guardrails, request({ kind: 'set-resources', container: 'app', limits: { memory: 'lots' } }))).type).toBe(
      FailureTypes.BadRequest,
    );
  });
});

const base: V1Deployment = {
  metadata: { name: 'web' },
  spec: {
    replicas: 2,
    selector: {},
    template: {
      spec: {
        containers: [{ name: 'app', image: 'web:1.4.2', resources: { limits: { memory: '256Mi' } }, env: [{ name: 'LOG_LEVEL', value: 'info' }] }],
      },
    },
  },
};

describe('human-readable changes', () => {
  it('describe replicas, image, resources, env and restarts', () => {
    const after = structuredClone(base);
    after.spec!.replicas = 4;
    const app = after.spec!.template.spec!.containers[0]!;
    app.image = 'web:1.4.3';
    app.resources = { limits: { memory: '512Mi' }, requests: { cpu: '250m' } };
    app.env = [{ name: 'LOG_LEVEL', value: 'debug' }];
    after.spec!.template.metadata = { annotations: { 'kubectl.kubernetes.io/restartedAt': '2025-01-01T00:00:00Z' } };
    expect(deploymentChanges(base, after)).toEqual([
      'replicas 2 → 4',
      'image of app web:1.4.2 → web:1.4.3',
      'memory limit of app 256Mi → 512Mi',
      'cpu request of app (none) → 250m',
      'env LOG_LEVEL of app changed',
      'pods restart (restartedAt (none) → 2025-01-01T00:00:00Z)',
    ]);
  });

  it('say nothing when nothing a human decides on changed', () => {
    expect(deploymentChanges(base, structuredClone(base))).toEqual([]);
  });

  it('mask secret-looking config values', () => {
    expect(dataChanges('config map c', { LOG_LEVEL: 'info', API_TOKEN: 'old' }, { LOG_LEVEL: 'debug', API_TOKEN: 'new' })).toEqual([
      'config map c API_TOKEN "***" → "***"',
      'config map c LOG_LEVEL "info" → "debug"',
    ]);
  });

  it('show a selector replacement', () => {
    expect(selectorChanges('web', { app: 'wrong' }, { app: 'web' })).toEqual(['selector of service web app=wrong → app=web']);
  });
});

describe('rollout undo as kubectl does it', () => {
  const rs: V1ReplicaSet = {
    metadata: {
      name: 'web-abc',
      labels: { app: 'web', 'pod-template-hash': 'abc' },
      annotations: { 'deployment.kubernetes.io/revision': '2', 'kubernetes.io/change-cause': 'deploy 1.4.2', 'deployment.kubernetes.io/desired-replicas': '2' },
    },
    spec: {
      selector: {},
      template: { metadata: { labels: { app: 'web', 'pod-template-hash': 'abc' } }, spec: { containers: [{ name: 'app', image: 'web:1.4.2' }] } },
    },
  };

  it('take the target template without the pod-template-hash label', () => {
    expect(templateOf(rs).metadata?.labels).toEqual({ app: 'web' });
    expect(rs.spec?.template?.metadata?.labels?.['pod-template-hash']).toBe('abc');
  });

  it("keep the deployment's revision bookkeeping, take the replica set's other annotations, then ours", () => {
    const deployment: V1Deployment = {
      metadata: { annotations: { 'deployment.kubernetes.io/revision': '3', 'kubernetes.io/change-cause': 'deploy bad', other: 'x' } },
    };
    expect(rollbackAnnotations(deployment, rs, { 'incident-response.dev/idempotency-key': 'k' })).toEqual({
      'deployment.kubernetes.io/revision': '3',
      'kubernetes.io/change-cause': 'deploy 1.4.2',
      'incident-response.dev/idempotency-key': 'k',
    });
  });
});

describe('set selector', () => {
  it('replaces the selector: keys not wanted are removed with null', () => {
    expect(selectorPatch({ app: 'wrong', tier: 'x' }, { app: 'web' })).toEqual({ app: 'web', tier: null });
  });
});

describe('configuration', () => {
  it('reads the last applied data and the keys that drifted from it', () => {
    const last = lastAppliedData({
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ data: { LOG_LEVEL: 'info', MODE: 'a' } }) } },
    });
    expect(last).toEqual({ LOG_LEVEL: 'info', MODE: 'a' });
    expect(configDrift({ LOG_LEVEL: 'verbose!', MODE: 'a', EXTRA: '1' }, last!)).toEqual([
      { key: 'EXTRA', current: '1', lastApplied: undefined },
      { key: 'LOG_LEVEL', current: 'verbose!', lastApplied: 'info' },
    ]);
  });

  it('finds what the pod spec needs from config maps and secrets, and its secret env literals', () => {
    const spec = {
      containers: [
        {
          name: 'app',
          env: [
            { name: 'API_KEY', valueFrom: { secretKeyRef: { name: 's', key: 'API_KEY' } } },
            { name: 'LOG_LEVEL', valueFrom: { configMapKeyRef: { name: 'c', key: 'LOG_LEVEL', optional: true } } },
            { name: 'DB_PASSWORD', value: 'hunter22' },
            { name: 'MODE', value: 'server' },
          ],
          envFrom: [{ prefix: 'X_', configMapRef: { name: 'c2' } }],
        },
      ],
      volumes: [{ name: 'v', secret: { secretName: 'tls' } }],
    };
    const refs = podSpecReferences(spec);
    expect(refs.secrets.sort()).toEqual(['s', 'tls']);
    expect(refs.configMaps.sort()).toEqual(['c', 'c2']);
    expect(refs.env).toContainEqual({ variable: 'X_*', source: 'configMap', object: 'c2', key: '*', optional: false });
    expect(secretEnvLiterals(spec)).toEqual(['hunter22']);
  });
});
