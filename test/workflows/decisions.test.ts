// The incident's decisions without Temporal: diagnose() follows the runbook's
// branches, plan() turns candidates into concrete, guarded, approval-tagged
// mutations, and the monitor, units and report helpers say what they should.
import { sha256 } from '../../activities/digest.js';
import { describe, expect, it } from 'vitest';
import type { Findings, MitigationAction } from '../../workflows/domain.js';
import { diagnose, investigationFailed, summarizeFindings, type DiagnosisCategory, type Symptom } from '../../workflows/diagnose.js';
import { plan, sameChange, type Attempt, type PlanContext, type PlanStep } from '../../workflows/plan.js';
import { assessSample, judgeSample, monitorThresholds, restartsBaseline, type SignalRules } from '../../workflows/health-verdict.js';
import { restoreStep } from '../../workflows/config-restore.js';
import { incidentSummaryReport } from '../../workflows/render.js';
import { z } from 'zod';
import { IncidentInputSchema, describeIssues } from '../../workflows/input.js';
import { canonicalJson } from '../../workflows/json.js';
import { parseImageReference } from '../../workflows/image-reference.js';
import { formatDuration, formatMemory, nextOnCadence, parseDuration, parseMemory } from '../../workflows/units.js';
import type { IncidentRecord } from '../../workflows/records.js';
import { collectedAt, crashAll, findingsWith, healthyFindings, minutesBefore, pod } from '../fixtures/findings.js';

const now = '2026-03-01T12:05:00.000Z';
const ctx = (overrides: Partial<PlanContext> = {}): PlanContext => ({
  service: { cluster: 'prod', namespace: 'default', deployment: 'agent-native-framework' },
  guardrails: { maxReplicas: 10, memoryCeiling: '4Gi' },
  autoApprove: [],
  now,
  maxAttempts: 8,
  ...overrides,
});
const tried = (action: MitigationAction, outcome: Attempt['outcome'] = 'not-recovered'): Attempt => ({ action, outcome });

// --- One broken thing per case ------------------------------------------------

const oom = (f: Findings): void => crashAll(f, 'OOMKilled', 137);
const badRollout = (f: Findings): void => {
  crashAll(f, 'Error', 1);
  const current = f.workload.revisions[0];
  if (current) current.createdAt = minutesBefore(12);
  f.logs.lastErrorLines = [{ pod: 'agent-native-framework-7d9f-a', previous: true, line: 'FATAL: cannot start: unknown flag --agents' }];
};
const oldCrash = (f: Findings): void => crashAll(f, 'Error', 1);
const neverReadyRelease = (f: Findings): void => {
  f.workload.readyReplicas = 0;
  f.workload.availableReplicas = 0;
  f.workload.pods = f.workload.pods.map((p) => pod(p.name, { ready: false }));
  f.health.service.endpoints = 0;
  f.health.live = { status: 503, body: 'no endpoints available for service' };
  f.health.ready = { status: 503, body: 'no endpoints available for service' };
  const current = f.workload.revisions[0];
  if (current) current.createdAt = minutesBefore(12);
};
const missingSecret = (f: Findings): void => {
  crashAll(f, 'Error', 1);
  f.config.secrets = [{ name: 'agent-secrets', exists: true, keys: [] }];
  f.config.missingEnv = [{ variable: 'ANTHROPIC_API_KEY', source: 'secret', object: 'agent-secrets', key: 'ANTHROPIC_API_KEY' }];
};
const invalidKey = (f: Findings): void => {
  crashAll(f, 'Error', 1);
  f.logs.lastErrorLines = [{ pod: 'p', previous: true, line: 'anthropic: 401 invalid api key' }];
};
const configDrift = (f: Findings): void => {
  crashAll(f, 'Error', 1);
  const cm = f.config.configMaps[0];
  if (cm) {
    cm.data = { ...cm.data, AGENT_MODE: 'turbo' };
    cm.drift = [{ key: 'AGENT_MODE', current: 'turbo', lastApplied: 'production', lastAppliedSha256: sha256('production') }];
  }
};
const configKeyMissing = (f: Findings): void => {
  crashAll(f, 'Error', 1);
  f.config.missingEnv = [{ variable: 'AGENT_MODE', source: 'configMap', object: 'agent-config', key: 'AGENT_MODE' }];
};
const crashDependency = (f: Findings): void => {
  crashAll(f, 'Error', 1);
  f.dependencies.probes = [{ name: 'anthropic-api', url: 'https://api.anthropic.com/v1/health', ok: false, error: 'ECONNREFUSED' }];
};
const scaledToZero = (f: Findings): void => {
  f.workload.desiredReplicas = 0;
  f.workload.readyReplicas = 0;
  f.workload.pods = [];
  f.health.service.endpoints = 0;
};
const unschedulable = (f: Findings): void => {
  f.workload.readyReplicas = 0;
  f.workload.pods = f.workload.pods.map((p) => pod(p.name, { phase: 'Pending', ready: false }));
  f.resources.schedulingFailures = ['0/3 nodes are available: 3 Insufficient memory.'];
};
const overQuota = (f: Findings): void => {
  f.workload.readyReplicas = 0;
  f.workload.pods = [];
  f.events.events = [
    { time: collectedAt, type: 'Warning', reason: 'FailedCreate', object: 'replicaset/x', message: 'pods "x" is forbidden: exceeded quota: compute', count: 4 },
  ];
};
const selectorMismatch = (f: Findings): void => {
  f.health.service.selector = { app: 'agent-native' };
  f.health.service.endpoints = 0;
  f.health.live = { status: 503, body: 'no endpoints available for service' };
  f.health.ready = { status: 503, body: 'no endpoints available for service' };
};
const dependencyUnhealthy = (f: Findings): void => {
  f.workload.readyReplicas = 0;
  f.workload.pods = f.workload.pods.map((p) => pod(p.name, { ready: false }));
  f.health.ready = { status: 503, body: 'dependency anthropic-api unreachable' };
  f.dependencies.probes = [{ name: 'anthropic-api', url: 'https://api.anthropic.com/v1/health', ok: false, error: 'timeout' }];
};
const unhealthyUnknown = (f: Findings): void => {
  f.workload.readyReplicas = 1;
  f.health.ready = { status: 500, body: 'internal error' };
};
/** Running, never ready, CPU pinned at a tiny limit: starved by its own resources, not OOM-killed. */
const cpuStarved = (f: Findings): void => {
  f.workload.readyReplicas = 0;
  f.workload.availableReplicas = 0;
  f.workload.pods = f.workload.pods.map((p) => pod(p.name, { ready: false }));
  const c = f.workload.containers[0];
  if (c) {
    c.requests = { cpu: '50m', memory: '256Mi' };
    c.limits = { cpu: '100m', memory: '2Gi' };
  }
  f.resources.podUsage = f.workload.pods.map((p) => ({ pod: p.name, cpuMillis: 100, memoryBytes: 700 * 2 ** 20, memoryLimitBytes: 2 * 2 ** 30 }));
  f.health.service.endpoints = 0;
  f.health.live = { status: 503, body: 'no endpoints available for service' };
  f.health.ready = { status: 503, body: 'no endpoints available for service' };
  f.events.events = [
    {
      time: collectedAt,
      type: 'Warning',
      reason: 'Unhealthy',
      object: `pod/${f.workload.pods[0]?.name ?? ''}`,
      message: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
      count: 7,
    },
  ];
};
const runbookResources = {
  kind: 'set-resources',
  container: 'agent-manager',
  requests: { cpu: '500m', memory: '1Gi' },
  limits: { cpu: '2000m', memory: '4Gi' },
} as const;
const imagePull = (f: Findings): void => {
  f.workload.readyReplicas = 0;
  f.workload.pods = f.workload.pods.map((p) => pod(p.name, { phase: 'Pending', ready: false, waitingReason: 'ImagePullBackOff' }));
  const current = f.workload.revisions[0];
  if (current) current.createdAt = minutesBefore(5);
};
const missingDeployment = (f: Findings): void => {
  f.workload.exists = false;
  f.workload.pods = [];
};

const cases: {
  name: string;
  change: (f: Findings) => void;
  category: DiagnosisCategory;
  symptom: Symptom;
  first: Partial<PlanStep> & { action?: MitigationAction };
  evidence?: RegExp;
}[] = [
  { name: 'all healthy', change: () => undefined, category: 'healthy', symptom: 'healthy', first: { kind: 'verify' } },
  {
    name: 'CrashLoopBackOff, OOMKilled',
    change: oom,
    category: 'oom-killed',
    symptom: 'crash-loop',
    first: { kind: 'mitigate', action: { kind: 'set-resources', container: 'agent-manager', limits: { memory: '4Gi' } } },
    evidence: /OOMKilled \(137\)/,
  },
  {
    name: 'CrashLoopBackOff after a recent rollout, previous revision healthy',
    change: badRollout,
    category: 'bad-rollout',
    symptom: 'crash-loop',
    first: { kind: 'mitigate', action: { kind: 'rollout-undo', toRevision: 2 } },
    evidence: /cannot start/,
  },
  {
    name: 'ImagePullBackOff after a recent rollout',
    change: imagePull,
    category: 'bad-rollout',
    symptom: 'crash-loop',
    first: { kind: 'mitigate', action: { kind: 'rollout-undo', toRevision: 2 } },
  },
  {
    name: 'pods running but never ready after a recent rollout, previous revision healthy (the ingress answers 5xx)',
    change: neverReadyRelease,
    category: 'bad-rollout',
    symptom: 'unhealthy',
    first: { kind: 'mitigate', action: { kind: 'rollout-undo', toRevision: 2 } },
    evidence: /revision 3: agent-native-framework:v1\.5\.0; revision 2: agent-native-framework:v1\.4\.0 \(2 ready\)/,
  },
  {
    name: 'CrashLoopBackOff, secret key missing',
    change: missingSecret,
    category: 'missing-key',
    symptom: 'crash-loop',
    first: {
      kind: 'mitigate',
      action: { kind: 'rollout-restart', restartedAt: now },
      humanFix: 'restore key ANTHROPIC_API_KEY in secret agent-secrets (env ANTHROPIC_API_KEY)',
    },
  },
  {
    name: 'CrashLoopBackOff, invalid API key in the logs',
    change: invalidKey,
    category: 'missing-key',
    symptom: 'crash-loop',
    first: { kind: 'mitigate', action: { kind: 'rollout-restart', restartedAt: now }, humanFix: 'replace the invalid API key in its secret' },
  },
  {
    name: 'CrashLoopBackOff, config map drifted from last applied',
    change: configDrift,
    category: 'config-drift',
    symptom: 'crash-loop',
    first: { kind: 'mitigate', action: { kind: 'restore-config-map', name: 'agent-config', keys: { AGENT_MODE: sha256('production') }, restartedAt: now } },
  },
  {
    name: 'CrashLoopBackOff, config key missing with nothing to restore',
    change: configKeyMissing,
    category: 'missing-key',
    symptom: 'crash-loop',
    first: {
      kind: 'mitigate',
      action: { kind: 'rollout-restart', restartedAt: now },
      humanFix: 'add key AGENT_MODE to config map agent-config (env AGENT_MODE)',
    },
  },
  {
    name: 'CrashLoopBackOff, dependency unreachable',
    change: crashDependency,
    category: 'dependency-unreachable',
    symptom: 'crash-loop',
    first: { kind: 'escalate' },
    evidence: /ECONNREFUSED/,
  },
  {
    name: 'CrashLoopBackOff after a recent rollout, a dependency probe with no answer that the logs do not echo',
    change: (f) => {
      badRollout(f);
      f.dependencies.probes = [{ name: 'anthropic', url: 'https://api.anthropic.com/v1/health', ok: false, error: 'no answer within 5000 ms' }];
    },
    category: 'bad-rollout',
    symptom: 'crash-loop',
    first: { kind: 'mitigate', action: { kind: 'rollout-undo', toRevision: 2 } },
    evidence: /anthropic https:\/\/api\.anthropic\.com\/v1\/health: no answer within 5000 ms \(not in the pods' logs\)/,
  },
  {
    name: 'CrashLoopBackOff after a recent rollout, the dependency down and named in the logs',
    change: (f) => {
      badRollout(f);
      f.dependencies.probes = [{ name: 'anthropic', url: 'https://api.anthropic.com/v1/health', ok: false, error: 'ECONNREFUSED' }];
      f.logs.lastErrorLines = [{ pod: 'p', previous: true, line: 'FATAL GET https://api.anthropic.com/v1/models failed: connect ECONNREFUSED' }];
    },
    category: 'dependency-unreachable',
    symptom: 'crash-loop',
    first: { kind: 'escalate' },
    evidence: /ECONNREFUSED/,
  },
  {
    name: 'no pods, replicas 0',
    change: scaledToZero,
    category: 'scaled-to-zero',
    symptom: 'no-pods',
    first: { kind: 'mitigate', action: { kind: 'scale', replicas: 2 } },
  },
  {
    name: 'no pods, FailedScheduling',
    change: unschedulable,
    category: 'unschedulable',
    symptom: 'no-pods',
    first: { kind: 'escalate' },
    evidence: /node node-a: cpu 750m\/2000m/,
  },
  {
    name: 'no pods, quota exceeded',
    change: overQuota,
    category: 'unschedulable',
    symptom: 'no-pods',
    first: { kind: 'escalate' },
    evidence: /quota compute: requests.memory 3Gi\/8Gi/,
  },
  {
    name: 'running, service selects no pods',
    change: selectorMismatch,
    category: 'selector-mismatch',
    symptom: 'unhealthy',
    first: { kind: 'mitigate', action: { kind: 'set-service-selector', service: 'agent-native-framework', selector: { app: 'agent-native-framework' } } },
  },
  {
    name: 'running, readiness fails on a dependency',
    change: dependencyUnhealthy,
    category: 'dependency-unreachable',
    symptom: 'unhealthy',
    first: { kind: 'escalate' },
    evidence: /anthropic-api/,
  },
  {
    name: 'running, unhealthy for no known reason',
    change: unhealthyUnknown,
    category: 'unknown',
    symptom: 'unhealthy',
    first: { kind: 'mitigate', action: { kind: 'rollout-undo', toRevision: 2 }, approval: 'human' },
  },
  {
    name: 'running, never ready, CPU throttled at a tiny limit',
    change: cpuStarved,
    category: 'resource-starved',
    symptom: 'unhealthy',
    first: { kind: 'mitigate', action: runbookResources, approval: 'human' },
    evidence: /cpu 100m of limit 100m \(kubectl top\)/,
  },
  {
    name: 'CrashLoopBackOff, old rollout, nothing else wrong',
    change: oldCrash,
    category: 'unknown',
    symptom: 'crash-loop',
    first: { kind: 'mitigate', action: { kind: 'rollout-undo', toRevision: 2 }, approval: 'human' },
  },
  { name: 'deployment missing', change: missingDeployment, category: 'deployment-missing', symptom: 'unknown', first: { kind: 'escalate' } },
];

describe('diagnose and plan, one runbook branch per case', () => {
  it.each(cases)('$name → $category', ({ change, category, symptom, first, evidence }) => {
    const findings = findingsWith(change);
    const diagnosis = diagnose(findings);
    expect(diagnosis).toMatchObject({ category, symptom });
    expect(diagnosis.evidence.length).toBeLessThanOrEqual(10);
    if (evidence) expect(diagnosis.evidence.join('\n')).toMatch(evidence);
    expect(plan(diagnosis, findings, [], ctx())).toMatchObject(first);
  });
});

describe('plan', () => {
  it('walks the emergency ladder in the runbook order, each step for a human, then escalates', () => {
    const findings = findingsWith(oldCrash);
    const diagnosis = diagnose(findings);
    const history: Attempt[] = [];
    const steps: PlanStep[] = [];
    for (let i = 0; i < 5; i++) {
      const step = plan(diagnosis, findings, history, ctx({ autoApprove: ['rollout-undo', 'scale', 'patch-config-map'] }));
      steps.push(step);
      if (step.kind !== 'mitigate') break;
      history.push(tried(step.action));
    }
    expect(steps.map((s) => (s.kind === 'mitigate' ? s.command : s.kind))).toEqual([
      'kubectl -n default rollout undo deployment/agent-native-framework --to-revision=2',
      'kubectl -n default scale deployment/agent-native-framework --replicas=4',
      `kubectl -n default patch configmap agent-config -p '{"data":{"LOG_LEVEL":"DEBUG"}}' && kubectl -n default rollout restart deployment/agent-native-framework`,
      'escalate',
    ]);
    expect(steps.filter((s) => s.kind === 'mitigate').every((s) => s.kind === 'mitigate' && s.approval === 'human')).toBe(true);
  });

  const raiseTo = (memory: string) => ({ kind: 'mitigate', action: { kind: 'set-resources', container: 'agent-manager', limits: { memory } } });
  it.each([
    { limit: '256Mi', ceiling: '4Gi', expected: raiseTo('4Gi') },
    { limit: '3Gi', ceiling: '4Gi', expected: raiseTo('4Gi') },
    { limit: '256Mi', ceiling: '8Gi', expected: raiseTo('4Gi') },
    {
      limit: '256Mi',
      ceiling: '2Gi',
      expected: { ...raiseTo('2Gi'), why: expect.stringContaining("the runbook's 4Gi is clamped to the memory ceiling 2Gi") as unknown },
    },
    { limit: '4Gi', ceiling: '4Gi', expected: { kind: 'escalate', reason: 'memory cannot be raised further within the ceiling: needs capacity planning' } },
    {
      limit: '5Gi',
      ceiling: '8Gi',
      expected: { kind: 'escalate', evidence: expect.arrayContaining([expect.stringMatching(/already at or above the runbook's 4Gi/)]) as unknown },
    },
  ])("sets a $limit memory limit to the runbook's 4Gi under the $ceiling ceiling", ({ limit, ceiling, expected }) => {
    const findings = findingsWith((f) => {
      oom(f);
      const c = f.workload.containers[0];
      if (c) c.limits.memory = limit;
    });
    expect(plan(diagnose(findings), findings, [], ctx({ guardrails: { maxReplicas: 10, memoryCeiling: ceiling } }))).toMatchObject(expected);
  });

  it('keeps doubling the memory limit for incidents started before the runbook value (legacyMemoryDoubling)', () => {
    const findings = findingsWith(oom);
    expect(plan(diagnose(findings), findings, [], ctx({ legacyMemoryDoubling: true }))).toMatchObject(raiseTo('512Mi'));
  });

  it("proposes the runbook's requests and limits for a starved container, clamped by the memory ceiling and saying so", () => {
    const findings = findingsWith(cpuStarved);
    expect(plan(diagnose(findings), findings, [], ctx({ guardrails: { maxReplicas: 10, memoryCeiling: '3Gi' } }))).toMatchObject({
      kind: 'mitigate',
      action: { ...runbookResources, limits: { cpu: '2000m', memory: '3Gi' } },
      command:
        'kubectl -n default set resources deployment/agent-native-framework -c agent-manager --limits=cpu=2000m,memory=3Gi --requests=cpu=500m,memory=1Gi',
      why: expect.stringContaining("limits.memory: the runbook's 4Gi is clamped to the memory ceiling 3Gi (MEMORY_CEILING)") as unknown,
    });
  });

  it('never lowers a quantity already above the runbook value: only the low ones are in the patch', () => {
    const findings = findingsWith((f) => {
      cpuStarved(f);
      const c = f.workload.containers[0];
      if (c) c.requests = { cpu: '50m', memory: '3Gi' };
      if (c) c.limits = { cpu: '100m', memory: '6Gi' };
    });
    expect(plan(diagnose(findings), findings, [], ctx({ guardrails: { maxReplicas: 10, memoryCeiling: '8Gi' } }))).toMatchObject({
      action: { kind: 'set-resources', container: 'agent-manager', requests: { cpu: '500m' }, limits: { cpu: '2000m' } },
    });
  });

  it('takes a CPU limit far below the runbook for starvation only where kubectl top has no figures; a limit with headroom is not starvation', () => {
    const noMetrics = findingsWith((f) => {
      cpuStarved(f);
      f.resources.podUsage = [];
      f.resources.gaps = ['memory and CPU use unknown (kubectl top needs metrics-server)'];
    });
    expect(diagnose(noMetrics)).toMatchObject({ category: 'resource-starved', cause: expect.stringContaining('below the runbook') as unknown });
    const headroom = findingsWith((f) => {
      cpuStarved(f);
      f.resources.podUsage = f.resources.podUsage.map((u) => ({ ...u, cpuMillis: 40 }));
    });
    expect(diagnose(headroom).category).toBe('unknown');
    // Incidents started before the diagnosis existed see the same pods as an unknown cause.
    expect(diagnose(findingsWith(cpuStarved), { resourceStarvation: false }).category).toBe('unknown');
  });

  // Found by the property tests: "×2" of a zero limit (no limit at all for the kubelet) is no raise.
  it.each(['0', '0Mi'])(
    'does not "raise" a %s memory limit: it escalates the OOMKill instead of spending an attempt on a change that changes nothing',
    (limit) => {
      const findings = findingsWith((f) => {
        oom(f);
        const c = f.workload.containers[0];
        if (c) c.limits.memory = limit;
      });
      expect(plan(diagnose(findings), findings, [], ctx())).toMatchObject({
        kind: 'escalate',
        evidence: expect.arrayContaining([`skipped raise-memory: container agent-manager has no memory limit to raise (${limit})`]) as unknown,
      });
    },
  );

  it.each([
    { maxReplicas: 10, replicas: 2 },
    { maxReplicas: 1, replicas: 1 },
  ])('scales a zero-replica deployment to min(2, max replicas $maxReplicas)', ({ maxReplicas, replicas }) => {
    const findings = findingsWith(scaledToZero);
    expect(plan(diagnose(findings), findings, [], ctx({ guardrails: { maxReplicas, memoryCeiling: '4Gi' } }))).toMatchObject({
      action: { kind: 'scale', replicas },
    });
  });

  it.each([
    { policy: [], approval: 'human' },
    { policy: ['scale'], approval: 'auto' },
    { policy: ['rollout-undo'], approval: 'human' },
  ] as const)('auto-approves scale only when the namespace policy lists it ($policy)', ({ policy, approval }) => {
    const findings = findingsWith(scaledToZero);
    expect(plan(diagnose(findings), findings, [], ctx({ autoApprove: policy }))).toMatchObject({ approval });
  });

  it('never auto-approves a step that needs a human fix first', () => {
    const findings = findingsWith(missingSecret);
    expect(plan(diagnose(findings), findings, [], ctx({ autoApprove: ['rollout-restart'] }))).toMatchObject({ kind: 'mitigate', approval: 'human' });
  });

  it('escalates a missing secret once its restart was tried', () => {
    const findings = findingsWith(missingSecret);
    const step = plan(diagnose(findings), findings, [tried({ kind: 'rollout-restart', restartedAt: '2026-03-01T11:00:00.000Z' }, 'rejected')], ctx());
    expect(step).toMatchObject({ kind: 'escalate', reason: expect.stringMatching(/^human fix required: restore key ANTHROPIC_API_KEY/) as unknown });
  });

  it('restores drifted config by digest only: a value shown cut or masked never reaches the action', () => {
    const exact = JSON.stringify({ routes: Array.from({ length: 40 }, (_, i) => ({ path: `/v1/agents/${i}`, weight: i })) });
    const shownCut = `${exact.slice(0, 499)}…`;
    const findings = findingsWith((f) => {
      crashAll(f, 'Error', 1);
      const cm = f.config.configMaps[0];
      if (cm)
        cm.drift = [
          { key: 'ROUTES', current: '{', lastApplied: shownCut, lastAppliedSha256: sha256(exact) },
          { key: 'API_TOKEN', current: '***', lastApplied: '***', lastAppliedSha256: sha256('real-token-value') },
        ];
    });
    const step = plan(diagnose(findings), findings, [], ctx());
    expect(step).toMatchObject({
      kind: 'mitigate',
      action: { kind: 'restore-config-map', keys: { ROUTES: sha256(exact), API_TOKEN: sha256('real-token-value') } },
    });
    const written = JSON.stringify(step);
    expect(written).not.toContain(shownCut.slice(0, 40));
    expect(written).not.toContain('***');
  });

  it('takes every restart timestamp from the workflow time it is given', () => {
    const findings = findingsWith(configDrift);
    const at = '2030-01-01T00:00:00.000Z';
    expect(plan(diagnose(findings), findings, [], ctx({ now: at }))).toMatchObject({ action: { restartedAt: at } });
  });

  it('escalates at the attempt cap whatever is left', () => {
    const findings = findingsWith(oldCrash);
    const history = [tried({ kind: 'scale', replicas: 9 }), tried({ kind: 'scale', replicas: 8 })];
    expect(plan(diagnose(findings), findings, history, ctx({ maxAttempts: 2 }))).toMatchObject({
      kind: 'escalate',
      reason: '2 mitigation attempts reached the cap of 2',
    });
  });

  it('skips a ladder scale-up when the deployment already runs that many replicas', () => {
    const findings = findingsWith((f) => {
      oldCrash(f);
      f.workload.desiredReplicas = 4;
    });
    const step = plan(diagnose(findings), findings, [tried({ kind: 'rollout-undo', toRevision: 2 })], ctx());
    expect(step).toMatchObject({ kind: 'mitigate', action: { kind: 'patch-config-map', data: { LOG_LEVEL: 'DEBUG' } } });
  });

  it('treats two actions that differ only in the restart timestamp as the same change', () => {
    expect(sameChange({ kind: 'rollout-restart', restartedAt: 'a' }, { kind: 'rollout-restart', restartedAt: 'b' })).toBe(true);
    expect(sameChange({ kind: 'scale', replicas: 2 }, { kind: 'scale', replicas: 4 })).toBe(false);
    // Key order and absent members do not make a different change (a snapshot's copy has neither).
    const raise = { kind: 'set-resources', container: 'app', limits: { memory: '512Mi' } } as const;
    expect(sameChange(raise, { limits: { memory: '512Mi', cpu: undefined }, container: 'app', requests: undefined, kind: 'set-resources' })).toBe(true);
  });

  it('keeps an incident started before it on the dependency when a probe fails beside a recent rollout (replay)', () => {
    const findings = findingsWith((f) => {
      badRollout(f);
      f.dependencies.probes = [{ name: 'anthropic', url: 'https://api.anthropic.com/v1/health', ok: false, error: 'no answer within 5000 ms' }];
    });
    expect(diagnose(findings, { rolloutOverSilentDependency: false }).category).toBe('dependency-unreachable');
    expect(diagnose(findings).category).toBe('bad-rollout');
  });

  it('rolls back a recent rollout of new images even when the previous replica set is scaled to zero (Recreate)', () => {
    const findings = findingsWith((f) => {
      crashAll(f, 'Error', 1);
      f.workload.currentRevision = 3;
      f.workload.revisions = [
        { revision: 3, replicaSet: 'rs-3', images: ['agent-native-framework:v1.5.0'], createdAt: minutesBefore(2), readyReplicas: 0 },
        { revision: 2, replicaSet: 'rs-2', images: ['agent-native-framework:v1.4.2'], createdAt: minutesBefore(9000), readyReplicas: 0 },
      ];
    });
    const diagnosis = diagnose(findings);
    expect(diagnosis.category).toBe('bad-rollout');
    expect(plan(diagnosis, findings, [], ctx())).toMatchObject({ kind: 'mitigate', action: { kind: 'rollout-undo', toRevision: 2 } });
  });

  it('does not take its own rollback for a bad rollout (same images as the healthy revision)', () => {
    const findings = findingsWith((f) => {
      crashAll(f, 'Error', 1);
      f.workload.currentRevision = 4;
      f.workload.revisions = [
        { revision: 4, replicaSet: 'rs-4', images: ['agent-native-framework:v1.4.0'], createdAt: minutesBefore(2), readyReplicas: 0 },
        { revision: 3, replicaSet: 'rs-3', images: ['agent-native-framework:v1.5.0'], createdAt: minutesBefore(3000), readyReplicas: 0 },
        { revision: 2, replicaSet: 'rs-2', images: ['agent-native-framework:v1.4.0'], createdAt: minutesBefore(9000), readyReplicas: 2 },
      ];
    });
    const diagnosis = diagnose(findings);
    expect(diagnosis.category).toBe('unknown');
    expect(plan(diagnosis, findings, [tried({ kind: 'rollout-undo', toRevision: 3 })], ctx())).toMatchObject({ action: { kind: 'scale', replicas: 4 } });
  });

  it('rolls back at most once per incident: the ladder moves on instead of undoing its own rollback', () => {
    const findings = findingsWith((f) => {
      crashAll(f, 'Error', 1);
      f.workload.currentRevision = 4;
      // Kubernetes rolls back by reusing the old replica set: revision 4 is the former revision 2, created long ago.
      f.workload.revisions = [
        { revision: 4, replicaSet: 'rs-2', images: ['agent-native-framework:v1.4.0'], createdAt: minutesBefore(9000), readyReplicas: 0 },
        { revision: 3, replicaSet: 'rs-3', images: ['agent-native-framework:v1.5.0'], createdAt: minutesBefore(3000), readyReplicas: 0 },
      ];
    });
    const step = plan(diagnose(findings), findings, [tried({ kind: 'rollout-undo', toRevision: 2 })], ctx());
    expect(step).toMatchObject({ kind: 'mitigate', action: { kind: 'scale', replicas: 4 } });
  });

  it('hands a failed investigation to people with the errors', () => {
    const diagnosis = investigationFailed(['inspectWorkload: 403 forbidden']);
    expect(diagnosis).toMatchObject({ category: 'investigation-failed', evidence: ['inspectWorkload: 403 forbidden'] });
    expect(plan(diagnosis, healthyFindings(), [], ctx())).toMatchObject({ kind: 'escalate' });
  });
});

describe('monitor samples', () => {
  const rules = { maxErrorRate: 0.05, consecutiveBadSamples: 2 };
  const good = { at: now, readyPods: 2, desiredPods: 2, restarts: 0, live: true, ready: true, errorRate: 0.01 };
  it.each([
    { name: 'a healthy sample', sample: good, badBefore: 0, bad: false, regression: false },
    { name: 'new restarts, at once', sample: { ...good, restarts: 1 }, badBefore: 0, bad: true, regression: true },
    { name: 'one high error rate sample', sample: { ...good, errorRate: 0.2 }, badBefore: 0, bad: true, regression: false },
    { name: 'a second unhealthy sample in a row', sample: { ...good, ready: false }, badBefore: 1, bad: true, regression: true },
  ])('$name → regression $regression', ({ sample, badBefore, bad, regression }) => {
    expect(assessSample(sample, 0, badBefore, rules)).toMatchObject({ bad, regression });
  });

  describe('all four key metrics, each against its threshold', () => {
    const signalRules: SignalRules = {
      maxErrorRate: 0.05,
      consecutiveBadSamples: 2,
      latencyFactor: 2,
      defaultMaxP99LatencyMs: 10_000,
      restartTolerance: 1,
      minActiveAgentsRatio: 0.5,
    };
    const t = monitorThresholds(signalRules, { p99LatencyMs: 450, activeAgents: 10, from: 'Prometheus, 30m before the alert' });
    const fine = { ...good, p99LatencyMs: 600, activeAgents: 8 };
    it.each([
      { name: 'a healthy sample', sample: fine, badBefore: 0, bad: false, regression: false, reason: undefined },
      { name: 'one restart, within the tolerance', sample: { ...fine, restarts: 1 }, badBefore: 1, bad: false, regression: false, reason: undefined },
      {
        name: 'restarts past the tolerance, at once',
        sample: { ...fine, restarts: 2 },
        badBefore: 0,
        bad: true,
        regression: true,
        reason: /^2 new restarts > 1 tolerated$/,
      },
      {
        name: 'p99 over 2× the baseline, once',
        sample: { ...fine, p99LatencyMs: 950 },
        badBefore: 0,
        bad: true,
        regression: false,
        reason: /^p99 950 ms > 900 ms \(2× the p99 before the incident \(450 ms, Prometheus, 30m before the alert\)\)$/,
      },
      { name: 'p99 over 2× the baseline, twice', sample: { ...fine, p99LatencyMs: 950 }, badBefore: 1, bad: true, regression: true, reason: /^p99 950 ms/ },
      {
        name: 'active agents under half the baseline',
        sample: { ...fine, activeAgents: 4 },
        badBefore: 1,
        bad: true,
        regression: true,
        reason: /^4 active agents < 5 /,
      },
      {
        name: 'the error rate over 5%',
        sample: { ...fine, errorRate: 0.2 },
        badBefore: 1,
        bad: true,
        regression: true,
        reason: /^error rate 20\.0% > 5\.0% \(configured/,
      },
      { name: 'metrics the service does not report', sample: good, badBefore: 1, bad: false, regression: false, reason: undefined },
    ])('$name → bad $bad, regression $regression', ({ sample, badBefore, bad, regression, reason }) => {
      const verdict = judgeSample(sample, t, 0, badBefore, 2);
      expect(verdict).toMatchObject({ bad, regression });
      if (reason) expect(verdict.reasons[0]).toMatch(reason);
    });

    it('takes p99 from the configuration first, then the baseline, then the default; agents from the baseline, else at least one', () => {
      expect(monitorThresholds({ ...signalRules, maxP99LatencyMs: 300 }, { p99LatencyMs: 450, from: 'x' }).maxP99LatencyMs).toEqual({
        value: 300,
        from: 'configured (regression.maxP99LatencyMs)',
      });
      const none = monitorThresholds(signalRules, { from: 'no Prometheus configured (PROMETHEUS_URL)' });
      expect(none.maxP99LatencyMs).toEqual({ value: 10_000, from: 'default, no baseline (no Prometheus configured (PROMETHEUS_URL))' });
      expect(none.minActiveAgents.value).toBe(1);
      expect(judgeSample({ ...good, activeAgents: 0 }, none, 0, 0, 2).reasons).toEqual([expect.stringMatching(/^0 active agents < 1/)]);
    });
  });

  it('counts restarts from zero after an action that replaces the pods, from the current count otherwise', () => {
    const findings = findingsWith((f) => crashAll(f, 'Error', 1));
    expect(restartsBaseline({ kind: 'rollout-undo', toRevision: 2 }, findings)).toBe(0);
    expect(restartsBaseline({ kind: 'scale', replicas: 4 }, findings)).toBe(10);
  });
});

describe('input, units and report', () => {
  it('fills in the runbook figures as defaults', () => {
    const config = IncidentInputSchema.parse({
      service: { cluster: 'prod', namespace: 'default', deployment: 'agent-native-framework' },
      alert: { name: 'ServiceDown', severity: 'critical', startsAt: collectedAt, fingerprint: 'abc' },
    });
    expect(config.durations).toMatchObject({
      monitor: 30 * 60_000,
      sampleInterval: 60_000,
      escalationL2: 15 * 60_000,
      escalationL3: 30 * 60_000,
      statusInterval: 15 * 60_000,
    });
    expect(config.durations.taskDue).toEqual({ immediate: 24 * 3_600_000, followUp: 7 * 86_400_000, longTerm: 30 * 86_400_000 });
    expect(IncidentInputSchema.parse(config)).toEqual(config);
  });

  it.each([
    { durations: { monitor: '3h', sampleInterval: '1m' }, message: /at most 120 monitor samples/ },
    { durations: { escalationL2: '30m', escalationL3: '15m' }, message: /L3 must come after L2/ },
    { durations: { approvalTimeout: 'soon' }, message: /a duration such as/ },
  ])('refuses $durations', ({ durations, message }) => {
    const result = IncidentInputSchema.safeParse({
      service: { cluster: 'prod', namespace: 'default', deployment: 'agent-native-framework' },
      alert: { name: 'ServiceDown', severity: 'critical', startsAt: collectedAt, fingerprint: 'abc' },
      durations,
    });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toMatch(message);
  });

  it('writes canonical JSON: sorted keys, no undefined members, arrays kept in order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: undefined } })).toBe('{"a":{"d":[2,1]},"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(canonicalJson([undefined, 'x'])).toBe('[null,"x"]');
  });

  it('describes a zod error one way everywhere: path: message, five at most, then how many more', () => {
    const eight = z.object(Object.fromEntries('abcdefgh'.split('').map((k) => [k, z.number()])));
    const error = eight.safeParse({}).error;
    expect(error).toBeDefined();
    const text = describeIssues(error!, '(payload)');
    expect(text.split('; ')).toHaveLength(6);
    expect(text).toMatch(/^a: .+; b: .+; c: .+; d: .+; e: .+; and 3 more$/);
    expect(describeIssues(z.string().safeParse(1).error!, '(payload)')).toMatch(/^\(payload\): /);
    expect(describeIssues(z.string().safeParse(1).error!)).toMatch(/^\(root\): /);
  });

  it('parses and prints memory and durations', () => {
    expect(parseMemory('512Mi')).toBe(512 * 2 ** 20);
    expect(parseMemory('1G')).toBe(1e9);
    expect(parseMemory('lots')).toBeUndefined();
    expect(formatMemory(4 * 2 ** 30)).toBe('4Gi');
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(formatDuration(90 * 60_000)).toBe('1h 30m');
  });

  it('drafts the summary with timeline, findings, actions and durations from the record', () => {
    const record: IncidentRecord = {
      incidentId: 'incident/prod/default/agent-native-framework',
      incidentNumber: 42,
      service: { cluster: 'prod', namespace: 'default', deployment: 'agent-native-framework' },
      severity: 'critical',
      alert: { name: 'ServiceDown', severity: 'critical', summary: 'down', labels: {}, startsAt: collectedAt, fingerprint: 'abc' },
      openedAt: '2026-03-01T12:00:00.000Z',
      acknowledged: { by: 'alice', at: '2026-03-01T12:03:00.000Z' },
      restoredAt: '2026-03-01T12:07:00.000Z',
      resolvedAt: '2026-03-01T12:37:00.000Z',
      resolution: 'mitigated',
      escalationLevel: 1,
      diagnosis: { category: 'bad-rollout', symptom: 'crash-loop', cause: 'revision 3 fails', evidence: ['pod x: CrashLoopBackOff'] },
      findingsSummary: summarizeFindings(findingsWith(badRollout)),
      actions: [
        {
          n: 1,
          action: { kind: 'rollout-undo', toRevision: 2 },
          command: 'kubectl -n default rollout undo deployment/agent-native-framework --to-revision=2',
          why: 'rollback',
          approval: 'human',
          idempotencyKey: 'k/action-1',
          requestedAt: '2026-03-01T12:04:00.000Z',
          decision: { approved: true, by: 'alice', at: '2026-03-01T12:05:00.000Z' },
          outcome: 'recovered',
          appliedAt: '2026-03-01T12:05:01.000Z',
        },
      ],
      timeline: [{ at: '2026-03-01T12:00:00.000Z', kind: 'opened', text: 'ServiceDown' }],
      timelineOmitted: 0,
    };
    const md = incidentSummaryReport(record);
    expect(md).toContain('# Incident summary: INC-42 ServiceDown: default/agent-native-framework (prod)');
    expect(md).toContain('| acknowledged | 2026-03-01T12:03:00.000Z (alice) | 3m |');
    expect(md).toContain('| restored | 2026-03-01T12:07:00.000Z | 7m |');
    expect(md).toContain('| resolved | 2026-03-01T12:37:00.000Z | 37m |');
    expect(md).toContain('- #1 `kubectl -n default rollout undo deployment/agent-native-framework --to-revision=2` — **recovered** (approved by alice)');
    expect(md).toContain('deployment 0/2 ready, revision 3; pods: 2 CrashLoopBackOff; 10 restarts; last exit Error (1)');
    expect(md).toContain('- 2026-03-01T12:00:00.000Z **opened** ServiceDown');
  });
});

describe('the status cadence', () => {
  const m = 60_000;
  it.each([
    ['on time: the next one an interval later', 15 * m, 15 * m, 30 * m],
    ['a little late: still the next slot', 15 * m, 20 * m, 30 * m],
    ['after a two-hour outage: one catch-up now, then the next slot after now', 15 * m, 120 * m, 135 * m],
    ['exactly on a later slot: the one after it', 15 * m, 45 * m, 60 * m],
  ])('%s', (_case, due, now, next) => {
    expect(nextOnCadence(due, now, 15 * m)).toBe(next);
  });
});

describe('image references (a hotfix image a person supplies)', () => {
  it.each([
    ['agent-native-framework:hotfix-v1.0.1', { name: 'agent-native-framework', tag: 'hotfix-v1.0.1' }],
    ['registry.example.com:5000/team/agent-native-framework:hotfix_2', { name: 'registry.example.com:5000/team/agent-native-framework', tag: 'hotfix_2' }],
    [`localhost/app@sha256:${'a'.repeat(64)}`, { name: 'localhost/app', digest: `sha256:${'a'.repeat(64)}` }],
    [`[::1]:5000/app:v1@sha256:${'b'.repeat(64)}`, { name: '[::1]:5000/app', tag: 'v1', digest: `sha256:${'b'.repeat(64)}` }],
  ])('reads %s', (text, parts) => {
    expect(parseImageReference(text)).toEqual(parts);
  });

  it.each([
    ['', /is required/],
    ['app', /names no tag or digest/],
    ['app:v1 --namespace=kube-system', /whitespace or control characters/],
    ['app:v1\n', /whitespace or control characters/],
    ['app:v1;rm', /is not an image reference/],
    ['$(id):v1', /is not an image reference/],
    ["app:v1'&&x", /is not an image reference/],
    ['App:v1', /is not an image reference/],
    ['../app:v1', /is not an image reference/],
    ['app:-v1', /is not an image reference/],
    [`app:${'t'.repeat(129)}`, /is not an image reference/],
    ['app@sha256:abc', /is not an image reference/],
    [`${'a'.repeat(256)}:v1`, /longer than 255/],
  ])('refuses %j: %s', (text, message) => {
    const parsed = parseImageReference(text);
    expect('error' in parsed ? parsed.error : 'accepted').toMatch(message);
  });
});

describe("putting back emergency option 3's LOG_LEVEL", () => {
  const service = { cluster: 'local', namespace: 'default', deployment: 'agent-native-framework' };
  const debug: MitigationAction = { kind: 'patch-config-map', name: 'agent-config', data: { LOG_LEVEL: 'DEBUG' }, restartedAt: collectedAt };
  const applied = (overwrites: Record<string, string | null>) => ({
    n: 3,
    action: debug,
    command: 'kubectl patch',
    why: 'emergency option 3',
    approval: 'human' as const,
    idempotencyKey: 'incident/x/action-3',
    requestedAt: collectedAt,
    outcome: 'recovered' as const,
    appliedAt: collectedAt,
    overwrites,
  });
  it.each([
    { before: 'INFO', action: { data: { LOG_LEVEL: 'INFO' } }, command: `-p '{"data":{"LOG_LEVEL":"INFO"}}'` },
    { before: null, action: { data: {}, remove: ['LOG_LEVEL'] }, command: `-p '{"data":{"LOG_LEVEL":null}}'` },
  ])('LOG_LEVEL $before before → $command', ({ before, action, command }) => {
    const step = restoreStep(applied({ LOG_LEVEL: before }), service, collectedAt);
    expect(step?.action).toEqual({ kind: 'patch-config-map', name: 'agent-config', ...action, restartedAt: collectedAt });
    expect(step?.command).toContain(command);
    expect(step?.approval).toBe('auto');
  });
});

// --- The cause many services share (a storm) ----------------------------------

describe('diagnose names the cause that many services can share', () => {
  it('a dependency down: every service names the same dependency', () => {
    const causes = ['svc-a', 'svc-b'].flatMap((d) => [
      diagnose(findingsWith(dependencyUnhealthy, d)).commonCause,
      diagnose(findingsWith(crashDependency, d)).commonCause,
    ]);
    expect(causes).toEqual(Array(4).fill({ kind: 'dependency', name: 'anthropic-api' }));
  });

  it('a node pool full: unschedulable, with the pool in the cause and the evidence', () => {
    for (const [selector, pool] of [
      [{ pool: 'agents' }, 'agents'],
      [{ 'cloud.google.com/gke-nodepool': 'batch-a', 'kubernetes.io/arch': 'amd64' }, 'batch-a'],
      [{ disktype: 'ssd' }, 'disktype=ssd'],
    ] as const) {
      const d = diagnose(
        findingsWith((f) => {
          unschedulable(f);
          f.workload.nodeSelector = { ...selector };
        }),
      );
      expect(d.category).toBe('unschedulable');
      expect(d.commonCause).toEqual({ kind: 'node-pool', name: pool });
      expect(d.evidence[0]).toContain(`node pool ${pool}`);
    }
  });

  it('capacity short without a nodeSelector: no pool to name', () => {
    expect(diagnose(findingsWith(unschedulable)).commonCause).toBeUndefined();
  });

  it('one release across services: bad-rollout names the release, from its change-cause or else its images', () => {
    const release = (cause: string | undefined, deployment: string) =>
      diagnose(
        findingsWith((f) => {
          badRollout(f);
          const current = f.workload.revisions[0];
          if (current) {
            current.images = ['registry.example.com/agents/runtime:v1.6.0'];
            if (cause !== undefined) current.changeCause = cause;
          }
        }, deployment),
      );
    const named = ['svc-a', 'svc-b'].map((d) => release(`release 2026.11.30-agents: kubectl set image deployment/${d} app=runtime:v1.6.0`, d));
    expect(named.map((d) => [d.category, d.commonCause])).toEqual(Array(2).fill(['bad-rollout', { kind: 'release', name: '2026.11.30-agents' }]));
    expect(named[0]?.evidence[1]).toMatch(/^revision 3 is release 2026\.11\.30-agents \(change-cause: release 2026\.11\.30-agents: kubectl set image/);
    expect(release(undefined, 'svc-c').commonCause).toEqual({ kind: 'release', name: 'registry.example.com/agents/runtime:v1.6.0' });
  });

  it('a cause of one service alone names nothing shared', () => {
    for (const change of [oom, configDrift, scaledToZero, selectorMismatch, cpuStarved]) expect(diagnose(findingsWith(change)).commonCause).toBeUndefined();
  });
});
