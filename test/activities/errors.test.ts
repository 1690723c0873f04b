// How Kubernetes API failures become activity failures: permanent ones say
// what to do and are not retried; transient ones are retried.
import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { classify, ConflictError, TransientFailureType, type KubeOp } from '../../activities/kube/call.js';
import { FailureTypes } from '../../activities/types.js';

const clients = { cluster: 'prod-eu', context: 'prod-eu-admin' };
const patch: KubeOp = { verb: 'patch', resource: 'deployments', name: 'agent-native-framework', namespace: 'default' };
const status = (code: number, message: string) => JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code });

describe('classify', () => {
  it.each([
    [401, FailureTypes.Forbidden, /401 patching deployments\/agent-native-framework in default: .*credentials.*context 'prod-eu-admin'/],
    [403, FailureTypes.Forbidden, /403 patching deployments\/agent-native-framework in default: the worker's service account lacks 'patch' on deployments.*deploy\/kubernetes\/rbac.yaml/],
    [404, FailureTypes.NotFound, /404 patching .*not found.*check the alert's cluster, namespace and deployment/],
    [422, FailureTypes.Invalid, /422 patching .*refused the request as invalid \(API server: bad value\)/],
    [400, FailureTypes.Invalid, /400 patching/],
    [405, FailureTypes.Invalid, /405 patching .*refused the request/],
  ])('%d is permanent (%s) with a message that says what to do', (code, type, message) => {
    const failure = classify(new ApiException(code, 'x', status(code, 'bad value'), {}), patch, clients) as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe(type);
    expect(failure.message).toMatch(message);
  });

  it.each([429, 500, 502, 503, 504])('%d is transient', (code) => {
    const failure = classify(new ApiException(code, 'x', status(code, 'busy'), {}), patch, clients) as ApplicationFailure;
    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe(TransientFailureType);
  });

  it("429 passes the server's Retry-After on as the next retry delay", () => {
    const failure = classify(new ApiException(429, 'x', status(429, 'slow down'), { 'retry-after': '3' }), patch, clients) as ApplicationFailure;
    expect(failure.nextRetryDelay).toBe(3000);
  });

  it('409 asks the caller to re-read', () => {
    expect(classify(new ApiException(409, 'x', status(409, 'changed'), {}), patch, clients)).toBeInstanceOf(ConflictError);
  });

  it.each([
    Object.assign(new Error('request to https://x/ failed, reason: socket hang up'), { name: 'FetchError', code: 'ECONNRESET' }),
    Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }),
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }),
  ])('a dropped connection or timeout is transient: $message', (err) => {
    const failure = classify(err, patch, clients) as ApplicationFailure;
    expect(failure.type).toBe(TransientFailureType);
    expect(failure.message).toMatch(/no answer from the API server of cluster 'prod-eu'/);
  });

  it('never copies a secret from the server message into the failure', () => {
    const failure = classify(new ApiException(422, 'x', status(422, 'invalid value "Bearer abcdefgh12345"'), {}), patch, clients);
    expect(failure.message).not.toContain('abcdefgh12345');
  });
});
