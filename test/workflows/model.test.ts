// The incident model without Temporal: its transitions, the closing states, and
// the snapshot that carries it across continue-as-new. A property test drives
// random incidents (alerts, people's input, actions, decisions, verification,
// pages) and checks that a snapshot, sent as JSON and restored, gives back the
// same incident.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IncidentModel, type RunContext } from '../../workflows/model/incident.js';
import { SnapshotError, restoreSnapshot, snapshotSchemaVersion, type ResumePoint } from '../../workflows/model/snapshot.js';
import { IncidentInputSchema, type IncidentConfig } from '../../workflows/input.js';
import type { MitigationAction } from '../../workflows/domain.js';
import type { DiagnosisCategory } from '../../workflows/diagnose.js';

const service = { cluster: 'prod', namespace: 'payments', deployment: 'agent-native-framework' };
const startedAt = Date.parse('2026-03-01T12:00:00Z');

function config(overrides: Record<string, unknown> = {}): IncidentConfig {
  return IncidentInputSchema.parse({
    service,
    alert: {
      name: 'ServiceDown',
      severity: 'warning',
      summary: 'up == 0',
      labels: { namespace: 'payments', deployment: service.deployment },
      startsAt: '2026-03-01T12:00:00Z',
      fingerprint: 'fp-1',
    },
    ...overrides,
  });
}

const run = (features: Partial<RunContext['features']> = {}): RunContext => ({
  workflowId: `incident/prod/payments/${service.deployment}`,
  firstRunId: 'run-1',
  startTime: startedAt,
  features: { continuesWhileWaiting: true, crashSafe: true, keepsInputWhileClosing: true, ...features },
});

const rollback: MitigationAction = { kind: 'rollout-undo', toRevision: 2 };
const mitigate = {
  kind: 'mitigate' as const,
  action: rollback,
  command: 'kubectl -n payments rollout undo deployment/agent-native-framework --to-revision=2',
  why: 'bad rollout',
  approval: 'human' as const,
};

/** The same model, carried through a snapshot as continue-as-new carries it (JSON). */
function carried(model: IncidentModel, resumeAt: ResumePoint, features?: Partial<RunContext['features']>): IncidentModel {
  const wire = JSON.parse(JSON.stringify(model.snapshot(resumeAt))) as unknown;
  return new IncidentModel(model.config, run(features), restoreSnapshot(wire));
}

describe('closing states', () => {
  it('given a run closing to continue, when people escalate and acknowledge, then the pages wait in the outbox and the next run has them', () => {
    const model = new IncidentModel(config(), run());
    model.escalate(1, 'service down');
    while (model.takeOutbound()) {
      /* delivered */
    }
    model.close('continue');
    model.acknowledge('bob');
    model.requestEscalation('bob', 'needs the platform team', 3);
    model.requestResolve('carol', 'nodes added');

    const next = carried(model, 'wait');
    const pending = [next.takeOutbound(), next.takeOutbound()];
    expect(pending.map((n) => [n?.event, n?.level])).toEqual([
      // The acknowledgement goes to every level paged until then (L1), each its own PagerDuty alert.
      ['acknowledge', 1],
      ['trigger', 3],
    ]);
    expect(next.data.resolveRequested).toEqual({ by: 'carol', reason: 'nodes added' });
    expect(next.data.escalationLevel).toBe(3);
    expect(next.status()).toMatchObject({ run: 2, phase: 'escalated', acknowledged: { by: 'bob' } });
    expect(next.status().closing).toBeUndefined();
  });

  it('given a resolved incident closing, when people acknowledge, note and escalate, then the notes are kept and nobody is paged', () => {
    const model = new IncidentModel(config(), run());
    model.escalate(1, 'service down');
    model.resolve('manual', 'carol');
    model.close('resolve');
    const queued = model.snapshot('wait').incident.outbox.length;
    model.acknowledge('bob');
    model.addNote('bob', 'confirmed from the dashboard');
    model.requestEscalation('bob', 'too late', 3);

    expect(model.snapshot('wait').incident.outbox).toHaveLength(queued);
    expect(model.data.escalationLevel).toBe(1);
    expect(model.status()).toMatchObject({ phase: 'resolved', closing: 'resolve', acknowledged: { by: 'bob' } });
    const texts = model.incidentRecord().timeline.map((t) => t.text);
    expect(texts).toEqual(expect.arrayContaining(['bob: confirmed from the dashboard', 'escalate from bob: the incident is resolved (too late)']));
  });

  it('given a run from before input was kept while closing, when a person escalates after the resolve, then it pages as it did then', () => {
    const model = new IncidentModel(config(), run({ keepsInputWhileClosing: false }));
    model.resolve('manual', 'carol');
    model.close('resolve');
    model.requestEscalation('bob', 'too late', 3);
    expect(model.data.escalationLevel).toBe(3);
  });

  it('given an escalated run closing, when the alert resolves and fires again, then the next run has both to act on', () => {
    const model = new IncidentModel(config(), run());
    model.setPhase('escalated');
    model.close('continue');
    model.takeAlerts([], [{ fingerprint: 'fp-1' }], 1);
    model.takeAlerts([{ ...config().alert, startsAt: '2026-03-01T13:00:00Z' }], [], 1);

    const next = carried(model, 'wait');
    expect(next.data.alertResolvedPending).toBe(true);
    expect(next.takeRefire()).toBe(true);
    expect(next.takeRefire()).toBe(false);
  });
});

describe('a hotfix image from a person', () => {
  const hotfix = { by: 'alice', image: 'agent-native-framework:hotfix-v1.0.1', comment: 'fixes the registry import' };

  it('given an escalated incident, when an approver supplies an image, then it is on the timeline and crosses continue-as-new until taken', () => {
    const model = new IncidentModel(config({ approval: { approvers: ['alice'] } }), run());
    model.setPhase('escalated');
    expect(model.refuseHotfix({ by: 'mallory' })).toMatch(/mallory is not an allowed approver/);
    expect(model.refuseHotfix(hotfix)).toBeUndefined();
    expect(model.requestHotfix(hotfix)).toBe('now: dry-run, then an approval request');
    expect(model.data.timeline.at(-1)?.text).toBe(
      'hotfix image agent-native-framework:hotfix-v1.0.1 supplied by alice; proposed now: dry-run, then an approval request',
    );
    expect(model.refuseHotfix({ by: 'alice' })).toMatch(/already waiting to be proposed/);

    const next = carried(model, 'wait');
    expect(next.takeHotfix()).toEqual(hotfix);
    expect(next.takeHotfix()).toBeUndefined();
  });

  it('refuses an image while the service is monitored or the incident is resolving, and drops a waiting one when the service is restored', () => {
    const model = new IncidentModel(config(), run());
    model.requestHotfix(hotfix);
    model.markRestored(true, 0);
    expect(model.data.hotfix).toBeUndefined();
    expect(model.data.timeline.map((t) => t.text)).toContain(
      'hotfix image agent-native-framework:hotfix-v1.0.1 from alice not proposed: the service is restored',
    );
    model.setPhase('monitoring');
    expect(model.refuseHotfix(hotfix)).toMatch(/restored and monitored/);
    model.setPhase('escalated');
    model.requestResolve('bob');
    expect(model.refuseHotfix(hotfix)).toBe('the incident is resolved or resolving');
  });
});

describe('snapshot versions', () => {
  it('restores a snapshot written before versioning (flat, no schemaVersion) with the later fields at their defaults', () => {
    const model = new IncidentModel(config(), run());
    model.escalate(1, 'service down');
    const { incident } = model.snapshot('wait');
    const { restoredByAction: _r, restartsAtRestore: _s, refired: _f, alertResolvedPending: _a, messagesSent: _m, outbox: _o, ...older } = incident;
    const restored = restoreSnapshot({ resumeAt: 'wait', ...older });

    expect(restored.schemaVersion).toBe(snapshotSchemaVersion);
    expect(restored.incident).toEqual({
      ...incident,
      restoredByAction: false,
      restartsAtRestore: 0,
      refired: false,
      alertResolvedPending: false,
      messagesSent: 0,
      outbox: [],
    });
  });

  it('refuses a snapshot of a newer version with what to do, and an invalid one with the field that is wrong', () => {
    const snapshot = new IncidentModel(config(), run()).snapshot('investigate');
    expect(() => restoreSnapshot({ ...snapshot, schemaVersion: snapshotSchemaVersion + 1 })).toThrow(SnapshotError);
    expect(() => restoreSnapshot({ ...snapshot, schemaVersion: snapshotSchemaVersion + 1 })).toThrow(/newer than this build reads .*roll forward/);
    expect(() => restoreSnapshot({ ...snapshot, incident: { ...snapshot.incident, escalationLevel: 7 } })).toThrow(/invalid: incident\.escalationLevel/);
    expect(() => restoreSnapshot({ ...snapshot, resumeAt: 'somewhere' })).toThrow(/invalid: resumeAt/);
    expect(() => restoreSnapshot('a string')).toThrow(/not an object/);
  });
});

// --- Property: snapshot and restore give the same incident ------------------------

const person = fc.constantFrom('alice', 'bob', 'carol', 'policy:auto', 'mallory');
const text = fc.string({ minLength: 1, maxLength: 40 });
const severity = fc.constantFrom('info', 'warning', 'error', 'critical');
const categories: DiagnosisCategory[] = ['bad-rollout', 'oom-killed', 'config-drift', 'unschedulable', 'unknown'];

/** One thing that happens to an incident. */
const step = fc.oneof(
  fc.record({ t: fc.constant('alert' as const), startsAt: fc.integer({ min: 0, max: 50 }), severity, fingerprint: fc.constantFrom('fp-1', 'fp-2') }),
  fc.record({ t: fc.constant('alert-resolved' as const), fingerprint: fc.constantFrom('fp-1', 'fp-2') }),
  fc.record({ t: fc.constant('ack' as const), by: person }),
  fc.record({ t: fc.constant('note' as const), by: person, text }),
  fc.record({ t: fc.constant('escalate' as const), by: person, level: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }) }),
  fc.record({ t: fc.constant('resolve-request' as const), by: person }),
  fc.record({
    t: fc.constant('phase' as const),
    phase: fc.constantFrom('investigating', 'awaiting-approval', 'mitigating', 'verifying', 'monitoring', 'escalated'),
  }),
  fc.record({ t: fc.constant('findings' as const), summary: fc.array(text, { maxLength: 3 }), category: fc.constantFrom(...categories) }),
  fc.record({ t: fc.constant('action' as const), auto: fc.boolean() }),
  fc.record({ t: fc.constant('decide' as const), by: person, approve: fc.boolean() }),
  fc.record({ t: fc.constant('finish' as const), outcome: fc.constantFrom('rejected', 'expired', 'failed', 'not-recovered', 'recovered') }),
  fc.record({ t: fc.constant('restored' as const), restarts: fc.nat(9) }),
  fc.record({ t: fc.constant('regressed' as const), reason: text }),
  fc.record({ t: fc.constant('status-update' as const) }),
  fc.record({ t: fc.constant('deliver' as const), count: fc.nat(3) }),
  fc.record({ t: fc.constant('close' as const) }),
);
type Step = typeof step extends fc.Arbitrary<infer S> ? S : never;

function apply(model: IncidentModel, s: Step): void {
  switch (s.t) {
    case 'alert':
      return model.takeAlerts(
        [{ ...model.config.alert, severity: s.severity, fingerprint: s.fingerprint, startsAt: new Date(startedAt + s.startsAt * 60_000).toISOString() }],
        [],
        1,
      );
    case 'alert-resolved':
      return model.takeAlerts([], [{ fingerprint: s.fingerprint }], 1);
    case 'ack':
      return model.acknowledge(s.by);
    case 'note':
      return model.addNote(s.by, s.text);
    case 'escalate':
      return model.requestEscalation(s.by, 'by hand', s.level);
    case 'resolve-request':
      return model.requestResolve(s.by);
    case 'phase':
      return model.setPhase(s.phase);
    case 'findings':
      model.setFindings(s.summary);
      return model.setDiagnosis({ category: s.category, symptom: 'crash-loop', cause: 'a cause', evidence: ['line'], candidates: [] } as never);
    case 'action': {
      const record = model.addAction({ ...mitigate, approval: s.auto ? 'auto' : 'human' });
      if (s.auto) model.approveByPolicy(record);
      else model.openApproval(record, Date.now() + 900_000);
      return;
    }
    case 'decide':
      return model.decideFromSignal({ by: s.by }, s.approve);
    case 'finish': {
      const last = model.data.actions.at(-1);
      if (last) model.finishAction(last, s.outcome, `finished: ${s.outcome}`);
      return model.closeApproval();
    }
    case 'restored':
      return model.markRestored(true, s.restarts);
    case 'regressed':
      return model.markRegressed(s.reason);
    case 'status-update':
      return model.postStatusUpdate();
    case 'deliver':
      for (let i = 0; i < s.count; i++) model.takeOutbound();
      return;
    case 'close':
      return model.close('continue');
  }
}

const resumePoint: fc.Arbitrary<ResumePoint> = fc.oneof(
  fc.constantFrom<ResumePoint>('investigate', 'wait'),
  fc.record({
    approval: fc.record({
      action: fc.integer({ min: 1, max: 5 }),
      expiresAt: fc.nat(),
      askedLevel: fc.integer({ min: 0, max: 3 }),
      restartsBaseline: fc.nat(20),
    }),
  }),
  fc
    .record({
      monitor: fc.record({
        sample: fc.nat(60),
        badInARow: fc.nat(3),
        counters: fc.option(fc.dictionary(fc.constantFrom('pod-a', 'pod-b'), fc.record({ requests: fc.nat(), errors: fc.nat() })), { nil: undefined }),
      }),
    })
    .map((r) => ({
      monitor: { sample: r.monitor.sample, badInARow: r.monitor.badInARow, ...(r.monitor.counters ? { counters: r.monitor.counters as never } : {}) },
    })),
);

describe('snapshot and restore', () => {
  it('give back the same incident, whatever happened to it (random incidents)', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), resumePoint, fc.integer({ min: 20, max: 40 }), (steps, resumeAt, maxTimelineEntries) => {
        const model = new IncidentModel(config({ limits: { maxTimelineEntries } }), run());
        for (const s of steps) apply(model, s);
        const snapshot = model.snapshot(resumeAt);
        const restored = restoreSnapshot(JSON.parse(JSON.stringify(snapshot)));
        expect(restored).toEqual(snapshot);

        // The next run is the same incident, one run later, resuming where this one stopped.
        const next = new IncidentModel(model.config, run(), restored);
        const before = model.status();
        const after = next.status();
        expect(after.run).toBe(before.run + 1);
        const {
          run: _a,
          phase: _p,
          closing: _c,
          timeline: t1,
          timelineOmitted: _o1,
          pendingApproval: _pa,
          monitor: _m,
          timers: _t,
          resolvedAt: _ra,
          resolution: _rs,
          ...rest
        } = after;
        const {
          run: _b,
          phase: _q,
          closing: _d,
          timeline: t0,
          timelineOmitted: _o0,
          pendingApproval: _pb,
          monitor: _n,
          timers: _u,
          resolvedAt: _rb,
          resolution: _rt,
          ...kept
        } = before;
        expect(rest).toEqual(kept);
        expect(t1.at(-1)?.text).toBe(`run ${after.run} continues the incident (history kept small)`);
        // The timeline goes on where it stopped (when full, its middle makes room, as it always does).
        if (t0.length < maxTimelineEntries) expect(t1.slice(0, -1)).toEqual(t0);
        expect(next.snapshot(resumeAt).incident.outbox).toEqual(snapshot.incident.outbox);
      }),
      { numRuns: 300 },
    );
  });
});

describe('customers and stakeholders', () => {
  const affected = { affected: true, customerFacing: true, checkedAt: '2026-03-01T12:01:00Z', evidence: ['ingress web example.com/: failing (503)'] };
  const diagnosis = {
    category: 'bad-rollout' as const,
    symptom: 'crash-loop' as const,
    cause: 'revision 3 fails',
    evidence: ['pod x: CrashLoopBackOff'],
    candidates: [],
  };
  const sentTo = (model: IncidentModel, channel: string): string[] => {
    const events: string[] = [];
    for (let n = model.takeOutbound(); n; n = model.takeOutbound()) if (n.channel === channel) events.push(n.event);
    return events;
  };

  it('given customers affected, the status page follows the public state to resolved, carried across continue-as-new', () => {
    const model = new IncidentModel(config(), run({ customerComms: true }));
    model.setDiagnosis(diagnosis);
    expect(sentTo(model, 'status-page')).toEqual([]);
    model.setCustomerImpact(affected);
    expect(sentTo(model, 'status-page')).toEqual(['identified']);
    // A later look that finds customers unaffected does not silence the page: it still reaches resolved.
    const next = carried(model, 'investigate', { customerComms: true });
    next.setCustomerImpact({ ...affected, affected: false });
    next.markRestored(true, 0);
    next.resolve('mitigated');
    expect(sentTo(next, 'status-page')).toEqual(['monitoring', 'resolved']);
  });

  it('tells stakeholders at identification, mitigation and resolve', () => {
    const model = new IncidentModel(config(), run({ customerComms: true }));
    model.setDiagnosis(diagnosis);
    model.setDiagnosis(diagnosis);
    model.markRestored(true, 0);
    model.resolve('mitigated');
    expect(sentTo(model, 'stakeholders')).toEqual(['identified', 'mitigated', 'resolved']);
  });

  it('sends neither in incidents opened before the change (replayed as they ran)', () => {
    const model = new IncidentModel(config(), run());
    model.setCustomerImpact(affected);
    model.setDiagnosis(diagnosis);
    model.markRestored(true, 0);
    model.resolve('mitigated');
    const channels: string[] = [];
    for (let n = model.takeOutbound(); n; n = model.takeOutbound()) channels.push(n.channel);
    expect(channels.filter((c) => c === 'status-page' || c === 'stakeholders')).toEqual([]);
  });
});

describe('a storm: the held L1 page and a major incident', () => {
  const pagerTriggers = (model: IncidentModel) => model.data.outbox.filter((n) => n.channel === 'pager' && n.event === 'trigger');
  const lead = { majorId: 'major-prod-0123abcd', role: 'lead' as const, cause: 'dependency pg unreachable' };
  const folded = { ...lead, role: 'folded' as const };

  it('holds a hand-over while L1 waits, then sends one L1 page that carries it', () => {
    const model = new IncidentModel(config(), run({ majorIncident: true }));
    model.holdingPage = true;
    model.handOver('wait for pg', ['pg 10.0.0.1: connect ETIMEDOUT']);
    expect(pagerTriggers(model)).toHaveLength(0);
    model.takeMajorRole(lead);
    model.releasePage('first service with dependency pg unreachable');
    const pages = pagerTriggers(model);
    expect(pages.map((p) => p.level)).toEqual([1]);
    expect(pages[0]?.summary).toContain('human action required: wait for pg');
    expect(model.status().major).toEqual({ id: lead.majorId, role: 'lead', cause: lead.cause });
  });

  it('folded: no L1, no hand-over page, no ladder page, and no pager resolve; a person can still escalate', () => {
    const model = new IncidentModel(config(), run({ majorIncident: true }));
    model.holdingPage = true;
    model.takeMajorRole(folded);
    model.releasePage('folded into major-prod-0123abcd');
    model.handOver('wait for pg', []);
    model.escalate(2, 'not restored within 15m');
    expect(pagerTriggers(model)).toHaveLength(0);
    expect(model.data.timeline.map((t) => t.text)).toContainEqual(expect.stringMatching(/^folded into major incident major-prod-0123abcd/));
    model.requestEscalation('alice', 'need the database team', 2);
    expect(pagerTriggers(model).map((p) => p.level)).toEqual([2]);
  });

  it('a folded incident that never paged sends no pager resolve', () => {
    const model = new IncidentModel(config(), run({ majorIncident: true, keepsInputWhileClosing: true }));
    model.holdingPage = true;
    model.takeMajorRole(folded);
    model.releasePage('folded');
    model.resolve('recovered');
    expect(model.data.outbox.filter((n) => n.channel === 'pager')).toEqual([]);
  });

  it('keeps its role across continue-as-new, and a lead once folded stays folded', () => {
    const model = new IncidentModel(config(), run({ majorIncident: true }));
    model.takeMajorRole(lead);
    model.takeMajorRole({ ...folded, leadFolded: true });
    model.takeMajorRole(lead);
    const next = carried(model, 'wait', { majorIncident: true });
    expect(next.data.major?.role).toBe('folded');
    expect(next.isFolded()).toBe(true);
  });

  it("the lead folded before its held L1 went out still pages L1: its page is the storm's only one", () => {
    const model = new IncidentModel(config(), run({ majorIncident: true }));
    model.holdingPage = true;
    // The second service joined before the lead's page was released: both answers land in one activation.
    model.takeMajorRole(lead);
    model.takeMajorRole({ ...folded, leadFolded: true });
    model.releasePage('first service with dependency pg unreachable');
    expect(pagerTriggers(model).map((p) => p.level)).toEqual([1]);
    model.escalate(2, 'not restored within 15m');
    expect(pagerTriggers(model).map((p) => p.level)).toEqual([1]);
  });

  it('an incident resolved while L1 is held pages nobody', () => {
    const model = new IncidentModel(config(), run({ majorIncident: true }));
    model.holdingPage = true;
    model.requestResolve('carol', 'a blip');
    model.releasePage('no diagnosis within 30s');
    expect(pagerTriggers(model)).toHaveLength(0);
  });
});
