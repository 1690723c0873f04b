// End to end on the sandbox, as a user runs it: one incident per scenario
// through `npm start` (see scenario-cases.ts for what each must end with).
import { describe, it } from 'vitest';
import { cases, expectScenario } from './scenario-cases.js';

describe('npm start, one incident per scenario', () => {
  it.each(cases.map((c, i) => ({ ...c, basePort: 17300 + i * 10 })))(
    '$scenario: diagnosed $diagnosis, ends $status',
    (c) => expectScenario(c, c.basePort),
    240_000,
  );
});
