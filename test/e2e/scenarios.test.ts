// End to end on the sandbox, as a user runs it: one incident per scenario
// through `npm start` (see scenario-cases.ts for what each must end with). Two run
// at a time (vitest.config.ts's maxConcurrency), each on ports of its own.
import { describe, it } from 'vitest';
import { cases, expectScenario } from './scenario-cases.js';

describe('npm start, one incident per scenario', () => {
  it.concurrent.each(cases.map((c, i) => ({ ...c, basePort: 17300 + i * 10 })))(
    '$scenario: diagnosed $diagnosis, ends $status',
    (c) => expectScenario(c, c.basePort),
    240_000,
  );
});
