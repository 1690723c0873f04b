// The common cause a storm's incidents share, read from each diagnosis: the
// structured one when the diagnosis names it, else derived from today's cause and
// evidence text (workflows/common-cause.ts); and the major incident's ID from it.
import { describe, expect, it } from 'vitest';
import { commonCause } from '../../workflows/common-cause.js';
import { diagnose } from '../../workflows/diagnose.js';
import { majorIncidentId, majorIncidentIdFrom } from '../../workflows/messages.js';
import { FakeCluster } from '../fixtures/fake-cluster.js';

const now = Date.parse('2026-11-30T12:00:00Z');
const diagnosisOf = (scenario: 'dependency-down' | 'unschedulable' | 'bad-rollout' | 'oom', deployment: string) =>
  diagnose(new FakeCluster({ cluster: 'c', namespace: 'default', deployment }, scenario, now).findings());

describe('commonCause', () => {
  it('names the same dependency, node pool and release for different services, and nothing for a service-local cause', () => {
    for (const scenario of ['dependency-down', 'unschedulable', 'bad-rollout'] as const) {
      const a = commonCause(diagnosisOf(scenario, 'orders'));
      const b = commonCause(diagnosisOf(scenario, 'billing'));
      expect(a, scenario).toBeDefined();
      expect(a).toEqual(b);
    }
    expect(commonCause(diagnosisOf('dependency-down', 'orders'))).toEqual({ key: 'dependency:anthropic-api', label: 'dependency anthropic-api unreachable' });
    expect(commonCause(diagnosisOf('bad-rollout', 'orders'))?.key).toBe('release:v1.6.0');
    expect(commonCause(diagnosisOf('oom', 'orders'))).toBeUndefined();
  });

  it('reads a node pool or node selector from the evidence before the node names', () => {
    const base = { category: 'unschedulable' as const, cause: 'pods cannot be scheduled', evidence: ['node n1: cpu 1900m/2000m'] };
    expect(commonCause({ ...base, evidence: ['0/3 nodes are available: node-pool=gpu-a full', ...base.evidence] })?.key).toBe('node-pool:gpu-a');
    expect(commonCause({ ...base, evidence: ["3 node(s) didn't match Pod's node selector cloud.google.com/gke-nodepool=batch"] })?.key).toBe('node-pool:batch');
    expect(commonCause(base)?.key).toBe('node-pool:n1');
    expect(commonCause({ ...base, evidence: ['0/2 nodes are available: 2 Insufficient memory.'] })).toBeUndefined();
  });

  it('takes the structured cause when the diagnosis carries one', () => {
    const d = { category: 'unknown' as const, cause: 'x', evidence: [], commonCause: { kind: 'release' as const, name: 'team-a 2026.11.30' } };
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
