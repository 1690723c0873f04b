// The order test files start in: the longest first, so that the two forks end
// together instead of one running a long end-to-end file alone at the end. Vitest
// sorts by the durations of a previous run when it has them; a clean clone (CI) has
// none and would go by file size, which puts the shortest file (the scenarios'
// it.each) last. The seconds are those of a CI run on this machine kind (2 cores).
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const seconds: Record<string, number> = {
  'test/e2e/scenarios-real.test.ts': 690,
  'test/activities/investigate.test.ts': 370,
  'test/e2e/scenarios.test.ts': 320,
  'test/activities/faults.test.ts': 215,
  'test/activities/verify.test.ts': 215,
  'test/activities/mutations.test.ts': 205,
  'test/control-plane/control-plane.test.ts': 175,
  'test/e2e/gameday.test.ts': 145,
  'test/toolchain/time-skipping.test.ts': 125,
  'test/workflows/lifecycle.test.ts': 120,
  'test/replay/replay.test.ts': 115,
  'test/worker/postgres-temporal.test.ts': 100,
  'test/e2e/npm-start-supervisor.test.ts': 75,
  'test/workflows/governor.test.ts': 70,
  'test/e2e/prometheus-alerts.test.ts': 65,
};

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const root = `${this.ctx.config.root}/`;
    const hint = (f: TestSpecification) => seconds[f.moduleId.startsWith(root) ? f.moduleId.slice(root.length) : f.moduleId] ?? 0;
    // Stable: files without a hint keep Vitest's order, after the long ones.
    return [...sorted].sort((a, b) => hint(b) - hint(a));
  }
}
