// Properties of the incident's decisions, over generated findings and policies:
// whatever the cluster looks like (every scenario of the fake cluster, bent at
// random, and findings built from scratch: pods, restarts, termination reasons,
// revisions, replicas, memory limits, config drift, selectors, dependencies) and
// whatever the policy (replica cap, memory ceiling, auto-approval, attempts
// already made), diagnose() and plan() never propose a change past the
// guardrails or outside the service's own objects, never propose a change that
// was already tried, and under the default policy always ask a human.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Findings, MitigationAction, MitigationKind, PodSummary, ServiceRef } from '../../workflows/domain.js';
import { diagnose, saysInvalidKey } from '../../workflows/diagnose.js';
import { MitigationKindSchema } from '../../workflows/input.js';
import { plan, sameChange, type Attempt, type PlanContext, type PlanStep } from '../../workflows/plan.js';
import type { ActionOutcome } from '../../workflows/records.js';
import { parseMemory, parseQuantity } from '../../workflows/units.js';
import { scenarioNames } from '../../sandbox/scenarios.js';
import { FakeCluster, type Scenario } from '../fixtures/fake-cluster.js';
import { collectedAt, crashAll, findingsWith, healthyFindings, minutesBefore } from '../fixtures/findings.js';
import { sha256 } from '../../activities/digest.js';

const service: ServiceRef = { cluster: 'prod', namespace: 'payments', deployment: 'agent-native-framework' };
const d = service.deployment;
const now = '2026-03-01T12:05:00.000Z';
// Every kind there is: a new one that no diagnosis ever proposes fails the generators' reach below.
const mitigationKinds: MitigationKind[] = [...MitigationKindSchema.options];
const outcomes: ActionOutcome[] = ['rejected', 'expired', 'cancelled', 'no-change', 'failed', 'not-recovered', 'recovered'];
const configMapNames = ['agent-config', 'agent-flags', 'shared-config'];
const labelSets: Record<string, string>[] = [{ app: d }, { app: 'agent-native' }, {}, { app: d, tier: 'backend' }, { 'app.kubernetes.io/name': d }];
const serviceNames = [d, 'agent-api', 'payments-gateway'];

// --- Findings ------------------------------------------------------------------

const memoryQuantity = fc.constantFrom(
  undefined,
  '0',
  '0Mi',
  '1',
  '64Mi',
  '200Mi',
  '256Mi',
  '300Mi',
  '0.5Gi',
  '1Gi',
  '1.5Gi',
  '1500M',
  '2Gi',
  '3Gi',
  '3.9Gi',
  '4Gi',
  '5Gi',
  '16Gi',
  '100000000',
  '512mi',
  'lots',
);

const pod: fc.Arbitrary<PodSummary> = fc
  .record({
    phase: fc.constantFrom('Running', 'Pending', 'Failed', 'Succeeded', 'Unknown'),
    ready: fc.boolean(),
    restarts: fc.nat(40),
    waitingReason: fc.option(
      fc.constantFrom(
        'CrashLoopBackOff',
        'Error',
        'RunContainerError',
        'ImagePullBackOff',
        'ErrImagePull',
        'InvalidImageName',
        'CreateContainerConfigError',
        'ContainerCreating',
      ),
      { nil: undefined },
    ),
    lastTermination: fc.option(
      fc.record({ reason: fc.constantFrom('OOMKilled', 'Error', 'Completed', 'ContainerCannotRun'), exitCode: fc.constantFrom(0, 1, 2, 137, 143) }),
      { nil: undefined },
    ),
    revision: fc.integer({ min: 1, max: 8 }),
  })
  .map((p) => ({ name: `${d}-${p.revision}-x`, node: 'node-a', startedAt: minutesBefore(30), ...dropUndefined(p) }));

const revisions = fc
  .uniqueArray(fc.integer({ min: 1, max: 8 }), { minLength: 0, maxLength: 5 })
  .chain((numbers) =>
    fc.tuple(
      ...numbers.map((revision) =>
        fc.record({
          revision: fc.constant(revision),
          replicaSet: fc.constant(`${d}-rs${revision}`),
          images: fc.constantFrom([`${d}:v1.4.0`], [`${d}:v1.5.0`], [`${d}:v1.6.0`], [`${d}:v1.4.0`, 'sidecar:1']).map((images) => [...images]),
          // From a minute to 40 days before the findings: recent and old rollouts.
          createdAt: fc.integer({ min: 1, max: 40 * 24 * 60 }).map((m) => minutesBefore(m)),
          readyReplicas: fc.nat(3),
        }),
      ),
    ),
  )
  .map((rs) => [...rs].sort((a, b) => b.revision - a.revision));

const drift = fc.record({
  key: fc.constantFrom('AGENT_MODE', 'LOG_LEVEL', 'ROUTES', 'API_URL'),
  current: fc.option(fc.constantFrom('turbo', 'DEBUG', '{', '***'), { nil: undefined }),
  lastApplied: fc.option(fc.constantFrom('production', 'INFO', '{"routes":[]}'), { nil: undefined }),
  lastAppliedSha256: fc.option(fc.constantFrom('production', 'INFO', '{"routes":[]}').map(sha256), { nil: undefined }),
});

const configMap = fc.record({
  name: fc.constantFrom(...configMapNames),
  exists: fc.boolean(),
  data: fc.constant({ LOG_LEVEL: 'INFO', AGENT_MODE: 'production' }),
  drift: fc.array(drift, { maxLength: 3 }).map((ds) => ds.map(dropUndefined)),
});

const probe = fc.record({ name: fc.constantFrom('anthropic-api', 'postgres', 'redis'), ok: fc.boolean() }).map(({ name, ok }) => ({
  name,
  url: `https://${name}.example.com/health`,
  ok,
  ...(ok ? { status: 200 } : { error: 'connect ECONNREFUSED' }),
}));

const httpAnswer = fc.record({
  status: fc.constantFrom(200, 200, 500, 503),
  body: fc.constantFrom('ok', 'no endpoints available for service', 'dependency anthropic-api unreachable', 'upstream timed out', 'internal error'),
});

const errorLine = fc.constantFrom(
  'FATAL: cannot start: unknown flag --agents',
  'anthropic: 401 invalid api key',
  'connection refused to postgres:5432',
  'panic: nil map',
  'ERROR: AGENT_MODE "turbo"',
);

/** Findings built from scratch, one field group at a time. */
const randomFindings: fc.Arbitrary<Findings> = fc
  .record({
    exists: fc.constantFrom(true, true, true, true, false),
    desired: fc.nat(15),
    ready: fc.nat(15),
    revisions,
    current: fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }),
    containers: fc.array(memoryQuantity, { minLength: 0, maxLength: 2 }),
    cpu: fc.option(fc.record({ limit: fc.constantFrom('100m', '250m', '1', '2', '0', 'lots'), use: fc.constantFrom(30, 95, 100, 240, 900) }), {
      nil: undefined,
    }),
    pods: fc.array(pod, { maxLength: 5 }),
    errorLines: fc.array(errorLine, { maxLength: 3 }),
    configMaps: fc.uniqueArray(configMap, { maxLength: 3, selector: (cm) => cm.name }),
    missingEnv: fc.array(
      fc.record({
        variable: fc.constantFrom('ANTHROPIC_API_KEY', 'AGENT_MODE'),
        source: fc.constantFrom('secret' as const, 'configMap' as const),
        object: fc.constantFrom('agent-secrets', 'agent-config'),
        key: fc.constantFrom('ANTHROPIC_API_KEY', 'AGENT_MODE'),
      }),
      { maxLength: 2 },
    ),
    secretExists: fc.boolean(),
    probes: fc.array(probe, { maxLength: 3 }),
    serviceExists: fc.boolean(),
    serviceName: fc.option(fc.constantFrom(...serviceNames), { nil: undefined }),
    selector: fc.constantFrom(...labelSets),
    podLabels: fc.constantFrom(...labelSets),
    endpoints: fc.nat(3),
    live: httpAnswer,
    readiness: httpAnswer,
    schedulingFailures: fc.array(fc.constantFrom('0/3 nodes are available: 3 Insufficient memory.', '0/3 nodes are available: 3 node(s) had taint'), {
      maxLength: 2,
    }),
    quotaEvent: fc.boolean(),
  })
  .map((g) => {
    const f = healthyFindings(d);
    const w = f.workload;
    w.exists = g.exists;
    w.desiredReplicas = g.desired;
    w.readyReplicas = Math.min(g.ready, g.desired + 1);
    w.availableReplicas = w.readyReplicas;
    w.revisions = g.revisions;
    w.currentRevision = g.current ?? g.revisions[0]?.revision ?? 1;
    w.containers = g.containers.map((memory, i) => ({
      name: i === 0 ? 'agent-manager' : 'sidecar',
      image: `${d}:v1.5.0`,
      requests: {},
      limits: memory === undefined ? {} : { memory },
    }));
    w.pods = g.pods;
    f.logs = {
      errorCount: g.errorLines.length,
      exceptionCount: 0,
      fatalCount: 0,
      lastErrorLines: g.errorLines.map((line, i) => ({ pod: `${d}-p${i}`, previous: i % 2 === 0, line })),
    };
    const first = w.containers[0];
    if (g.cpu && first) first.limits = { ...first.limits, cpu: g.cpu.limit };
    f.resources.podUsage = g.pods.map((p) => ({ pod: p.name, cpuMillis: g.cpu?.use ?? 100, memoryBytes: 200 * 2 ** 20, memoryLimitBytes: 256 * 2 ** 20 }));
    f.resources.schedulingFailures = g.schedulingFailures;
    f.events.events = g.quotaEvent
      ? [{ time: collectedAt, type: 'Warning', reason: 'FailedCreate', object: 'replicaset/x', message: 'exceeded quota: compute', count: 3 }]
      : [];
    f.config = {
      configMaps: g.configMaps.map((cm) => ({ ...cm, lastApplied: { LOG_LEVEL: 'INFO', AGENT_MODE: 'production' } })),
      secrets: [{ name: 'agent-secrets', exists: g.secretExists, keys: g.secretExists ? ['ANTHROPIC_API_KEY'] : [] }],
      missingEnv: g.missingEnv,
    };
    f.dependencies.probes = g.probes;
    f.health = {
      service: { exists: g.serviceExists, ...(g.serviceName ? { name: g.serviceName } : {}), selector: g.selector, endpoints: g.endpoints },
      podLabels: g.podLabels,
      live: g.live,
      ready: g.readiness,
      metricsUp: g.readiness.status === 200,
      ingresses: [],
    };
    return f;
  });

/** The fake cluster's scenarios (the runbook's failure shapes), each bent by a few random changes. */
const scenarioFindings: fc.Arbitrary<Findings> = fc
  .record({
    scenario: fc.constantFrom<Scenario>(...scenarioNames, 'wedged'),
    memoryLimit: fc.option(memoryQuantity, { nil: undefined }),
    desired: fc.option(fc.nat(15), { nil: undefined }),
    extraRevision: fc.option(fc.record({ minutesAgo: fc.integer({ min: 1, max: 3000 }), ready: fc.nat(2) }), { nil: undefined }),
    podLabels: fc.option(fc.constantFrom(...labelSets), { nil: undefined }),
    dependencyDown: fc.boolean(),
    drift: fc.option(fc.array(drift, { minLength: 1, maxLength: 2 }), { nil: undefined }),
  })
  .map((g) => {
    const cluster = new FakeCluster(service, g.scenario, Date.parse(now));
    const f = cluster.findings();
    f.collectedAt = now;
    const container = f.workload.containers[0];
    if (g.memoryLimit !== undefined && container) container.limits = { memory: g.memoryLimit };
    if (g.desired !== undefined) f.workload.desiredReplicas = g.desired;
    if (g.extraRevision) {
      const top = f.workload.currentRevision + 1;
      f.workload.revisions = [
        {
          revision: top,
          replicaSet: `${d}-rs${top}`,
          images: [`${d}:v2.0.0`],
          createdAt: new Date(Date.parse(now) - g.extraRevision.minutesAgo * 60_000).toISOString(),
          readyReplicas: g.extraRevision.ready,
        },
        ...f.workload.revisions,
      ];
      f.workload.currentRevision = top;
    }
    if (g.podLabels) f.health.podLabels = g.podLabels;
    if (g.dependencyDown) f.dependencies.probes = f.dependencies.probes.map((p) => ({ ...p, ok: false, error: 'connect ETIMEDOUT' }));
    const cm = f.config.configMaps[0];
    if (g.drift && cm) cm.drift = g.drift.map(dropUndefined);
    return f;
  });

const findings = fc.oneof(scenarioFindings, randomFindings);

// --- Policies and history ----------------------------------------------------

const guardrails = fc.record({
  maxReplicas: fc.integer({ min: 1, max: 12 }),
  memoryCeiling: fc.constantFrom('256Mi', '512Mi', '1Gi', '1500M', '2Gi', '3G', '4Gi', '1.5Gi', '8Gi'),
});

const policy = fc.record({
  guardrails,
  autoApprove: fc.subarray(mitigationKinds),
  maxAttempts: fc.integer({ min: 1, max: 8 }),
});

function context(p: { guardrails: PlanContext['guardrails']; autoApprove: MitigationKind[]; maxAttempts: number }): PlanContext {
  return { service, guardrails: p.guardrails, autoApprove: p.autoApprove, now, maxAttempts: p.maxAttempts };
}

/** Actions like the ones plan makes, so that generated histories overlap with its proposals. */
const action: fc.Arbitrary<MitigationAction> = fc.oneof(
  fc.integer({ min: 1, max: 8 }).map((toRevision) => ({ kind: 'rollout-undo' as const, toRevision })),
  fc.constant({ kind: 'rollout-restart' as const, restartedAt: '2026-03-01T11:00:00.000Z' }),
  fc.integer({ min: 1, max: 12 }).map((replicas) => ({ kind: 'scale' as const, replicas })),
  fc.constantFrom('512Mi', '1Gi', '2Gi', '4Gi', '3G').map((memory) => ({ kind: 'set-resources' as const, container: 'agent-manager', limits: { memory } })),
  fc
    .constantFrom(...configMapNames)
    .map((name) => ({ kind: 'patch-config-map' as const, name, data: { LOG_LEVEL: 'DEBUG' }, restartedAt: '2026-03-01T11:00:00.000Z' })),
  fc
    .constantFrom(...configMapNames)
    .map((name) => ({ kind: 'restore-config-map' as const, name, keys: { AGENT_MODE: sha256('production') }, restartedAt: '2026-03-01T11:00:00.000Z' })),
  fc
    .tuple(fc.constantFrom(...serviceNames), fc.constantFrom(...labelSets))
    .map(([name, selector]) => ({ kind: 'set-service-selector' as const, service: name, selector })),
);

const history: fc.Arbitrary<Attempt[]> = fc.array(fc.record({ action, outcome: fc.constantFrom(...outcomes) }), { maxLength: 6 });

// --- What every proposal must respect -----------------------------------------

/** Why `step` breaks a guardrail, or undefined: replicas, memory, and only the service's own objects. */
function guardrailBreach(step: Extract<PlanStep, { kind: 'mitigate' }>, f: Findings, ctx: PlanContext): string | undefined {
  const a = step.action;
  const prefix = `kubectl -n ${service.namespace} `;
  if (!step.command.startsWith(prefix)) return `command outside the service's namespace: ${step.command}`;
  switch (a.kind) {
    case 'scale':
      return a.replicas <= ctx.guardrails.maxReplicas && a.replicas > 0 ? undefined : `scale to ${a.replicas} (max ${ctx.guardrails.maxReplicas})`;
    case 'set-resources': {
      const container = f.workload.containers.find((c) => c.name === a.container);
      if (!container) return `container ${a.container} is not the deployment's`;
      const ceiling = parseMemory(ctx.guardrails.memoryCeiling) ?? 0;
      const changed = (['requests', 'limits'] as const).flatMap((kind) =>
        (['cpu', 'memory'] as const).flatMap((resource) => {
          const value = a[kind]?.[resource];
          return value === undefined ? [] : [{ kind, resource, value, current: container[kind][resource] }];
        }),
      );
      if (changed.length === 0) return 'a change of resources that names none';
      for (const { kind, resource, value, current } of changed) {
        const read = resource === 'memory' ? parseMemory : parseQuantity;
        const wanted = read(value);
        if (wanted === undefined) return `${kind}.${resource} ${value} is not a quantity`;
        if (resource === 'memory' && wanted > ceiling) return `${kind}.memory ${value} over the ceiling ${ctx.guardrails.memoryCeiling}`;
        const before = current === undefined ? undefined : read(current);
        // The OOM fix raises a limit that exists; the runbook's resources also set absent ones.
        if (before !== undefined && wanted <= before) return `a raise that raises nothing: ${kind}.${resource} ${value} for ${current ?? '(none)'}`;
        if (before === undefined && a.requests === undefined) return `an OOM raise of a limit that is not there: ${kind}.${resource}`;
      }
      return undefined;
    }
    case 'rollout-undo':
      return f.workload.revisions.some((r) => r.revision === a.toRevision) && a.toRevision < f.workload.currentRevision && a.toRevision >= 1
        ? undefined
        : `rollout undo to revision ${a.toRevision} (current ${f.workload.currentRevision})`;
    case 'patch-config-map':
    case 'restore-config-map':
      return f.config.configMaps.some((cm) => cm.exists && cm.name === a.name) ? undefined : `config map ${a.name} is not one of the service's`;
    case 'set-service-selector':
      return a.service === (f.health.service.name ?? service.deployment) && f.health.service.exists
        ? undefined
        : `service ${a.service} is not the service's own`;
    case 'rollout-restart':
      return undefined;
    case 'set-image':
      return 'plan never picks an image';
    default: {
      // A new kind fails to compile here until its guardrail is checked.
      const unchecked: never = a;
      return `no guardrail check for ${JSON.stringify(unchecked)}`;
    }
  }
}

function check(f: Findings, past: readonly Attempt[], ctx: PlanContext): PlanStep {
  const step = plan(diagnose(f), f, past, ctx);
  if (step.kind !== 'mitigate') return step;
  const breach = guardrailBreach(step, f, ctx);
  if (breach) throw new Error(`past a guardrail: ${breach}`);
  const repeated = past.find((h) => sameChange(h.action, step.action));
  if (repeated) throw new Error(`repeats ${JSON.stringify(repeated)}`);
  // One rollback per incident: a second one would undo the first.
  if (step.action.kind === 'rollout-undo' && past.some((h) => h.action.kind === 'rollout-undo' && h.outcome !== 'rejected' && h.outcome !== 'no-change'))
    throw new Error('a second rollback');
  if (past.length >= ctx.maxAttempts) throw new Error(`attempt ${past.length + 1} past the cap of ${ctx.maxAttempts}`);
  return step;
}

// PROPERTY_RUNS=50000 searches harder (a few minutes); the default keeps the file under a few seconds.
const runs = { numRuns: Number(process.env['PROPERTY_RUNS'] ?? 1000) };

describe('diagnose and plan, for any findings and policy', () => {
  it('are exercised on every runbook branch and every kind of change (the generators reach them all)', () => {
    const categories = new Set<string>();
    const kinds = new Set<string>();
    for (const [f, p] of fc.sample(fc.tuple(findings, policy), { numRuns: 4000, seed: 42 })) {
      const diagnosis = diagnose(f);
      categories.add(diagnosis.category);
      const step = plan(diagnosis, f, [], context(p));
      if (step.kind === 'mitigate') kinds.add(step.action.kind);
    }
    expect([...categories].sort()).toEqual(
      [
        'bad-rollout',
        'config-drift',
        'dependency-unreachable',
        'deployment-missing',
        'healthy',
        'missing-key',
        'oom-killed',
        'resource-starved',
        'scaled-to-zero',
        'selector-mismatch',
        'unknown',
        'unschedulable',
      ].sort(),
    );
    expect([...kinds].sort()).toEqual(mitigationKinds.filter((k) => k !== 'set-image').sort());
  });

  it('never propose a change past the guardrails or outside the service, nor one already tried', () => {
    fc.assert(
      fc.property(findings, policy, history, (f, p, past) => {
        check(f, past, context(p));
      }),
      runs,
    );
  });

  it('ask a human for every change under the default policy (nothing auto-approved)', () => {
    fc.assert(
      fc.property(findings, policy, history, (f, p, past) => {
        const step = check(f, past, context({ ...p, autoApprove: [] }));
        if (step.kind === 'mitigate') expect(step.approval).toBe('human');
      }),
      runs,
    );
  });

  it('auto-approve only what the namespace policy lists, and never a guess or a step that needs a human fix first', () => {
    fc.assert(
      fc.property(findings, policy, history, (f, p, past) => {
        const ctx = context(p);
        const diagnosis = diagnose(f);
        const step = plan(diagnosis, f, past, ctx);
        if (step.kind !== 'mitigate' || step.approval === 'human') return;
        expect(ctx.autoApprove).toContain(step.action.kind);
        expect(diagnosis.category).not.toBe('unknown');
        expect(step.humanFix).toBeUndefined();
      }),
      runs,
    );
  });

  it('over a whole incident (re-investigated after each step, any outcome), try each change once and escalate within the attempt cap', () => {
    fc.assert(
      fc.property(
        fc.array(findings, { minLength: 1, maxLength: 10 }),
        policy,
        fc.array(fc.constantFrom(...outcomes), { minLength: 10, maxLength: 10 }),
        (rounds, p, results) => {
          const ctx = context(p);
          const past: Attempt[] = [];
          for (let i = 0; i < 10; i++) {
            // The workflow plans again with the same findings after a rejection, with new ones after a failed fix.
            const f = rounds[Math.min(i, rounds.length - 1)];
            if (!f) break;
            const step = check(f, past, ctx);
            if (step.kind !== 'mitigate') break;
            past.push({ action: step.action, outcome: results[i] ?? 'failed' });
          }
          expect(past.length).toBeLessThanOrEqual(ctx.maxAttempts);
          // At the cap, nothing more is proposed, whatever the findings.
          if (past.length === ctx.maxAttempts) for (const f of rounds) expect(plan(diagnose(f), f, past, ctx).kind).not.toBe('mitigate');
        },
      ),
      runs,
    );
  });
});

describe('diagnose, for any log timestamp', () => {
  // Log lines carry their time (the app's own ISO stamp, kubectl's --timestamps): a
  // stamp that happens to contain "401" is not an HTTP 401 (it once turned a bad
  // rollout seen at 01:19:31.401 into a missing API key).
  it('reads a bad rollout as a bad rollout whatever the time printed on its log lines', () => {
    const stamp = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }).map((t) => t.toISOString());
    fc.assert(
      fc.property(stamp, stamp, (started, failed) => {
        const f = findingsWith((x) => {
          crashAll(x, 'Error', 1);
          const current = x.workload.revisions[0];
          if (current) current.createdAt = minutesBefore(12);
          x.logs.lastErrorLines = [
            { pod: 'agent-native-framework-7d9f-a', previous: true, line: `${started} ERROR cannot start: unknown flag --agents` },
            { pod: 'agent-native-framework-7d9f-a', previous: true, line: `${failed} FATAL startup failed: unknown flag --agents; exiting with code 1` },
          ];
        });
        expect(diagnose(f).category).toBe('bad-rollout');
      }),
      { numRuns: 500 },
    );
    // The stamp the property exists for, always tried.
    const f = findingsWith((x) => {
      crashAll(x, 'Error', 1);
      const current = x.workload.revisions[0];
      if (current) current.createdAt = minutesBefore(12);
      x.logs.lastErrorLines = [{ pod: 'p', previous: true, line: '2026-12-01T01:19:31.401Z FATAL startup failed: unknown flag --agents' }];
    });
    expect(diagnose(f).category).toBe('bad-rollout');
  });

  it('reads an HTTP 401 as an invalid key, and a 401 inside a number, time or version as nothing', () => {
    const status = ['2026-12-01T01:19:31.000Z ERROR anthropic: status=401', '[2026-12-01 01:19:31,401] ERROR POST /v1/messages -> 401', 'HTTP/1.1 401'];
    const notStatus = ['2026-12-01 01:19:31,401 ERROR boom', 'took 401ms', 'version 1.401.2', 'request 4015 failed', 'at 12:04:01.401 ERROR boom', 'id=401.5'];
    for (const line of status) expect(saysInvalidKey(line), line).toBe(true);
    for (const line of notStatus) expect(saysInvalidKey(line), line).toBe(false);
    // Incidents started before keep the old reading, so their histories replay.
    expect(saysInvalidKey('2026-12-01 01:19:31,401 ERROR boom', { statusCode401: false })).toBe(true);
  });

  it('still reads an HTTP 401 in a timestamped line as an invalid key', () => {
    for (const line of ['2026-12-01T01:19:31.401Z ERROR anthropic: 401 Unauthorized', '2026-12-01T01:19:31.000Z ERROR anthropic: status=401']) {
      const f = findingsWith((x) => {
        crashAll(x, 'Error', 1);
        x.logs.lastErrorLines = [{ pod: 'p', previous: true, line }];
      });
      expect(diagnose(f).category, line).toBe('missing-key');
    }
  });
});

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
