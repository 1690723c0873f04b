// End to end on a real Kubernetes control plane, as a user runs it: one incident
// per scenario through `npm start -- --cluster real`, with the same expected
// diagnosis and outcome as on the sandbox (scenario-cases.ts). The worker runs
// with the incident-worker ServiceAccount's token (deploy/kubernetes/rbac.yaml)
// under the real RBAC authorizer. One at a time (a control plane each: two at once
// beside the other real-cluster files overloaded 2 cores), on ports no other test file takes.
import { describe, it } from 'vitest';
import { cases, expectScenario } from './scenario-cases.js';

describe('npm start --cluster real, one incident per scenario', () => {
  it.each(cases.map((c, i) => ({ ...c, basePort: 19000 + i * 10 })))(
    '$scenario: diagnosed $diagnosis, ends $status',
    (c) => expectScenario(c, c.basePort, ['--cluster', 'real']),
    240_000,
  );
});
