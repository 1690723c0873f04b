// The common cause a storm's incidents share, as each diagnosis names it
// (workflows/diagnose.ts), the key it gives (workflows/common-cause.ts), and the
// major incident's ID from it.
import { describe, expect, it } from 'vitest';
import { commonCause } from '../../workflows/common-cause.js';
import { diagnose } from '../../workflows/diagnose.js';
import { majorIncidentId, majorIncidentIdFrom } from '../../workflows/messages.js';
import { FakeCluster } from '../fixtures/fake-cluster.js';

// The clusters' histories are dated from now: the findings are collected at the wall clock's time
// (FakeCluster, outside an activity), and a release judged by its age against them. A fixed date here
// made the team rollout a day old, no longer a fresh release, once the calendar passed it.
const now = Date.now();
const diagnosisOf = (scenario: 'dependency-down' | 'node-pool-full' | 'team-rollout' | 'unschedulable' | 'bad-rollout' | 'oom', deployment: string) =>
  diagnose(new FakeCluster({ cluster: 'c', namespace: 'default', deployment }, scenario, now).findings());

describe('commonCause', () => {
  it('names the same dependency, node pool and release for different services, and nothing for a service-local cause', () => {
    for (const scenario of ['dependency-down', 'node-pool-full', 'team-rollout'] as const) {
      const a = commonCause(diagnosisOf(scenario, 'orders'));
      const b = commonCause(diagnosisOf(scenario, 'billing'));
      expect(a, scenario).toBeDefined();
      expect(a).toEqual(b);
    }
    expect(commonCause(diagnosisOf('dependency-down', 'orders'))).toEqual({ key: 'dependency:anthropic-api', label: 'dependency anthropic-api unreachable' });
    expect(commonCause(diagnosisOf('team-rollout', 'orders'))?.key).toBe('release:agents-v1.6.0');
    // One service's own bad image is its own release, not one to fold others under.
    expect(commonCause(diagnosisOf('bad-rollout', 'orders'))).not.toEqual(commonCause(diagnosisOf('bad-rollout', 'billing')));
    expect(commonCause(diagnosisOf('node-pool-full', 'orders'))?.key).toBe('node-pool:agents');
    expect(commonCause(diagnosisOf('oom', 'orders'))).toBeUndefined();
    // Pending pods pinned to no pool: the service's own capacity problem, nothing to fold.
    expect(commonCause(diagnosisOf('unschedulable', 'orders'))).toBeUndefined();
  });

  it('has no common cause when the diagnosis names none, however its text reads', () => {
    expect(commonCause({})).toBeUndefined();
    expect(commonCause({ commonCause: { kind: 'node-pool', name: '  ' } })).toBeUndefined();
  });

  it('takes the structured cause when the diagnosis carries one', () => {
    const d = { commonCause: { kind: 'release' as const, name: 'team-a 2026.11.30' } };
    expect(commonCause(d)).toEqual({ key: 'release:team-a 2026.11.30', label: 'release team-a 2026.11.30' });
  });

  it('gives one major incident ID per cause and cluster, and reads MAJOR-… back', () => {
    const id = majorIncidentId('east', 'dependency:anthropic-api');
    expect(id).toMatch(/^major-east-[0-9a-f]{8}$/);
    expect(majorIncidentId('east', 'dependency:anthropic-api')).toBe(id);
    expect(majorIncidentId('east', 'dependency:postgres')).not.toBe(id);
    expect(majorIncidentId('west', 'dependency:anthropic-api')).not.toBe(id);
    expect(majorIncidentIdFrom(`MAJOR-${id.slice('major-'.length)}`)).toBe(id);
    expect(majorIncidentIdFrom('INC-12')).toBeUndefined();
  });
});
