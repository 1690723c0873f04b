// Cluster access: an alert's cluster label picks a kubeconfig context.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { kubeconfigClusterAccess } from '../../activities/kube/cluster.js';
import { FailureTypes } from '../../activities/types.js';
import { captureLogger } from './helpers.js';

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: eu
  cluster: { server: "https://eu.example:6443" }
- name: us
  cluster: { server: "https://us.example:6443" }
users:
- name: worker
  user: { token: "t0ken" }
contexts:
- name: eu-ctx
  context: { cluster: eu, user: worker }
- name: us-ctx
  context: { cluster: us, user: worker }
current-context: eu-ctx
`;

function kubeconfigPath(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'kubeconfig-')), 'config');
  writeFileSync(path, kubeconfig);
  return path;
}

describe('cluster access', () => {
  const access = kubeconfigClusterAccess({
    kubeconfigPath: kubeconfigPath(),
    contexts: { 'prod-us': 'us-ctx' },
    defaultCluster: 'prod-eu',
    requestTimeoutMs: 1000,
    logger: captureLogger().logger,
  });

  it('serves the default cluster from the current context and others by their mapped context', () => {
    expect(access.clients('prod-eu')).toMatchObject({ context: 'eu-ctx', server: 'https://eu.example:6443' });
    expect(access.clients('prod-us')).toMatchObject({ context: 'us-ctx', server: 'https://us.example:6443' });
  });

  it('refuses an unknown cluster non-retryably, naming the known ones and the fix', () => {
    let failure: unknown;
    try {
      access.clients('staging');
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect((failure as ApplicationFailure).nonRetryable).toBe(true);
    expect((failure as ApplicationFailure).type).toBe(FailureTypes.BadRequest);
    expect((failure as ApplicationFailure).message).toMatch(/unknown cluster 'staging': this worker serves prod-eu, prod-us; .*KUBE_CONTEXTS/);
  });

  it('merges a KUBECONFIG-style list of files, the first file naming the current context', () => {
    const second = join(mkdtempSync(join(tmpdir(), 'kubeconfig-')), 'config');
    writeFileSync(
      second,
      'apiVersion: v1\nkind: Config\nclusters:\n- name: ap\n  cluster: { server: "https://ap.example:6443" }\nusers:\n- name: ap-worker\n  user: { token: t }\ncontexts:\n- name: ap-ctx\n  context: { cluster: ap, user: ap-worker }\ncurrent-context: ap-ctx\n',
    );
    const merged = kubeconfigClusterAccess({
      kubeconfigPath: `${kubeconfigPath()}${delimiter}${second}`,
      contexts: { 'prod-ap': 'ap-ctx' },
      defaultCluster: 'prod-eu',
      requestTimeoutMs: 1000,
      logger: captureLogger().logger,
    });
    expect(merged.clients('prod-eu').context).toBe('eu-ctx');
    expect(merged.clients('prod-ap').server).toBe('https://ap.example:6443');
  });

  it('stops at start-up when a mapped context is not in the kubeconfig', () => {
    expect(() =>
      kubeconfigClusterAccess({
        kubeconfigPath: kubeconfigPath(),
        contexts: { x: 'nope' },
        defaultCluster: 'prod-eu',
        requestTimeoutMs: 1000,
        logger: captureLogger().logger,
      }),
    ).toThrow(/cluster 'x' maps to kubeconfig context 'nope', which the kubeconfig does not have \(it has: eu-ctx, us-ctx\)/);
  });
});
