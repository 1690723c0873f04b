// What a game day expects of each sandbox scenario (docs/architecture.md, on the sandbox):
// the runbook's diagnosis, and whether a safe automatic fix exists (recovered)
// or the incident must be handed to people (escalated, nothing written).
import type { ScenarioName } from '../../sandbox/index.js';
import type { DiagnosisCategory } from '../../workflows/diagnose.js';

export type ExpectedOutcome = 'recovered' | 'handed-over';

export interface ScenarioExpectation {
  scenario: Exclude<ScenarioName, 'healthy'>;
  diagnosis: DiagnosisCategory;
  outcome: ExpectedOutcome;
  /** The fix the runbook prescribes, as the kubectl command the action stands for. */
  action?: RegExp;
}

export const expectations: readonly ScenarioExpectation[] = [
  { scenario: 'bad-rollout', diagnosis: 'bad-rollout', outcome: 'recovered', action: /rollout undo deployment\/\S+ --to-revision=\d+/ },
  // The runbook's quick fix: limits.memory 4Gi (under the default 4Gi ceiling).
  { scenario: 'oom', diagnosis: 'oom-killed', outcome: 'recovered', action: /set resources deployment\/\S+ -c agent-manager --limits=memory=4Gi$/ },
  {
    scenario: 'cpu-starved',
    diagnosis: 'resource-starved',
    outcome: 'recovered',
    action: /set resources deployment\/\S+ -c agent-manager --limits=cpu=2000m,memory=4Gi --requests=cpu=500m,memory=1Gi$/,
  },
  { scenario: 'missing-secret', diagnosis: 'missing-key', outcome: 'handed-over' },
  { scenario: 'config-error', diagnosis: 'config-drift', outcome: 'recovered', action: /configmap/ },
  { scenario: 'scaled-to-zero', diagnosis: 'scaled-to-zero', outcome: 'recovered', action: /scale deployment\/\S+ --replicas=2/ },
  { scenario: 'unschedulable', diagnosis: 'unschedulable', outcome: 'handed-over' },
  { scenario: 'selector-mismatch', diagnosis: 'selector-mismatch', outcome: 'recovered', action: /service/ },
  { scenario: 'dependency-down', diagnosis: 'dependency-unreachable', outcome: 'handed-over' },
  { scenario: 'release-5xx', diagnosis: 'bad-rollout', outcome: 'recovered', action: /rollout undo deployment\/\S+ --to-revision=\d+/ },
];

export const gamedayScenarioNames = expectations.map((e) => e.scenario);

export function expectationOf(scenario: string): ScenarioExpectation | undefined {
  return expectations.find((e) => e.scenario === scenario);
}
