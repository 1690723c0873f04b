// The order test files start in. Vitest sorts by the durations of a previous run when
// it has them; a clean clone (CI) has none and goes by file size, which ran the short
// scenarios file (an it.each of whole stacks) alone at the end. So: the long files
// first, and the real-cluster scenarios (a control plane per case, 11 minutes) beside
// files that start no control plane, since two real-cluster files at once overload
// 2 cores (CI showed load flakes). Durations: a CI run on this machine kind.
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const first = [
  'test/e2e/scenarios-real.test.ts', // 690 s, real clusters
  'test/e2e/scenarios.test.ts', // 320 s, sandbox
  'test/e2e/gameday.test.ts', // 145 s, sandbox
  'test/toolchain/time-skipping.test.ts', // 125 s
  'test/workflows/lifecycle.test.ts', // 120 s
  'test/replay/replay.test.ts', // 115 s
  'test/activities/investigate.test.ts', // 220-370 s, real clusters
  'test/activities/mutations.test.ts', // 185-205 s, real clusters
  'test/activities/verify.test.ts', // 150-215 s, real clusters
  'test/control-plane/control-plane.test.ts', // 150-175 s, real clusters
  'test/activities/faults.test.ts', // 85-215 s, real clusters
  'test/worker/postgres-temporal.test.ts', // 100 s
  'test/e2e/npm-start-supervisor.test.ts', // 75 s
  'test/workflows/governor.test.ts', // 70 s
  'test/e2e/prometheus-alerts.test.ts', // 65 s
];

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const root = `${this.ctx.config.root}/`;
    const rank = (f: TestSpecification) => {
      const i = first.indexOf(f.moduleId.startsWith(root) ? f.moduleId.slice(root.length) : f.moduleId);
      return i === -1 ? first.length : i;
    };
    // Stable: the files not listed keep Vitest's order, after the listed ones.
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}
