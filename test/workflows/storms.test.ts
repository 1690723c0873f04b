// Storms on the time-skipping server: many services broken at once by one cause
// (stormFleet), each with its own incident. Given a storm, each incident's own
// diagnosis names the shared cause, the same for every service, in its
// commonCause: what grouping the incidents of a storm keys on.
import { describe, expect, it } from 'vitest';
import { stormCommonCause, stormFleet, type StormCause } from '../fixtures/fake-cluster.js';
import { incidentInput, openIncident, waitForStatus } from '../fixtures/incident-driver.js';
import { timeSkippingSuite } from '../fixtures/time-skipping-suite.js';

const suite = timeSkippingSuite();
const services = 6;

const storms: { cause: StormCause; category: string }[] = [
  { cause: 'shared-dependency-down', category: 'dependency-unreachable' },
  { cause: 'node-pool-full', category: 'unschedulable' },
  { cause: 'team-rollout', category: 'bad-rollout' },
];

describe('a storm of one cause over many services', () => {
  it.each(storms)('$cause: every incident diagnoses $category and names the same common cause', async ({ cause, category }) => {
    const now = await suite.env.currentTimeMs();
    const storm = stormFleet(services, cause, { fleet: suite.fleet, now });
    const handles = await Promise.all(storm.services.map((s) => openIncident(suite.env.client, incidentInput(s, new Date(now).toISOString()))));
    suite.started.push(...handles);
    const diagnoses = await Promise.all(
      handles.map(async (h) => (await waitForStatus(h, (s) => s.diagnosis !== undefined, `${h.workflowId} to be diagnosed`, 60_000)).diagnosis),
    );
    expect(diagnoses.map((d) => d?.category)).toEqual(Array(services).fill(category));
    expect(diagnoses.map((d) => d?.commonCause)).toEqual(Array(services).fill(stormCommonCause(cause)));
    // The cause is in each incident's own evidence, not only in the structured field.
    for (const d of diagnoses) expect([d?.cause, ...(d?.evidence ?? [])].join('\n')).toContain(stormCommonCause(cause).name);
  });
});
