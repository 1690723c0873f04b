// The default deps from the worker's plain config object: validated, defaults filled.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDefaultDeps, type ActivitiesConfig } from '../../activities/index.js';

function config(overrides: Partial<ActivitiesConfig> = {}): ActivitiesConfig {
  const kubeconfigPath = join(mkdtempSync(join(tmpdir(), 'deps-')), 'config');
  writeFileSync(
    kubeconfigPath,
    'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: { server: "https://k.example:6443" }\nusers:\n- name: u\n  user: { token: t }\ncontexts:\n- name: ctx\n  context: { cluster: c, user: u }\ncurrent-context: ctx\n',
  );
  return {
    kube: { kubeconfigPath, defaultCluster: 'prod' },
    guardrails: { allowedNamespaces: ['default'], maxReplicas: 10, memoryCeiling: '4Gi' },
    notifications: { outboxDir: '.data/outbox' },
    ...overrides,
  };
}

describe('createDefaultDeps', () => {
  it('builds deps with the defaults filled in', () => {
    const deps = createDefaultDeps(config());
    expect(deps.kube.clients('prod').context).toBe('ctx');
    expect(deps.probes).toEqual({
      healthPort: 8080,
      metricsPort: 8000,
      livePath: 'health/live',
      readyPath: 'health/ready',
      metricsPath: 'metrics',
      httpTimeoutMs: 5000,
      via: 'api-proxy',
    });
    expect(deps.notifier.reportsDir).toBe('.data/reports');
    expect(deps.requiredEnv).toEqual([]);
    expect(deps.rolloutPollMs).toBe(1000);
  });

  it('refuses a malformed guardrail, saying which field and what it wants', () => {
    expect(() => createDefaultDeps(config({ guardrails: { allowedNamespaces: ['default'], maxReplicas: 10, memoryCeiling: 'lots' } }))).toThrow(
      /a Kubernetes memory quantity such as/,
    );
    expect(() => createDefaultDeps(config({ guardrails: { allowedNamespaces: [], maxReplicas: 10, memoryCeiling: '4Gi' } }))).toThrow(/allowedNamespaces/);
  });
});
