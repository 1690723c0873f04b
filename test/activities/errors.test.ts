// How Kubernetes API failures become activity failures: permanent ones say
// what to do and are not retried; transient ones are retried, by the activity's
// retry policy alone (workflows/retry.ts): they are FailureTypes, and none of
// them is in the policy's nonRetryableErrorTypes.
import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { classify, type KubeOp } from '../../activities/kube/call.js';
import { FailureTypes, nonRetryableFailureTypes, retryableFailureTypes } from '../../activities/types.js';
import { commsOptions, followUpOptions, readOptions, rolloutWaitRetryPolicy, writeOptions } from '../../workflows/retry.js';

const clients = { cluster: 'prod-eu', context: 'prod-eu-admin' };
const patch: KubeOp = { verb: 'patch', resource: 'deployments', name: 'agent-native-framework', namespace: 'default' };
const status = (code: number, message: string) => JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code });

describe('classify', () => {
  it.each([
    [401, FailureTypes.Forbidden, /401 patching deployments\/agent-native-framework in default: .*credentials.*context 'prod-eu-admin'/],
    [
      403,
      FailureTypes.Forbidden,
      /403 patching deployments\/agent-native-framework in default: the worker's service account lacks 'patch' on deployments.*deploy\/kubernetes\/rbac.yaml/,
    ],
    [404, FailureTypes.NotFound, /404 patching .*not found.*check the alert's cluster, namespace and deployment/],
    [422, FailureTypes.Invalid, /422 patching .*refused the request as invalid \(API server: bad value\)/],
    [400, FailureTypes.Invalid, /400 patching/],
    [405, FailureTypes.Invalid, /405 patching .*refused the request/],
  ])('%d is permanent (%s) with a message that says what to do', (code, type, message) => {
    const failure = classify(new ApiException(code, 'x', status(code, 'bad value'), {}), patch, clients);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe(type);
    expect(failure.message).toMatch(message);
  });

  it.each([429, 500, 502, 503, 504])('%d is transient', (code) => {
    const failure = classify(new ApiException(code, 'x', status(code, 'busy'), {}), patch, clients);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe(FailureTypes.KubernetesUnavailable);
  });

  it("429 passes the server's Retry-After on as the next retry delay", () => {
    const failure = classify(new ApiException(429, 'x', status(429, 'slow down'), { 'retry-after': '3' }), patch, clients);
    expect(failure.nextRetryDelay).toBe(3000);
  });

  it('409 is transient: the next attempt of the activity reads the object again', () => {
    const failure = classify(new ApiException(409, 'x', status(409, 'changed'), {}), patch, clients);
    expect(failure).toMatchObject({ type: FailureTypes.Conflict, nonRetryable: false });
    expect(failure.message).toMatch(/409 patching deployments\/agent-native-framework in default: the object changed since it was read/);
  });

  it('anything unforeseen is retried, saying what it was', () => {
    const failure = classify(new TypeError("Cannot read properties of undefined (reading 'spec')"), patch, clients);
    expect(failure).toMatchObject({ type: FailureTypes.Unexpected, nonRetryable: false });
    expect(failure.message).toMatch(/patching deployments.*reading 'spec'/);
  });

  it.each([
    Object.assign(new Error('request to https://x/ failed, reason: socket hang up'), { name: 'FetchError', code: 'ECONNRESET' }),
    Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }),
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }),
  ])('a dropped connection or timeout is transient: $message', (err) => {
    const failure = classify(err, patch, clients);
    expect(failure.type).toBe(FailureTypes.KubernetesUnavailable);
    expect(failure.message).toMatch(/no answer from the API server of cluster 'prod-eu'/);
  });

  it('never copies a secret from the server message into the failure', () => {
    const failure = classify(new ApiException(422, 'x', status(422, 'invalid value "Bearer abcdefgh12345"'), {}), patch, clients);
    expect(failure.message).not.toContain('abcdefgh12345');
  });
});

describe('the retry policies (workflows/retry.ts)', () => {
  const policies = {
    reads: readOptions.retry,
    writes: writeOptions.retry,
    comms: commsOptions.retry,
    rollout: rolloutWaitRetryPolicy,
    followUp: followUpOptions.retry,
  };

  it('retry every transient failure type and none of the permanent ones', () => {
    for (const policy of Object.values(policies)) {
      for (const type of retryableFailureTypes) expect(policy.nonRetryableErrorTypes).not.toContain(type);
      expect([...policy.nonRetryableErrorTypes].sort()).toEqual([...nonRetryableFailureTypes].sort());
    }
    expect([...retryableFailureTypes, ...nonRetryableFailureTypes].sort()).toEqual(Object.values(FailureTypes).sort());
  });

  it('keep the attempts they had: reads 5, writes 8, notifications 10, the rollout wait 3, the follow-up 10', () => {
    expect(Object.fromEntries(Object.entries(policies).map(([name, p]) => [name, p.maximumAttempts]))).toEqual({
      reads: 5,
      writes: 8,
      comms: 10,
      rollout: 3,
      followUp: 10,
    });
    expect(followUpOptions.retry.maximumInterval).toBe('1m');
    expect(readOptions.retry.maximumInterval).toBe('30s');
  });
});
