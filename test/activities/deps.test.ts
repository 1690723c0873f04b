// The default deps from the worker's plain config object: validated, defaults filled.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { V1PodSpec } from '@kubernetes/client-node';
import { createDefaultDeps, type ActivitiesConfig } from '../../activities/index.js';
import { envListing } from '../../activities/configuration.js';
import { redact } from '../../activities/redact.js';
import { podCheck } from '../../activities/service-dependencies.js';
import { activitiesConfig } from '../../worker/activities.js';
import { EnvSchema } from '../../worker/config.js';

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
    // Runbook steps 4 and 5 with no configuration: the runbook's service.
    expect(deps.requiredEnv).toEqual(['ANTHROPIC_API_KEY']);
    expect(deps.envPattern).toBe('(ANTHROPIC|LOG|AGENT)');
    expect(deps.podDependencies).toEqual([{ name: 'anthropic', url: 'https://api.anthropic.com/v1/health' }]);
    expect(deps.dependencies).toEqual([]);
    expect(deps.rolloutPollMs).toBe(1000);
  });

  it('refuses a malformed guardrail, saying which field and what it wants', () => {
    expect(() => createDefaultDeps(config({ guardrails: { allowedNamespaces: ['default'], maxReplicas: 10, memoryCeiling: 'lots' } }))).toThrow(
      /a Kubernetes memory quantity such as/,
    );
    expect(() => createDefaultDeps(config({ guardrails: { allowedNamespaces: [], maxReplicas: 10, memoryCeiling: '4Gi' } }))).toThrow(/allowedNamespaces/);
  });
});

describe('runbook steps 4 and 5 with no configuration', () => {
  it('the worker with an empty environment checks the runbook service: its key, its env pattern, its dependency from the pod', () => {
    const config = activitiesConfig(EnvSchema.parse({}));
    expect(config.requiredEnv).toEqual(['ANTHROPIC_API_KEY']);
    expect(config.envPattern).toBe('(ANTHROPIC|LOG|AGENT)');
    expect(config.podDependencies).toEqual([{ name: 'anthropic', url: 'https://api.anthropic.com/v1/health' }]);
    expect(config.dependencies).toEqual([]);
  });

  it('POD_DEPENDENCIES and ENV_PATTERN change what steps 4 and 5 check; a pattern that is no regular expression is refused', () => {
    const config = activitiesConfig(
      EnvSchema.parse({ POD_DEPENDENCIES: 'db=http://db.internal:5432/health,search=https://search.example/v1', ENV_PATTERN: '^(DB|SEARCH)_' }),
    );
    expect(config.podDependencies).toEqual([
      { name: 'db', url: 'http://db.internal:5432/health' },
      { name: 'search', url: 'https://search.example/v1' },
    ]);
    expect(config.envPattern).toBe('^(DB|SEARCH)_');
    expect(EnvSchema.safeParse({ ENV_PATTERN: '(ANTHROPIC' }).success).toBe(false);
  });

  it('step 4 lists matching variables as the container gets them; a secret says present, never its value', () => {
    const secretValue = 'sk-ant-api03-0123456789abcdefghijklmnop';
    const spec: V1PodSpec = {
      containers: [
        {
          name: 'agent-manager',
          envFrom: [{ configMapRef: { name: 'agent-config' } }, { secretRef: { name: 'agent-secrets' } }],
          env: [
            { name: 'LOG_LEVEL', value: 'debug' },
            { name: 'ANTHROPIC_ORG', valueFrom: { secretKeyRef: { name: 'agent-secrets', key: 'ORG' } } },
            { name: 'HOME', value: '/app' },
          ],
        },
      ],
    };
    const keys = {
      configMap: new Map([['agent-config', new Set(['LOG_LEVEL', 'AGENT_MAX_WORKERS'])]]),
      secret: new Map([['agent-secrets', new Set(['ANTHROPIC_API_KEY'])]]),
    };
    const data = new Map([['agent-config', { LOG_LEVEL: 'info', AGENT_MAX_WORKERS: '8' }]]);
    const env = envListing(spec, /(ANTHROPIC|LOG|AGENT)/, keys, data, redact.withLiterals([secretValue]));
    expect(env).toEqual([
      { variable: 'AGENT_MAX_WORKERS', source: 'configMap', object: 'agent-config', present: true, value: '8' },
      { variable: 'ANTHROPIC_API_KEY', source: 'secret', object: 'agent-secrets', present: true },
      { variable: 'ANTHROPIC_ORG', source: 'secret', object: 'agent-secrets', present: false },
      // The env entry overrides the config map's key, as in the container.
      { variable: 'LOG_LEVEL', source: 'literal', present: true, value: 'debug' },
    ]);
    expect(JSON.stringify(env)).not.toContain(secretValue);
  });

  it("step 5 reads the pod's own check of the dependency: ok, or down with the status it saw", () => {
    const dependency = { name: 'anthropic', url: 'https://api.anthropic.com/v1/health' };
    expect(podCheck(dependency, 'p-1', { anthropic: 'ok', config: 'ok' })).toEqual({ name: 'anthropic', url: dependency.url, ok: true, from: 'pod/p-1' });
    expect(podCheck(dependency, 'p-1', { anthropic: 'unreachable: GET https://api.anthropic.com/v1/health returned 503 Service Unavailable' })).toEqual({
      name: 'anthropic',
      url: dependency.url,
      ok: false,
      status: 503,
      error: 'unreachable: GET https://api.anthropic.com/v1/health returned 503 Service Unavailable',
      from: 'pod/p-1',
    });
    expect(podCheck(dependency, 'p-1', { anthropic: 'connect ETIMEDOUT' })).toMatchObject({ ok: false, error: 'connect ETIMEDOUT' });
    expect(podCheck(dependency, 'p-1', { config: 'ok' })).toBeUndefined();
    // A pod that has not asked yet (starting, starved of CPU) says nothing about the dependency.
    expect(podCheck(dependency, 'p-1', { anthropic: 'pending', agents: 'loading agent registry' })).toEqual({
      pending: 'pod/p-1 has not checked anthropic yet (pending)',
    });
    // Other health-check formats: a boolean, or an object with a status.
    expect(podCheck(dependency, 'p-1', { anthropic: true })).toMatchObject({ ok: true });
    expect(podCheck(dependency, 'p-1', { anthropic: { status: 'pass', latencyMs: 80 } })).toMatchObject({ ok: true });
    expect(podCheck(dependency, 'p-1', { anthropic: { status: 'fail', output: 'HTTP 502 from upstream' } })).toMatchObject({ ok: false, status: 502 });
  });
});
